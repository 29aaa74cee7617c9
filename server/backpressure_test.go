package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/server/internal/syslogd"
	"github.com/hisoka-project/hisoka/spec"
	"github.com/hisoka-project/hisoka/store"
)

// TestBackpressure: while a stream's pipeline lags more than
// limits.max_pipeline_lag lines, HTTP ingest of that stream is refused with
// 429 and Retry-After, and the syslog sink blocks (it does not drop or
// buffer), until the pipeline catches up.
func TestBackpressure(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Limits.MaxPipelineLag = 10
	s, err := Open(t.Context(), cfg, slog.New(slog.DiscardHandler), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := s.svc.pipes[spec.TenantPlatform]
	p.active.Store(true) // as if a catalogue ran
	p.appended.Store(p.cursor.Load() + 11)

	tok, err := MintToken(cfg, TokenOptions{Role: "ingest", TTL: time.Hour}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	post := func() *http.Response {
		req, _ := http.NewRequest("POST", ts.URL+"/v1/ingest", bytes.NewReader([]byte("a line\n")))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "text/plain")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := post(); r.StatusCode != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("lagging: %d, Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
	}

	// Syslog from a platform host blocks instead.
	if err := s.svc.st.PutResource(t.Context(), resourceFor("h1", spec.TenantPlatform, "192.0.2.1")); err != nil {
		t.Fatal(err)
	}
	if err := s.svc.refreshAddrs(t.Context()); err != nil {
		t.Fatal(err)
	}
	frame := []syslogd.Frame{{Data: []byte("a line"), Peer: netip.MustParseAddrPort("192.0.2.1:514"), Received: time.Now(), Transport: syslogd.TCP}}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if err := (syslogSink{s.svc}).Deliver(ctx, frame); err == nil {
		t.Fatal("syslog sink did not block while lagging")
	}
	// Caught up: both go through.
	p.cursor.Store(p.appended.Load())
	if r := post(); r.StatusCode != 200 {
		t.Fatalf("caught up: %d", r.StatusCode)
	}
	if err := (syslogSink{s.svc}).Deliver(t.Context(), frame); err != nil {
		t.Fatal(err)
	}
	u, err := s.svc.st.Usage(t.Context(), spec.TenantPlatform)
	if err != nil || u.Records != 2 {
		t.Fatalf("stored %+v, %v", u, err)
	}
}

func resourceFor(id, tenant, addr string) store.Resource {
	return store.Resource{ID: id, Kind: store.KindHost, Tenant: tenant, Addresses: []string{addr}}
}
