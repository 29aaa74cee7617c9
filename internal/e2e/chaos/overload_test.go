package chaos_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/internal/e2e/proc"
	"github.com/hisoka-project/hisoka/internal/loggen"
	"github.com/hisoka-project/hisoka/store/redistest"
)

// maxRSS is the resident memory the server must stay under.
const maxRSS = 1 << 30

// TestOverload is issue 7 item 3. It measures what the server sustains
// (closed loop: HTTP senders waiting for each answer, syslog writers
// blocked by TCP flow control; the best of two measurements per
// transport), then offers three times that, open loop, over HTTP and
// syslog TCP at once, and checks that:
//
//   - the server pushes back rather than giving way: HTTP ingest is
//     answered 200 or 429 only (no 5xx, no dropped connection), and the
//     load it could not take shows as 429s, as requests the sender could
//     not start because its 256 in flight were all unanswered, or as
//     syslog writes that fell behind their schedule (TCP flow control);
//   - its peak resident memory (VmHWM of the child, also sampled as
//     VmRSS) stays under 1 GiB;
//   - /healthz and the tenant's notification poll (the SDK, verifying the
//     chain) answer throughout, every sample;
//   - it does push back on both transports (429 or senders held; syslog
//     writers a second or more behind). Both transports feed the platform
//     stream, so together they offer more than three times what its
//     pipeline takes, and the pipeline lag bound (--max-lag) is what
//     refuses it. A round met without pushback means the measurement was
//     low (the machine busier then): the test measures again, keeps the
//     best figures, and offers three times those, up to three rounds;
//   - when the load drops it takes lines again (200) and its pipeline
//     catches up, and its closed-loop rate is back to at least a fifth of
//     what it was (a loose bound on purpose: the machine is shared, the
//     figures go to the log).
//
// The default run overloads the embedded store; HISOKA_E2E_FULL=1 also
// Redis (append-only file, fsync always).
func TestOverload(t *testing.T) {
	backends := []proc.Backend{proc.Embedded}
	if full() {
		backends = proc.Backends()
	}
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) { overload(t, b) })
	}
}

