package benchmark

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hisoka-project/hisoka/crypto"
	"github.com/hisoka-project/hisoka/internal/loggen"
	"github.com/hisoka-project/hisoka/server"
	"github.com/hisoka-project/hisoka/spec"
)

// service is a real server on the embedded store, listening on loopback
// (HTTP and syslog TCP), with the per-tenant rate limits out of the way, the
// catalogue published and a platform host resource for 127.0.0.1 (so that
// syslog from loopback is platform log).
type service struct {
	srv      *server.Server
	cfg      server.Config
	url      string // http://host:port
	syslog   string // host:port
	client   *http.Client
	operator string
}

// connections is how many clients the ingest measurements run at once.
const connections = 4

// sendBuffer is the syslog clients' socket send buffer.
const sendBuffer = 256 << 10

// linesPerRequest is the size of an HTTP ingest request, linesPerWrite
// that of a syslog write (a write blocks until the server has read it, so
// it bounds how far a phase runs past its time).
const (
	linesPerRequest = 5000
	linesPerWrite   = 500
)

func startService(ctx context.Context, dir string, catalogue []byte) (*service, error) {
	cfg := server.DefaultConfig()
	cfg.DataDir = dir
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Syslog.TCPAddr = "127.0.0.1:0"
	cfg.Syslog.UDPAddr = ""
	cfg.Limits.TenantLinesPerSecond = 1e12
	cfg.Limits.TenantBurst = 1 << 30
	cfg.Limits.TenantRequestsPerSecond = 1e9
	cfg.Limits.TenantRequestBurst = 1 << 30
	srv, err := server.Open(ctx, cfg, slog.New(slog.DiscardHandler), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("benchmark: server: %w", err)
	}
	if err := srv.Start(); err != nil {
		srv.Close()
		return nil, fmt.Errorf("benchmark: server: %w", err)
	}
	addrs := srv.Addrs()
	s := &service{srv: srv, cfg: cfg, url: "http://" + addrs[0].String(), syslog: addrs[1].String(),
		client: &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * connections}}}
	if s.operator, err = s.mint("operator"); err != nil {
		s.close()
		return nil, err
	}
	res, _ := json.Marshal(spec.Resource{ID: "compute-1", Kind: "host", Tenant: spec.TenantPlatform, Addresses: []string{"127.0.0.1"}})
	for _, st := range []struct {
		want         int
		method, path string
		ctype        string
		body         []byte
	}{
		{201, "POST", "/v1/admin/catalogues", "application/yaml", catalogue},
		{204, "POST", "/v1/admin/catalogues/1/publish", "", nil},
		{201, "POST", "/v1/admin/resources", "application/json", res},
	} {
		if _, err := s.must(ctx, st.want, st.method, st.path, s.operator, st.ctype, st.body); err != nil {
			s.close()
			return nil, err
		}
	}
	return s, nil
}

func (s *service) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if cerr := s.srv.Close(); err == nil {
		err = cerr
	}
	s.client.CloseIdleConnections()
	if err != nil {
		return fmt.Errorf("benchmark: server: %w", err)
	}
	return nil
}

// mint returns an hour-long server token of role ("operator", or
// "ingest" for the platform stream).
func (s *service) mint(role string) (string, error) {
	tok, err := server.MintToken(s.cfg, server.TokenOptions{Role: role, TTL: time.Hour}, rand.Reader)
	if err != nil {
		return "", fmt.Errorf("benchmark: token: %w", err)
	}
	return tok, nil
}

