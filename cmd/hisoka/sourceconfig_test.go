package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/hisoka-project/hisoka/server"
)

func TestSourceConfigGolden(t *testing.T) {
	base := sourceOpts{Tenant: "tenant-a", Resource: "vm-1", Host: "logs.example.net", Port: 6514, Token: "eyJhbGciOiJFZERTQSJ9.e30.c2ln"}
	for _, c := range []struct {
		os, file  string
		cloudInit bool
	}{
		{"debian", "source-config.debian.golden", false},
		{"rhel", "source-config.rhel.golden", false},
		{"ubuntu", "source-config.ubuntu-cloud-init.golden", true},
	} {
		o := base
		o.OS, o.CloudInit = c.os, c.cloudInit
		out, err := sourceConfig(o)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, c.file, out)
	}
	for _, bad := range []sourceOpts{
		{Tenant: "a", Resource: "vm", Host: "h", Port: 1, Token: "t", OS: "windows"},
		{Tenant: `a"b`, Resource: "vm", Host: "h", Port: 1, Token: "t", OS: "debian"},
		{Tenant: "a", Resource: "vm]", Host: "h", Port: 1, Token: "t", OS: "debian"},
		{Tenant: "a", Resource: "vm", Host: "h\nx", Port: 1, Token: "t", OS: "debian"},
	} {
		if _, err := sourceConfig(bad); !errors.Is(err, errUsage) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

// TestSourceConfigCommand: the command mints a working tenant-ingest token
// into the snippet, and the server's syslog parser reads the frame the
// template produces back to that token.
func TestSourceConfigCommand(t *testing.T) {
	data := t.TempDir()
	out, _, err := runForTest(t, "", "admin", "source-config", "--data", data, "--tenant", "tenant-a", "--resource", "vm-1", "--syslog-host", "logs.example.net")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(out, `token=\"`)
	if i < 0 {
		t.Fatalf("no token in %s", out)
	}
	tok := out[i+len(`token=\"`):]
	tok = tok[:strings.Index(tok, `\"`)]
	frame := `<38>1 2026-11-22T04:00:00Z vm-1 sshd 42 - [hisoka@32473 token="` + tok + `" resource="vm-1"] Accepted publickey for alice`
	got, rest, ok := server.ExtractToken([]byte(frame))
	if !ok || got != tok || string(rest) != "<38>1 2026-11-22T04:00:00Z vm-1 sshd 42 - - Accepted publickey for alice" {
		t.Fatalf("frame read back: %q %q %v", got, rest, ok)
	}
	if _, _, err := runForTest(t, "", "admin", "source-config", "--data", data, "--tenant", "platform", "--resource", "vm-1", "--syslog-host", "h"); !errors.Is(err, errUsage) {
		t.Fatalf("reserved tenant: %v", err)
	}
}
