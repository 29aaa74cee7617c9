package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServeAndAdmin runs "hisoka serve" through the real entry point, then
// the operator commands against it, then stops it like a signal would.
func TestServeAndAdmin(t *testing.T) {
	data := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &lockedBuffer{}
	e := &env{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: logs, getenv: func(k string) string {
		if k == "HISOKA_DATA" {
			return data
		}
		return ""
	}}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--http", "127.0.0.1:0", "--syslog-tcp", "127.0.0.1:0", "--syslog-udp", "127.0.0.1:0"}, e)
	}()
	var url string
	deadline := time.Now().Add(10 * time.Second)
	for url == "" && time.Now().Before(deadline) {
		for _, line := range strings.Split(logs.String(), "\n") {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "HTTP API listening" {
				url = "http://" + rec.Addr
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if url == "" {
		cancel()
		t.Fatalf("server did not start: %s", logs.String())
	}
	admin := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		err := run(context.Background(), append(append([]string{"admin"}, args[:1]...), append([]string{"-server", url, "-data", data}, args[1:]...)...),
			&env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }})
		return out.String(), err
	}
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"catalogue-upload", "-file", "../../testdata/catalog/default.yaml"}, `{"versions":[1]}`},
		{[]string{"catalogue-publish", "-version", "1"}, ``},
		{[]string{"catalogues"}, `"published":1`},
		{[]string{"tenant-add", "-id", "tenant-a", "-key", base64.StdEncoding.EncodeToString(pub), "-project", "p1"}, `"board_public_key"`},
		{[]string{"tenants"}, `"id":"tenant-a"`},
		{[]string{"resource-add", "-id", "vm-1", "-tenant", "tenant-a", "-addr", "192.0.2.10"}, `"id":"vm-1"`},
		{[]string{"resources"}, `"addresses":["192.0.2.10"]`},
		{[]string{"rotate"}, `"periods":[`},
		{[]string{"report", "-tenant", "tenant-a"}, `"tenant":"tenant-a"`},
		{[]string{"sources"}, `[]`},
	} {
		out, err := admin(c.args...)
		if err != nil || !strings.Contains(out, c.want) {
			t.Errorf("admin %v: %q, %v; want %q", c.args, out, err, c.want)
		}
	}
	// The server's fixed message comes back as the error.
	if _, err := admin("tenant-add", "-id", "platform", "-key", base64.StdEncoding.EncodeToString(pub)); err == nil || !strings.Contains(err.Error(), "reserved tenant id") {
		t.Errorf("reserved id: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestAdminToken(t *testing.T) {
	data := t.TempDir()
	for _, c := range []struct {
		args  []string
		usage bool
	}{
		{[]string{"--role", "operator"}, false},
		{[]string{"--role", "ingest"}, false},
		{[]string{"--role", "ingest", "--tenant", "tenant-a", "--ttl", "1h"}, false},
		{[]string{"--role", "tenant"}, true},                    // tenants sign their own
		{[]string{"--role", "operator", "--tenant", "x"}, true}, // operators have no tenant
		{[]string{"--role", "ingest", "--ttl", "-1h"}, true},
		{[]string{}, true},
	} {
		out, _, err := runForTest(t, "", append([]string{"admin", "token", "--data", data}, c.args...)...)
		if c.usage {
			if !errors.Is(err, errUsage) {
				t.Errorf("%v: err %v, want usage", c.args, err)
			}
			continue
		}
		if err != nil || strings.Count(strings.TrimSpace(out), ".") != 2 {
			t.Errorf("%v: %q, %v", c.args, out, err)
		}
	}
}

func TestServeBadConfigIsUsageError(t *testing.T) {
	_, _, err := runForTest(t, "", "serve", "--http", "not-an-address", "--data", t.TempDir())
	if !errors.Is(err, errUsage) {
		t.Fatalf("err = %v", err)
	}
}