// do sends one request and returns the status and the answer.
func (s *service) do(ctx context.Context, method, path, token, ctype string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.url+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// must is do that fails unless the status is want.
func (s *service) must(ctx context.Context, want int, method, path, token, ctype string, body []byte) ([]byte, error) {
	st, raw, err := s.do(ctx, method, path, token, ctype, body)
	if err != nil {
		return nil, fmt.Errorf("benchmark: %s %s: %w", method, path, err)
	}
	if st != want {
		return nil, fmt.Errorf("benchmark: %s %s: status %d, want %d", method, path, st, want)
	}
	return raw, nil
}

// ingested reads from /metrics how many lines the platform stream has
// accepted, over every transport.
func (s *service) ingested(ctx context.Context) (float64, error) {
	m, err := s.must(ctx, 200, "GET", "/metrics", "", "", nil)
	if err != nil {
		return 0, err
	}
	var n float64
	for line := range bytes.Lines(m) {
		if bytes.HasPrefix(line, []byte("hisoka_ingest_lines_total{")) && bytes.Contains(line, []byte(`stream="platform"`)) {
			var v float64
			if _, err := fmt.Sscan(string(line[bytes.LastIndexByte(line, ' ')+1:]), &v); err == nil {
				n += v
			}
		}
	}
	return n, nil
}

// matched waits until the pipelines have processed every acknowledged line.
func (s *service) matched(ctx context.Context) error {
	err := waitFor(ctx, 5*time.Minute, 2*time.Millisecond, func() (bool, error) { return s.srv.Pending() == 0, nil })
	if err != nil {
		return fmt.Errorf("benchmark: waiting for the pipeline: %w", err)
	}
	return nil
}

// platformLog generates d of a busy site's platform log with a few faults.
func platformLog(d time.Duration) []loggen.Line {
	return loggen.Generate(loggen.Config{Seed: 3, Duration: d, VMs: 10 * int(d/time.Hour), Projects: 8, Computes: 12,
		Ops: true, Faults: loggen.Faults{BruteForce: 3, IptablesFlush: 1, BridgeDown: 1}}).Lines
}

func (r *runner) service(catalogue []byte) (err error) {
	r.say("starting a server on the embedded store (HTTP and syslog TCP on 127.0.0.1)")
	s, err := startService(r.ctx, filepath.Join(r.dir, "service"), catalogue)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := s.close(); err == nil {
			err = cerr
		}
	}()
	r.say("ingest, HTTP NDJSON")
	bodies := newReplay(r.plan.ingestLog, false, linesPerRequest, func(b *bytes.Buffer, line string) {
		j, _ := json.Marshal(struct {
			Line string `json:"line"`
		}{line})
		b.Write(j)
		b.WriteByte('\n')
	})
	if err := r.ingestHTTP(s, bodies); err != nil {
		return err
	}
	r.say("ingest, syslog TCP")
	frames := newReplay(r.plan.ingestLog, true, linesPerWrite, func(b *bytes.Buffer, line string) {
		b.WriteString(line)
		b.WriteByte('\n')
	})
	frames.after = bodies.end() // the same stream: event time goes on from there
	if err := r.ingestSyslog(s, frames); err != nil {
		return err
	}
	r.say("notification latency under ingest load (%d samples)", r.plan.notifications)
	return r.notifyLatency(s)
}

// ingestPhase runs connections clients sending bodies in turn for d, then
// waits until the pipeline has matched everything sent; it returns the
// lines acknowledged and the wall time until they were matched.
type ingestPhase func(d time.Duration) (lines int64, secs float64, err error)

// measureIngest runs phase for the warm-up and then for the run time, and
// adds the result.
func (r *runner) measureIngest(id, name, detail string, phase ingestPhase) error {
	if _, _, err := phase(r.plan.warm); err != nil {
		return err
	}
	n, secs, err := phase(r.plan.run)
	if err != nil {
		return err
	}
	r.add(Result{ID: id, Name: name, Value: float64(n) / secs, Unit: "lines/s", Parallelism: AllCores,
		Detail: detail, Count: int(n), Seconds: secs})
	return nil
}

func (r *runner) ingestHTTP(s *service, bodies *replay) error {
	tok, err := s.mint("ingest")
	if err != nil {
		return err
	}
	var busy atomic.Int64 // 429 answers (pipeline lagging)
	phase := func(d time.Duration) (int64, float64, error) {
		var acked atomic.Int64
		var mu sync.Mutex
		var first error
		fail := func(err error) {
			mu.Lock()
			first = cmp.Or(first, err)
			mu.Unlock()
		}
		start := time.Now()
		deadline := start.Add(d)
		var wg sync.WaitGroup
		for range connections {
			wg.Go(func() {
				for time.Now().Before(deadline) {
					body, n := bodies.next()
					st, _, err := s.do(r.ctx, "POST", "/v1/ingest", tok, "application/x-ndjson", body)
					switch {
					case err != nil:
						fail(fmt.Errorf("benchmark: ingest over HTTP: %w", err))
						return
					case st == http.StatusTooManyRequests:
						busy.Add(1)
						time.Sleep(10 * time.Millisecond)
					case st != http.StatusOK:
						fail(fmt.Errorf("benchmark: ingest over HTTP: status %d", st))
						return
					default:
						acked.Add(int64(n))
					}
				}
			})
		}
		wg.Wait()
		if first != nil {
			return 0, 0, first
		}
		if err := s.matched(r.ctx); err != nil {
			return 0, 0, err
		}
		return acked.Load(), time.Since(start).Seconds(), nil
	}
	detail := fmt.Sprintf("POST /v1/ingest, %d NDJSON lines a request, %d connections from this process; a generated day replayed day after day; durable and matched", linesPerRequest, connections)
	if err := r.measureIngest("ingest_http", "ingest, HTTP NDJSON (embedded store, matcher on)", detail, phase); err != nil {
		return err
	}
	if n := busy.Load(); n > 0 {
		res := &r.rep.Results[len(r.rep.Results)-1]
		res.Detail += fmt.Sprintf("; %d requests answered 429 while the pipeline lagged", n)
	}
	return nil
}

