package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hisoka-project/hisoka/server/internal/auth"
	"github.com/hisoka-project/hisoka/server/internal/config"
	"github.com/hisoka-project/hisoka/server/internal/ingest"
)

// BenchmarkHTTPIngestTransport measures the transport half of
// POST /v1/ingest over a real connection: middleware chain, token check,
// body limit, NDJSON decoding and the line rate limit, with the records
// then discarded (no store yet). It bounds what the full pipeline can do.
func BenchmarkHTTPIngestTransport(b *testing.B) {
	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	cfg.Limits.MaxBodyBytes = 16 << 20
	cfg.Limits.MaxDecodedBytes = 64 << 20
	cfg.Limits.TenantLinesPerSecond = 1e12
	cfg.Limits.TenantBurst = 1 << 30
	cfg.Limits.TenantRequestsPerSecond = 1e9
	cfg.Limits.TenantRequestBurst = 1 << 30
	key, err := auth.LoadOrCreateIssuerKey(cfg.DataDir, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	iss := auth.NewIssuer(key, cfg.Auth.Issuer, cfg.Auth.Audience, rand.Reader, nil)
	v, _ := auth.NewVerifier(auth.VerifierConfig{IssuerName: cfg.Auth.Issuer, IssuerKey: iss.PublicKey(),
		Audience: cfg.Auth.Audience, Keys: keys{}, Replay: auth.NewReplayCache(10, 0, nil)})
	s, err := New(cfg, Deps{Logger: slog.New(slog.DiscardHandler), Verifier: v})
	if err != nil {
		b.Fatal(err)
	}
	lim := ingest.Limits{MaxLineBytes: int(cfg.Limits.MaxLineBytes), MaxRecords: cfg.Limits.MaxRecordsPerRequest}
	s.Group("/bench", auth.RoleIngest).POST("/ingest", func(c echo.Context) error {
		body, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return err
		}
		recs, err := ingest.DecodeNDJSON(body, ingest.FormatAuto, lim)
		if err != nil {
			return err
		}
		p, _ := auth.FromContext(c.Request().Context())
		if err := s.TakeLines(p.Tenant, len(recs)); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go s.Serve(ln)
	defer s.Shutdown(context.Background())
	tok, _ := iss.Mint(auth.MintOptions{Role: auth.RoleIngest, TTL: time.Hour})
	const lines = 5000
	var body bytes.Buffer
	for i := range lines {
		fmt.Fprintf(&body, `{"line":"<38>1 2026-11-22T04:00:00.000Z vm-%d sshd 811 - - Failed password for root from 203.0.113.9 port 52100 ssh2","time":"2026-11-22T04:00:00Z"}`+"\n", i%50)
	}
	url := "http://" + ln.Addr().String() + "/bench/ingest"
	b.SetBytes(int64(body.Len()))
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body.Bytes()))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/x-ndjson")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.ReportMetric(float64(b.N*lines)/b.Elapsed().Seconds(), "lines/s")
}
