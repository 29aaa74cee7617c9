package config

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	c, err := Load(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Addr != "127.0.0.1:8080" || c.Syslog.TCPAddr != "127.0.0.1:5514" || c.DataDir != "./hisoka-data" || c.Redis != "" {
		t.Fatalf("%+v", c)
	}
}

func TestLayers(t *testing.T) {
	file := "testdata/hisoka.yaml"
	consoleFile := filepath.Join(t.TempDir(), "console.yaml")
	if err := os.WriteFile(consoleFile, []byte("console:\n  origin: https://ops.example.net\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(c Config) bool
	}{
		{"file over defaults", []string{"--config", file}, nil, func(c Config) bool {
			return c.DataDir == "/var/lib/hisoka" && c.HTTP.Addr == "0.0.0.0:8080" && c.HTTP.ShutdownTimeout == 45*time.Second &&
				c.Syslog.UDPAddr == "" && c.Limits.MaxBodyBytes == 16<<20 && c.Limits.MaxLineBytes == 32768 &&
				c.Limits.TenantLinesPerSecond == 1000 && c.Limits.TenantBurst == Default().Limits.TenantBurst
		}},
		{"file named by environment", nil, map[string]string{"HISOKA_CONFIG": file}, func(c Config) bool { return c.DataDir == "/var/lib/hisoka" }},
		{"environment over file", []string{"--config", file}, map[string]string{"HISOKA_DATA": "/srv/env", "HISOKA_MAX_LINE": "1KiB"}, func(c Config) bool {
			return c.DataDir == "/srv/env" && c.Limits.MaxLineBytes == 1024 && c.HTTP.Addr == "0.0.0.0:8080"
		}},
		{"flags over environment", []string{"--config", file, "--data", "/srv/flag", "--http", "127.0.0.1:9000", "--redis", "redis://:pw@r:6379/0"},
			map[string]string{"HISOKA_DATA": "/srv/env", "HISOKA_HTTP_ADDR": "127.0.0.1:7000"}, func(c Config) bool {
				return c.DataDir == "/srv/flag" && c.HTTP.Addr == "127.0.0.1:9000" && c.Redis == "redis://:pw@r:6379/0"
			}},
		{"last flag wins", []string{"--data", "/a", "--data", "/b"}, nil, func(c Config) bool { return c.DataDir == "/b" }},
		{"console origin from the environment", nil, map[string]string{"HISOKA_CONSOLE_ORIGIN": "https://ops.example.net"}, func(c Config) bool {
			return c.Console.Origin == "https://ops.example.net"
		}},
		{"console origin from a flag", []string{"--console-origin", "https://ops.example.net:8443"}, nil, func(c Config) bool {
			return c.Console.Origin == "https://ops.example.net:8443"
		}},
		{"console origin from the file", []string{"--config", consoleFile}, nil, func(c Config) bool {
			return c.Console.Origin == "https://ops.example.net"
		}},
		{"no console origin by default", nil, nil, func(c Config) bool { return c.Console.Origin == "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.args, env(tt.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Fatalf("%+v", c)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o600)
		return p
	}
	unknown := write("unknown.yaml", "http:\n  adress: x\n")
	badType := write("type.yaml", "limits:\n  max_records_per_request: lots-of-secret\n")
	badSize := write("size.yaml", "limits:\n  max_body_bytes: 5 parsecs\n")
	tests := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"unknown key", []string{"--config", unknown}, nil},
		{"wrong type", []string{"--config", badType}, nil},
		{"bad size", []string{"--config", badSize}, nil},
		{"missing file", []string{"--config", filepath.Join(dir, "none.yaml")}, nil},
		{"bad env duration", nil, map[string]string{"HISOKA_SHUTDOWN_TIMEOUT": "soon"}},
		{"bad flag number", []string{"--max-records", "many"}, nil},
		{"bad address", []string{"--http", "localhost"}, nil},
		{"bad port", []string{"--syslog-tcp", "127.0.0.1:99999"}, nil},
		{"TLS without cert", []string{"--syslog-tls", "127.0.0.1:6514"}, nil},
		{"redis not a URL", []string{"--redis", "secret-host:6379"}, nil},
		{"bad log level", []string{"--log-level", "loud"}, nil},
		{"zero line limit", []string{"--max-line", "0"}, nil},
		{"decoded below body", []string{"--max-body", "2MiB", "--max-decoded", "1MiB"}, nil},
		{"stray argument", []string{"extra"}, nil},
		{"console origin with a path", []string{"--console-origin", "https://ops.example.net/secret"}, nil},
		{"console origin without a scheme", nil, map[string]string{"HISOKA_CONSOLE_ORIGIN": "ops.example.net"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.args, env(tt.env), io.Discard)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v", err)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("value leaked into error: %v", err)
			}
		})
	}
	if _, err := Load([]string{"-h"}, env(nil), io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
}

func TestByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want ByteSize
		ok   bool
	}{
		{"0", 0, true}, {"512", 512, true}, {"64KiB", 64 << 10, true}, {"1 MiB", 1 << 20, true},
		{"2G", 2 << 30, true}, {"10B", 10, true},
		{"", 0, false}, {"-1", 0, false}, {"1.5MiB", 0, false}, {"1TiB", 0, false}, {"9999999999GiB", 0, false},
	}
	for _, tt := range tests {
		var b ByteSize
		err := b.Set(tt.in)
		if (err == nil) != tt.ok || tt.ok && b != tt.want {
			t.Errorf("%q: %v %v", tt.in, b, err)
		}
	}
}

func TestLogValueRedactsRedis(t *testing.T) {
	c := Default()
	c.Redis = "redis://user:hunter2@redis:6379/0"
	if s := c.LogValue().String(); strings.Contains(s, "hunter2") || !strings.Contains(s, "redis:6379") {
		t.Fatal(s)
	}
}

func TestFieldsUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range Fields() {
		for _, k := range []string{"key:" + f.Key, "env:" + f.Env, "flag:" + f.Flag} {
			if seen[k] {
				t.Errorf("duplicate %s", k)
			}
			seen[k] = true
		}
		if !strings.HasPrefix(f.Env, "HISOKA_") {
			t.Errorf("%s: env %s", f.Key, f.Env)
		}
	}
}