func (r *runner) ingestSyslog(s *service, frames *replay) error {
	phase := func(d time.Duration) (int64, float64, error) {
		before, err := s.ingested(r.ctx)
		if err != nil {
			return 0, 0, err
		}
		var sent atomic.Int64
		var mu sync.Mutex
		var first error
		start := time.Now()
		deadline := start.Add(d)
		var wg sync.WaitGroup
		for range connections {
			wg.Go(func() {
				err := func() error {
					conn, err := (&net.Dialer{}).DialContext(r.ctx, "tcp", s.syslog)
					if err != nil {
						return err
					}
					defer conn.Close()
					// A small send buffer keeps what is still in flight at
					// the deadline (and so the drain after it) short.
					if err := conn.(*net.TCPConn).SetWriteBuffer(sendBuffer); err != nil {
						return err
					}
					if err := conn.SetWriteDeadline(deadline.Add(time.Minute)); err != nil {
						return err
					}
					for time.Now().Before(deadline) {
						f, n := frames.next()
						if _, err := conn.Write(f); err != nil {
							return err
						}
						sent.Add(int64(n))
					}
					return nil
				}()
				if err != nil {
					mu.Lock()
					first = cmp.Or(first, fmt.Errorf("benchmark: syslog TCP: %w", err))
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if first != nil {
			return 0, 0, first
		}
		want := before + float64(sent.Load())
		err = waitFor(r.ctx, 5*time.Minute, 5*time.Millisecond, func() (bool, error) {
			n, err := s.ingested(r.ctx)
			return n >= want, err
		})
		if err != nil {
			return 0, 0, fmt.Errorf("benchmark: syslog TCP: waiting for the lines sent to be stored: %w", err)
		}
		if err := s.matched(r.ctx); err != nil {
			return 0, 0, err
		}
		return sent.Load(), time.Since(start).Seconds(), nil
	}
	detail := fmt.Sprintf("LF-framed syslog-wrapped lines, %d lines a write, %d connections from this process; a generated day replayed day after day; durable and matched", linesPerWrite, connections)
	return r.measureIngest("ingest_syslog_tcp", "ingest, syslog TCP (embedded store, matcher on)", detail, phase)
}

// stamp rewrites the oslo.log timestamp that starts line to t (other lines
// are left as they are).
func stamp(line string, t time.Time) string {
	const layout = "2006-01-02 15:04:05.000"
	if len(line) > len(layout) && line[0] == '2' && line[4] == '-' {
		return t.UTC().Format(layout) + line[len(layout):]
	}
	return line
}

// background is the ingest load under which latencies are measured.
const (
	backgroundLines = 1000
	backgroundEvery = 50 * time.Millisecond
)

// notifyLatency measures, under background platform ingest, the time from
// the acknowledgement of the last line of a VM creation (platform logs over
// HTTP) to the owning tenant's long poll answering with the batch.
func (r *runner) notifyLatency(s *service) error {
	const tenant, project = "bench-tenant", "proj-bench"
	idn, err := crypto.NewIdentity(rand.Reader)
	if err != nil {
		return fmt.Errorf("benchmark: %w", err)
	}
	treq, _ := json.Marshal(spec.Tenant{ID: tenant, PublicKey: idn.Public(), Settings: map[string]string{"project": project}})
	if _, err := s.must(r.ctx, 201, "POST", "/v1/admin/tenants", s.operator, "application/json", treq); err != nil {
		return err
	}
	tenantToken := func() (string, error) {
		tok, err := server.SignTenantToken(idn.PrivateKey(), tenant, s.cfg.Auth.Audience, time.Now(), 5*time.Minute, rand.Reader)
		if err != nil {
			return "", fmt.Errorf("benchmark: tenant token: %w", err)
		}
		return tok, nil
	}
	ingest, err := s.mint("ingest")
	if err != nil {
		return err
	}

	// One VM creation per sample, and a tenth more for the warm-up, moved
	// into the tenant's project.
	warm := max(1, r.plan.notifications/10)
	creations := make([][]string, warm+r.plan.notifications)
	for i := range creations {
		g := loggen.Generate(loggen.Config{Seed: uint64(1000 + i), Projects: 1, VMs: 1, NoBackground: true, Duration: 5 * time.Minute})
		var tr loggen.Truth
		for _, x := range g.Truth {
			if x.ID == "vm.create" {
				tr = x
			}
		}
		if tr.ID == "" {
			return errors.New("benchmark: the generated log has no VM creation")
		}
		for _, ln := range g.Lines {
			if ln.Time.After(tr.End) {
				break
			}
			creations[i] = append(creations[i], strings.ReplaceAll(ln.Text, tr.Tenant, project))
		}
	}

	ctx, stop := context.WithCancel(r.ctx)
	var wg sync.WaitGroup
	defer func() {
		stop()
		wg.Wait()
	}()
	bg := platformLog(2 * time.Hour)
	var bgErr atomic.Value
	wg.Go(func() {
		tick := time.NewTicker(backgroundEvery)
		defer tick.Stop()
		k := 0
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			var buf bytes.Buffer
			now := time.Now()
			for range backgroundLines {
				buf.WriteString(stamp(bg[k%len(bg)].Text, now))
				buf.WriteByte('\n')
				k++
			}
			st, _, err := s.do(ctx, "POST", "/v1/ingest", ingest, "text/plain", buf.Bytes())
			if err == nil && st != http.StatusOK && st != http.StatusTooManyRequests {
				err = fmt.Errorf("status %d", st)
			}
			if err != nil && ctx.Err() == nil {
				bgErr.Store(fmt.Errorf("benchmark: background ingest: %w", err))
				return
			}
		}
	})

	// Let the background load settle, and skip the batches already there.
	time.Sleep(min(time.Second, 4*r.plan.warm))
	poll := func(after uint64, wait string) (uint64, int, error) {
		tok, err := tenantToken()
		if err != nil {
			return 0, 0, err
		}
		raw, err := s.must(r.ctx, 200, "GET", fmt.Sprintf("/v1/tenants/%s/notifications?after=%d&wait=%s", tenant, after, wait), tok, "", nil)
		if err != nil {
			return 0, 0, err
		}
		var n spec.Notifications
		if err := json.Unmarshal(raw, &n); err != nil {
			return 0, 0, fmt.Errorf("benchmark: notifications: %w", err)
		}
		for _, b := range n.Batches {
			after = max(after, b.Seq)
		}
		return after, len(n.Batches), nil
	}
	after, _, err := poll(0, "0s")
	if err != nil {
		return err
	}

	samples := make([]time.Duration, 0, len(creations))
	var start time.Time
	for i, lines := range creations {
		if i == warm {
			samples, start = samples[:0], time.Now()
		}
		var buf bytes.Buffer
		now := time.Now()
		for _, ln := range lines {
			buf.WriteString(stamp(ln, now))
			buf.WriteByte('\n')
		}
		if _, err := s.must(r.ctx, 200, "POST", "/v1/ingest", ingest, "text/plain", buf.Bytes()); err != nil {
			return err
		}
		t0 := time.Now()
		for got := 0; got == 0; {
			if after, got, err = poll(after, "10s"); err != nil {
				return err
			}
			if time.Since(t0) > time.Minute {
				return errors.New("benchmark: no notification within a minute of a VM creation (does the catalogue have the vm.create pattern?)")
			}
		}
		samples = append(samples, time.Since(t0))
	}
	secs := time.Since(start).Seconds()
	if err, _ := bgErr.Load().(error); err != nil {
		return err
	}
	l := latency(samples)
	rate := float64(backgroundLines) / backgroundEvery.Seconds()
	detail := fmt.Sprintf("acknowledged last line of a VM creation -> tenant's long poll answers; %.0f background lines/s over HTTP; %d samples after %d; p50 %.2f, p95 %.2f, p99 %.2f, max %.2f ms",
		rate, len(samples), warm, l.P50, l.P95, l.P99, l.Max)
	for _, q := range []struct {
		id, name string
		v        float64
	}{
		{"notify_p50", "notification latency p50, under ingest load", l.P50},
		{"notify_p99", "notification latency p99, under ingest load", l.P99},
	} {
		r.add(Result{ID: q.id, Name: q.name, Value: q.v, Unit: "ms", Parallelism: AllCores, Detail: detail,
			Count: len(samples), Seconds: secs, Latency: l})
	}
	return nil
}
