package server

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/spec"
)

// rawPost writes a POST whose headers announce a body of announced bytes
// and sends only sent of them, then half-closes the connection when
// hangUp; it returns the response the server writes.
func rawPost(t *testing.T, addr, path, token string, announced, sent int, hangUp bool) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close() // before the test server's Close waits for this connection
	// A guard against a hanging server, not a timing assertion.
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: hisoka\r\nAuthorization: Bearer %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s",
		path, token, announced, strings.Repeat("x", sent))
	if hangUp {
		conn.(*net.TCPConn).CloseWrite()
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestIngestRefusedBeforeTheBody: while the platform pipeline lags, a push
// is refused with 429 before its body is read (the client has sent only a
// part of it and waits), on /v1/ingest and the Loki route alike; and a
// client that hangs up part-way through its body gets 400, logged below
// error level, with nothing stored.
func TestIngestRefusedBeforeTheBody(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Limits.MaxPipelineLag = 10
	logs := &syncBuffer{}
	s, err := Open(t.Context(), cfg, slog.New(slog.NewJSONHandler(logs, nil)), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tok, err := MintToken(cfg, TokenOptions{Role: "ingest", TTL: time.Hour}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	addr := ts.Listener.Addr().String()

	p := s.svc.pipes[spec.TenantPlatform]
	p.active.Store(true) // as if a catalogue ran
	p.appended.Store(p.cursor.Load() + 11)
	for _, path := range []string{"/v1/ingest", "/loki/api/v1/push"} {
		if r := rawPost(t, addr, path, tok, 1<<20, 100, false); r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
			t.Errorf("%s while lagging, body not yet sent: %d, Retry-After %q", path, r.StatusCode, r.Header.Get("Retry-After"))
		}
	}

	p.cursor.Store(p.appended.Load()) // caught up
	if r := rawPost(t, addr, "/v1/ingest", tok, 1000, 10, true); r.StatusCode != http.StatusBadRequest {
		t.Errorf("client hung up part-way: %d, want 400", r.StatusCode)
	}
	if strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("a client's hang-up logged as an error:\n%s", logs.String())
	}
	if u, err := s.svc.st.Usage(t.Context(), spec.TenantPlatform); err != nil || u.Records != 0 {
		t.Fatalf("stored %+v, %v", u, err)
	}
}