func overload(t *testing.T, backend proc.Backend) {
	measure, overload := 1500*time.Millisecond, 6*time.Second
	if full() {
		measure, overload = 5*time.Second, 30*time.Second
	}
	began := time.Now()
	gen := loggen.Generate(loggen.Config{Seed: 5, Projects: 2, VMs: 30, Ops: true, Duration: time.Hour})
	project, vms := tenantVMs(t, gen)
	_, subs := expectedNotifications(t, gen, vms, nil)
	// A pipeline lag bound low enough that a 2-core machine reaches it.
	o := proc.Options{Backend: backend, Args: []string{"--max-lag", "20000", "--tenant-rate", "1e9", "--tenant-burst", "1000000000"}}
	if backend == proc.Redis {
		o.RedisURL = redistest.Start(t, redistest.Config{AppendOnly: true, AppendFsync: "always"}).URL()
	}
	f := newFixture(t, o, project, vms)
	ctx := t.Context()
	if _, err := f.tenant.Subscribe(ctx, subs...); err != nil {
		t.Fatal(err)
	}
	// Syslog from 127.0.0.1 is a platform host's.
	f.srv.MustAdmin("resource-add", "--id", "overload-host", "--kind", "host", "--tenant", "platform", "--addr", "127.0.0.1")
	ld := newLoad(f, gen)
	t.Logf("set up in %s", time.Since(began).Round(time.Millisecond))

	// What the server sustains is the best of two closed-loop measurements,
	// taken while nothing else of the test runs, so that a burst of work
	// elsewhere on the machine (other packages' tests) during one does not
	// make "three times" a load the server takes.
	before := ld.capacity(ctx, t, measure, rates{})
	if before.http == 0 || before.syslog == 0 {
		t.Fatalf("nothing sustained: %+v", before)
	}

	// A round the server met without pushing back on both transports shows
	// that the figures it was offered three times of were low (the machine
	// was busier while they were measured): the best of these and of two
	// new measurements is taken, and the round offered again, up to three
	// rounds. The checks of how the server holds (answers, memory, health
	// and polls) apply to every round.
	var res overloadResult
	var hwm uint64
	for round := 1; ; round++ {
		smp := startSampler(ctx, f)
		res = ld.openLoop(ctx, 3*before.http, 3*before.syslog, overload)
		samples := smp.stop()
		hwm = procStatus(f.srv.Pid(), "VmHWM")
		t.Logf("overload %d (open loop, %s): offered HTTP %.0f lines/s, syslog %.0f lines/s", round, overload, 3*before.http, 3*before.syslog)
		t.Logf("  HTTP: %d lines acknowledged (%.0f/s), %d requests 429, %d not started (256 in flight), answers %v, %d without an answer",
			res.acked, float64(res.acked)/overload.Seconds(), res.answers[http.StatusTooManyRequests], res.shed, res.answers, res.transport)
		t.Logf("  syslog: %d of %d scheduled lines written, writes up to %s behind schedule", res.written, res.scheduled, res.behind.Round(time.Millisecond))
		t.Logf("  memory: peak %d MiB (VmHWM), highest sample %d MiB; /healthz %d samples, slowest %s; tenant poll %d samples, slowest %s",
			hwm>>20, samples.rss>>20, samples.health, samples.healthMax.Round(time.Millisecond), samples.polls, samples.pollMax.Round(time.Millisecond))

		if hwm == 0 || hwm >= maxRSS || samples.rss >= maxRSS {
			t.Errorf("resident memory: peak %d bytes, sampled %d, bound %d", hwm, samples.rss, maxRSS)
		}
		for _, e := range samples.errs {
			t.Errorf("during overload: %v", e)
		}
		if samples.health == 0 || samples.polls == 0 {
			t.Errorf("no samples: %+v", samples)
		}
		for code, n := range res.answers {
			if code != http.StatusOK && code != http.StatusTooManyRequests {
				t.Errorf("HTTP ingest answered %d to %d requests under overload", code, n)
			}
		}
		if res.transport > 0 {
			t.Errorf("%d HTTP ingest requests got no answer under overload", res.transport)
		}
		if res.pushedBack() || round == 3 || t.Failed() {
			break
		}
		t.Logf("overload %d: the server took three times the measured rates on one transport without pushing back; measuring again", round)
		before = ld.capacity(ctx, t, measure, before)
	}
	if res.answers[http.StatusTooManyRequests]+res.shed == 0 {
		t.Errorf("offered three times the sustained HTTP rate, the server neither answered 429 nor held the senders back")
	}
	if res.behind < time.Second {
		t.Errorf("offered three times the sustained syslog rate, the writers never fell a second behind (TCP flow control not seen)")
	}

	// Recovery: ingest is taken again and the pipeline catches up, then
	// the closed-loop rate is measured again.
	caught := time.Now()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		code, err := f.post(ctx, f.platformIngest, ld.body())
		if err == nil && code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("two minutes after the overload, ingest still answers %d (%v)", code, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	ld.settle(ctx, t)
	t.Logf("caught up %s after the overload", time.Since(caught).Round(time.Millisecond))
	// Up to three tries, so that a burst of work elsewhere on the machine
	// does not pass for a server that did not recover.
	var after rates
	for try := range 3 {
		after = ld.closedLoop(ctx, t, measure)
		t.Logf("after the overload (closed loop, %s, try %d): HTTP %.0f lines/s, syslog %.0f lines/s", measure, try+1, after.http, after.syslog)
		if after.http >= before.http/5 && after.syslog >= before.syslog/5 {
			break
		}
	}
	if after.http < before.http/5 || after.syslog < before.syslog/5 {
		t.Errorf("not recovered: HTTP %.0f then %.0f lines/s, syslog %.0f then %.0f", before.http, after.http, before.syslog, after.syslog)
	}
	if hwm := procStatus(f.srv.Pid(), "VmHWM"); hwm >= maxRSS {
		t.Errorf("resident memory peak %d bytes", hwm)
	}
}

// load drives the platform stream with the generated log: NDJSON bodies
// of bodyLines lines for HTTP, LF-framed lines for syslog. Each pass over
// the log is shifted forward by the log's span, so that event time keeps
// increasing as a live stream's does (the same hour sent again and again
// would pile every pass's detections into one time range).
type load struct {
	f     *fixture
	lines []loggen.Line
	span  time.Duration
	next  atomic.Int64 // lines handed out, over all passes
}

const framesLines = 200

// bodyLines is the lines per HTTP request (HISOKA_CHAOS_BODY_LINES, else
// 1,000).
var bodyLines = func() int {
	if n, err := strconv.Atoi(os.Getenv("HISOKA_CHAOS_BODY_LINES")); err == nil && n > 0 {
		return n
	}
	return 1000
}()

func newLoad(f *fixture, gen *loggen.Log) *load {
	first, last := gen.Lines[0].Time, gen.Lines[len(gen.Lines)-1].Time
	return &load{f: f, lines: gen.Lines, span: last.Sub(first) + time.Minute}
}

// take returns the texts of the next n lines.
func (ld *load) take(n int) []string {
	end := ld.next.Add(int64(n))
	out := make([]string, 0, n)
	for i := end - int64(n); i < end; i++ {
		ln := ld.lines[i%int64(len(ld.lines))]
		out = append(out, shiftTime(ln, time.Duration(i/int64(len(ld.lines)))*ld.span))
	}
	return out
}

// shiftTime moves a generated line's leading time stamp (oslo or RFC 3164)
// by d.
func shiftTime(ln loggen.Line, d time.Duration) string {
	if d == 0 {
		return ln.Text
	}
	for _, layout := range []string{"2006-01-02 15:04:05.000", time.Stamp} {
		if stamp := ln.Time.Format(layout); strings.HasPrefix(ln.Text, stamp) {
			return ln.Time.Add(d).Format(layout) + ln.Text[len(stamp):]
		}
	}
	return ln.Text
}

// body is the next HTTP request body.
func (ld *load) body() []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, text := range ld.take(bodyLines) {
		enc.Encode(ndjsonLine{Line: text})
	}
	return b.Bytes()
}

