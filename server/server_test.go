package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hisoka-project/hisoka/server/internal/auth"
	"github.com/hisoka-project/hisoka/server/internal/config"
	"github.com/hisoka-project/hisoka/server/internal/httperr"
	"github.com/hisoka-project/hisoka/server/internal/syslogd"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type readiness struct{ err error }

func (r *readiness) Ready(context.Context) error { return r.err }

type keys map[string]ed25519.PublicKey

func (k keys) TenantKey(_ context.Context, t string) (ed25519.PublicKey, error) {
	if key, ok := k[t]; ok {
		return key, nil
	}
	return nil, auth.ErrUnknownKey
}

type harness struct {
	srv    *Server
	url    string
	logs   *syncBuffer
	issuer *auth.Issuer
	tenant ed25519.PrivateKey
	ready  *readiness
}

func testConfig(t *testing.T) config.Config {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Syslog.TCPAddr = "127.0.0.1:0"
	cfg.Syslog.UDPAddr = "127.0.0.1:0"
	cfg.Limits.MaxBodyBytes = 1024
	cfg.Limits.MaxDecodedBytes = 4096
	cfg.Limits.TenantRequestsPerSecond = 1
	cfg.Limits.TenantRequestBurst = 3
	return cfg
}

func newHarness(t *testing.T, cfg config.Config, extra func(*Server)) *harness {
	t.Helper()
	key, err := auth.LoadOrCreateIssuerKey(cfg.DataDir, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{logs: &syncBuffer{}, ready: &readiness{}}
	h.issuer = auth.NewIssuer(key, cfg.Auth.Issuer, cfg.Auth.Audience, rand.Reader, nil)
	_, h.tenant, _ = ed25519.GenerateKey(rand.Reader)
	v, err := auth.NewVerifier(auth.VerifierConfig{
		IssuerName: cfg.Auth.Issuer, IssuerKey: h.issuer.PublicKey(), Audience: cfg.Auth.Audience,
		Keys:   keys{"tenant-a": h.tenant.Public().(ed25519.PublicKey)},
		Replay: auth.NewReplayCache(cfg.Auth.ReplayCacheSize, cfg.Auth.ReplayPerTenant, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.LogLevel = "debug"
	s, err := New(cfg, Deps{Logger: NewLogger(cfg, h.logs), Verifier: v, Ready: []ReadyChecker{h.ready}})
	if err != nil {
		t.Fatal(err)
	}
	if extra != nil {
		extra(s)
	}
	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	h.srv, h.url = s, "http://"+ln.Addr().String()
	return h
}

func (h *harness) do(t *testing.T, method, path, token string, body io.Reader) (*http.Response, httperr.Body) {
	t.Helper()
	req, _ := http.NewRequest(method, h.url+path, body)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var eb httperr.Body
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(raw, &eb); err != nil {
			t.Fatalf("error body %q: %v", raw, err)
		}
		if eb.RequestID == "" || eb.RequestID != resp.Header.Get("X-Request-Id") {
			t.Fatalf("request id: body %q header %q", eb.RequestID, resp.Header.Get("X-Request-Id"))
		}
	}
	return resp, eb
}

func TestPublicRoutes(t *testing.T) {
	h := newHarness(t, testConfig(t), nil)
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, _ := h.do(t, http.MethodGet, p, "", nil)
		if resp.StatusCode != 200 || resp.Header.Get("X-Request-Id") == "" {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
	}
	resp, eb := h.do(t, http.MethodGet, "/no/such/route", "", nil)
	if resp.StatusCode != 404 || eb.Error != "not found" {
		t.Fatalf("404: %d %+v", resp.StatusCode, eb)
	}
	h.ready.err = errors.New("store: pebble closed at /secret/path")
	resp, eb = h.do(t, http.MethodGet, "/readyz", "", nil)
	if resp.StatusCode != 503 || eb.Error != "not ready" {
		t.Fatalf("readyz failing: %d %+v", resp.StatusCode, eb)
	}
	if !strings.Contains(h.logs.String(), "/secret/path") {
		t.Fatal("readiness detail not logged")
	}
	resp, _ = h.do(t, http.MethodGet, "/metrics", "", nil)
	_ = resp
	req, _ := http.Get(h.url + "/metrics")
	b, _ := io.ReadAll(req.Body)
	req.Body.Close()
	if !strings.Contains(string(b), `hisoka_http_requests_total{code="503",method="GET",route="/readyz"} 1`) {
		t.Fatalf("metrics lack the readyz failure:\n%s", b)
	}
	// Every request's log lines carry its id.
	for _, line := range strings.Split(strings.TrimSpace(h.logs.String()), "\n") {
		if strings.Contains(line, `"msg":"request"`) && !strings.Contains(line, `"request_id":"`) {
			t.Fatalf("access log line without request id: %s", line)
		}
	}
}

func TestAuthAndLimits(t *testing.T) {
	cfg := testConfig(t)
	// A tenant token is charged to its tenant once verified, before its id
	// is claimed (so also when replayed or outside its role): tenant-a
	// makes 5 requests below.
	cfg.Limits.TenantRequestBurst = 6
	h := newHarness(t, cfg, func(s *Server) {
		ok := func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }
		s.Group("/test/op", auth.RoleOperator).GET("", ok)
		s.Group("/test/tenant", auth.RoleTenant).GET("/:tenant", func(c echo.Context) error {
			p, _ := auth.FromContext(c.Request().Context())
			if err := p.CheckTenant(c.Param("tenant")); err != nil {
				return err
			}
			return c.NoContent(http.StatusNoContent)
		})
		s.Group("/test/ingest", auth.RoleIngest).POST("", func(c echo.Context) error {
			if _, err := io.ReadAll(c.Request().Body); err != nil {
				return err
			}
			return c.NoContent(http.StatusNoContent)
		})
	})
	op, _ := h.issuer.Mint(auth.MintOptions{Role: auth.RoleOperator, TTL: time.Hour})
	ingest, _ := h.issuer.Mint(auth.MintOptions{Role: auth.RoleIngest, TTL: time.Hour})
	tenant := func() string {
		tok, err := auth.SignTenantToken(h.tenant, "tenant-a", "hisoka", time.Now(), time.Minute, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	used := tenant()
	h.do(t, http.MethodGet, "/test/tenant/tenant-a", used, nil)
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	forged, _ := auth.SignTenantToken(stranger, "tenant-a", "hisoka", time.Now(), time.Minute, rand.Reader)
	unknown, _ := auth.SignTenantToken(h.tenant, "tenant-z", "hisoka", time.Now(), time.Minute, rand.Reader)
	tests := []struct {
		name, method, path, token string
		body                      string
		status                    int
		msg                       string
	}{
		{"no token", "GET", "/test/op", "", "", 401, "missing bearer token"},
		{"garbage token", "GET", "/test/op", "x.y.z", "", 401, "invalid token"},
		{"forged signature", "GET", "/test/tenant/tenant-a", forged, "", 401, "invalid token"},
		{"unknown tenant looks the same", "GET", "/test/tenant/tenant-z", unknown, "", 401, "invalid token"},
		{"replayed", "GET", "/test/tenant/tenant-a", used, "", 401, "token already used"},
		{"operator", "GET", "/test/op", op, "", 204, ""},
		{"tenant on operator route", "GET", "/test/op", tenant(), "", 403, "forbidden"},
		{"tenant on its own data", "GET", "/test/tenant/tenant-a", tenant(), "", 204, ""},
		{"tenant on another tenant", "GET", "/test/tenant/tenant-b", tenant(), "", 403, "forbidden"},
		{"ingest body within limit", "POST", "/test/ingest", ingest, strings.Repeat("x", 1024), 204, ""},
		{"ingest body over limit", "POST", "/test/ingest", ingest, strings.Repeat("x", 1025), 413, "request body too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			resp, eb := h.do(t, tt.method, tt.path, tt.token, body)
			if resp.StatusCode != tt.status || eb.Error != tt.msg {
				t.Fatalf("got %d %q", resp.StatusCode, eb.Error)
			}
			if tt.status == 401 && resp.Header.Get("WWW-Authenticate") != "Bearer" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
	// The operator's bucket (burst 6, 1/s) is spent by now.
	var resp *http.Response
	var eb httperr.Body
	for range 10 {
		if resp, eb = h.do(t, "GET", "/test/op", op, nil); resp.StatusCode == 429 {
			break
		}
	}
	if resp.StatusCode != 429 || eb.Error != "rate limited" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("rate limit: %d %q", resp.StatusCode, eb.Error)
	}
	// A client's error body never carries internal detail or token material.
	if strings.Contains(eb.Error, op[:20]) {
		t.Fatal("token echoed")
	}
}

func TestTakeLines(t *testing.T) {
	cfg := testConfig(t)
	cfg.Limits.TenantLinesPerSecond = 10
	cfg.Limits.TenantBurst = 100
	h := newHarness(t, cfg, nil)
	if err := h.srv.TakeLines("tenant-a", 100); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.TakeLines("tenant-a", 1); err == nil {
		t.Fatal("over the rate")
	}
	if err := h.srv.TakeLines("tenant-b", 50); err != nil {
		t.Fatal("tenants share a bucket")
	}
}

type frames struct {
	mu sync.Mutex
	f  []syslogd.Frame
}

func (f *frames) Deliver(_ context.Context, fs []syslogd.Frame) error {
	f.mu.Lock()
	f.f = append(f.f, fs...)
	f.mu.Unlock()
	return nil
}

func (f *frames) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.f)
}

func TestSyslogAndShutdown(t *testing.T) {
	h := newHarness(t, testConfig(t), nil)
	sink := &frames{}
	addrs, err := h.srv.ListenSyslog(sink)
	if err != nil {
		t.Fatal(err)
	}
	if len(addrs) != 2 {
		t.Fatalf("addrs %v", addrs)
	}
	if _, err := h.srv.ListenSyslog(sink); err == nil {
		t.Fatal("second ListenSyslog accepted")
	}
	// Each listening line names its transport (TCP and UDP may share an
	// address).
	listening := map[string]string{}
	for _, l := range strings.Split(h.logs.String(), "\n") {
		var rec struct{ Msg, Transport, Addr string }
		if json.Unmarshal([]byte(l), &rec) == nil && rec.Msg == "syslog listening" {
			listening[rec.Transport] = rec.Addr
		}
	}
	if listening["tcp"] != addrs[0].String() || listening["udp"] != addrs[1].String() || len(listening) != 2 {
		t.Fatalf("listening log lines: %v", listening)
	}
	tcp, err := net.Dial("tcp", addrs[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	udp, err := net.Dial("udp", addrs[1].String())
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	for i := range 100 {
		fmt.Fprintf(tcp, "<13>tcp line %d\n", i)
	}
	io.WriteString(udp, "<13>udp line")
	deadline := time.Now().Add(5 * time.Second)
	for sink.len() < 101 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if sink.len() != 101 {
		t.Fatalf("%d frames", sink.len())
	}
	resp, err := http.Get(h.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(m), `hisoka_syslog_connections{transport="syslog_tcp"} 1`) {
		t.Fatalf("connection gauge missing:\n%s", m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 503 {
		t.Fatalf("readyz while draining: %d", rec.Code)
	}
	if _, err := net.DialTimeout("tcp", addrs[0].String(), time.Second); err == nil {
		t.Fatal("syslog still accepting after shutdown")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	cfg := config.Default()
	cfg.HTTP.Addr = "nowhere"
	if _, err := New(cfg, Deps{Logger: slog.New(slog.DiscardHandler)}); !errors.Is(err, config.ErrInvalid) {
		t.Fatal(err)
	}
	if _, err := New(config.Default(), Deps{}); err == nil {
		t.Fatal("missing logger accepted")
	}
}