// frames is the next chunk of syslog lines.
func (ld *load) frames() []byte {
	var b bytes.Buffer
	for _, text := range ld.take(framesLines) {
		b.WriteString(text)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

type rates struct{ http, syslog float64 }

// capacity is the best, per transport, of floor and two closed-loop
// measurements of d each.
func (ld *load) capacity(ctx context.Context, t *testing.T, d time.Duration, floor rates) rates {
	t.Helper()
	best := floor
	for try := range 2 {
		r := ld.closedLoop(ctx, t, d)
		t.Logf("sustained (closed loop, %s, try %d): HTTP %.0f lines/s, syslog %.0f lines/s", d, try+1, r.http, r.syslog)
		best = rates{max(best.http, r.http), max(best.syslog, r.syslog)}
	}
	return best
}

// closedLoop measures, for d each, what the server takes from 4 HTTP
// senders (each waits for its answer; acknowledged lines) and then from 2
// syslog writers (each held by TCP flow control; the lines the server
// counts in hisoka_ingest_lines_total), one transport at a time so that
// neither starves the other's figure.
func (ld *load) closedLoop(ctx context.Context, t *testing.T, d time.Duration) rates {
	t.Helper()
	var r rates
	ld.settle(ctx, t)
	cctx, cancel := context.WithTimeout(ctx, d)
	var acked atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range 4 {
		wg.Go(func() {
			for cctx.Err() == nil {
				// A request under way when the time is up is finished.
				code, err := ld.f.post(ctx, ld.f.platformIngest, ld.body())
				if err == nil && code == http.StatusOK {
					acked.Add(int64(bodyLines))
				} else if err == nil {
					sleep(cctx, 50*time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	cancel()
	r.http = float64(acked.Load()) / time.Since(start).Seconds()

	ld.settle(ctx, t)
	sys0 := ld.metric(ctx, t, "hisoka_ingest_lines_total", `transport="syslog_tcp"`)
	cctx, cancel = context.WithTimeout(ctx, d)
	defer cancel()
	start = time.Now()
	for range 2 {
		wg.Go(func() {
			var d net.Dialer
			c, err := d.DialContext(cctx, "tcp", ld.f.srv.SyslogTCP)
			if err != nil {
				return
			}
			defer c.Close()
			stop := context.AfterFunc(cctx, func() { c.SetWriteDeadline(time.Now()) })
			defer stop()
			for cctx.Err() == nil {
				if _, err := c.Write(ld.frames()); err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	sys1 := ld.metric(ctx, t, "hisoka_ingest_lines_total", `transport="syslog_tcp"`)
	r.syslog = (sys1 - sys0) / time.Since(start).Seconds()
	return r
}

type overloadResult struct {
	acked     int64
	answers   map[int]int
	transport int // requests with no answer
	shed      int // requests not started: every slot in flight
	scheduled int64
	written   int64
	behind    time.Duration // the most a syslog writer was behind its schedule
}

// pushedBack reports whether the server held back both transports: HTTP
// requests answered 429 or not started (every slot waiting for an answer),
// and syslog writers held by TCP flow control a second or more behind
// their schedule.
func (r overloadResult) pushedBack() bool {
	return r.answers[http.StatusTooManyRequests]+r.shed > 0 && r.behind >= time.Second
}

// openLoop offers httpRate and syslogRate lines per second for d, whatever
// the server answers: HTTP requests start on a schedule (at most 256 in
// flight), syslog writers follow a schedule of their own.
func (ld *load) openLoop(ctx context.Context, httpRate, syslogRate float64, d time.Duration) overloadResult {
	cctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	res := overloadResult{answers: map[int]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	slots := make(chan struct{}, 256)
	wg.Go(func() {
		every := time.Duration(float64(time.Second) * float64(bodyLines) / httpRate)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-cctx.Done():
				return
			case <-tick.C:
			}
			select {
			case slots <- struct{}{}:
			default:
				mu.Lock()
				res.shed++
				mu.Unlock()
				continue
			}
			body := ld.body()
			wg.Go(func() {
				defer func() { <-slots }()
				// Requests started in the window finish even after it.
				code, err := ld.f.post(ctx, ld.f.platformIngest, body)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					res.transport++
					return
				}
				res.answers[code]++
				if code == http.StatusOK {
					res.acked += int64(bodyLines)
				}
			})
		}
	})
	for range 2 {
		wg.Go(func() {
			var d net.Dialer
			c, err := d.DialContext(cctx, "tcp", ld.f.srv.SyslogTCP)
			if err != nil {
				return
			}
			defer c.Close()
			stop := context.AfterFunc(cctx, func() { c.SetWriteDeadline(time.Now()) })
			defer stop()
			perLine := time.Duration(float64(time.Second) * 2 / syslogRate)
			start := time.Now()
			var written int64
			// due is when the next line should go; how far the writer is
			// behind it once a write returns (or the window ends) is how
			// long the server held it.
			due := func() time.Time { return start.Add(time.Duration(written) * perLine) }
			for cctx.Err() == nil {
				if wait := time.Until(due()); wait > 0 {
					sleep(cctx, wait)
					continue
				}
				if _, err := c.Write(ld.frames()); err != nil {
					break
				}
				written += framesLines
			}
			mu.Lock()
			res.behind = max(res.behind, time.Since(due()))
			res.written += written
			res.scheduled += int64(time.Since(start) / perLine)
			mu.Unlock()
		})
	}
	wg.Wait()
	return res
}

// settle waits until the pipeline has caught up (its lag gauge is 0), so
// that one measurement does not pay for the backlog of the one before.
func (ld *load) settle(ctx context.Context, t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for lag := ld.metric(ctx, t, "hisoka_pipeline_lag_seconds", ""); lag > 0; lag = ld.metric(ctx, t, "hisoka_pipeline_lag_seconds", "") {
		if time.Now().After(deadline) {
			t.Fatalf("after two minutes the pipeline still lags %.1fs", lag)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// metric sums the samples of a metric on /metrics whose labels contain
// match.
func (ld *load) metric(ctx context.Context, t *testing.T, name, match string) float64 {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ld.f.srv.URL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := ld.f.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		if !strings.Contains(line, match) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("/metrics: %q", line)
		}
		sum += v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return sum
}

// samples is what the sampler saw during the overload.
type samples struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu                 sync.Mutex
	rss                uint64 // highest VmRSS
	health, polls      int
	healthMax, pollMax time.Duration
	errs               []error
}

// startSampler samples, every 200 ms, the server's VmRSS and /healthz, and
// every 500 ms the tenant's notification poll; a sample that fails or
// takes more than 30 s is an error.
func startSampler(ctx context.Context, f *fixture) *samples {
	ctx, cancel := context.WithCancel(ctx)
	s := &samples{cancel: cancel}
	client := &http.Client{Timeout: 30 * time.Second}
	s.wg.Go(func() {
		for ctx.Err() == nil {
			if r := procStatus(f.srv.Pid(), "VmRSS"); r > 0 {
				s.mu.Lock()
				s.rss = max(s.rss, r)
				s.mu.Unlock()
			}
			start := time.Now()
			resp, err := client.Get(f.srv.URL + "/healthz")
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			s.note(&s.health, &s.healthMax, time.Since(start), err, "/healthz")
			sleep(ctx, 200*time.Millisecond)
		}
	})
	s.wg.Go(func() {
		for ctx.Err() == nil {
			pctx, pcancel := context.WithTimeout(ctx, 30*time.Second)
			start := time.Now()
			_, err := f.tenant.Poll(pctx, 0)
			pcancel()
			if ctx.Err() != nil && err != nil {
				return
			}
			s.note(&s.polls, &s.pollMax, time.Since(start), err, "tenant poll")
			sleep(ctx, 500*time.Millisecond)
		}
	})
	return s
}

func (s *samples) note(n *int, slowest *time.Duration, took time.Duration, err error, what string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	*n++
	*slowest = max(*slowest, took)
	if err != nil {
		s.errs = append(s.errs, fmt.Errorf("%s: %w", what, err))
	}
}

func (s *samples) stop() *samples {
	s.cancel()
	s.wg.Wait()
	return s
}

// procStatus reads a memory field (VmRSS, VmHWM) of /proc/PID/status in
// bytes; 0 when the process or field is not there.
func procStatus(pid int, field string) uint64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
