package benchmark

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hisoka-project/hisoka/matcher"
)

// Options say what to measure and for how long.
type Options struct {
	// Quick runs every measurement briefly (seconds in all), on small data
	// sets: every row is there, the figures are rough. Tests use it.
	Quick bool
	// Catalogue is a pattern catalogue YAML document (spec/catalog.md): the
	// server publishes it and the pipeline figure runs it.
	Catalogue []byte
	// RedisURL (redis:// or rediss://), when set, adds store appends on that
	// Redis server, under a fresh key prefix deleted afterwards.
	RedisURL string
	// Dir holds the temporary stores (default: the system temporary
	// directory); they are removed before Run returns.
	Dir string
	// Progress receives a line as each measurement starts (nil: nothing).
	Progress io.Writer
}

// Parallelism of a figure: one goroutine (what one core does), or a server
// using every core with its load generator in the same process.
const (
	OneGoroutine = "one goroutine"
	AllCores     = "all cores"
)

// Result is one row of the report.
type Result struct {
	// ID names the row for machines ("ingest_http", "query_p95", ...); it
	// does not change between runs or versions.
	ID   string `json:"id"`
	Name string `json:"name"`
	// Value is the figure, in Unit: a rate per second of wall time, a
	// latency percentile in ms, or a size.
	Value       float64 `json:"value"`
	Unit        string  `json:"unit"`
	Parallelism string  `json:"parallelism"`
	// Detail says how the figure was taken (sizes, counts, other
	// percentiles).
	Detail string `json:"detail,omitempty"`
	// Count is how many operations the figure was taken over, in Seconds of
	// wall time (after the warm-up).
	Count   int     `json:"count"`
	Seconds float64 `json:"seconds"`
	// Latency holds the percentiles of a latency measurement.
	Latency *Latency `json:"latency_ms,omitempty"`
}

// Latency is a distribution of latencies in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Report is everything one run measured.
type Report struct {
	Machine Machine   `json:"machine"`
	Quick   bool      `json:"quick"`
	Started time.Time `json:"started"`
	// Seconds is the whole run's wall time.
	Seconds float64  `json:"seconds"`
	Results []Result `json:"results"`
}

// Result returns the row with id, if the report has it.
func (r *Report) Result(id string) (Result, bool) {
	for _, x := range r.Results {
		if x.ID == id {
			return x, true
		}
	}
	return Result{}, false
}

// ErrNoCatalogue is returned by [Run] when [Options.Catalogue] is empty.
var ErrNoCatalogue = errors.New("benchmark: no catalogue given")

// plan is how long measurements run and how big their data sets are.
type plan struct {
	warm, run     time.Duration // per throughput figure
	notifications int           // latency samples
	queryLines    int           // lines filled into the query store
	queries       int           // latency samples
	ingestLog     time.Duration // length of the generated log replayed by ingest
}

func planFor(quick bool) plan {
	if quick {
		return plan{warm: 50 * time.Millisecond, run: 250 * time.Millisecond, notifications: 10,
			queryLines: 20_000, queries: 100, ingestLog: 2 * time.Hour}
	}
	return plan{warm: time.Second, run: 4 * time.Second, notifications: 200,
		queryLines: 1_000_000, queries: 1000, ingestLog: 24 * time.Hour}
}

// Run measures every figure in turn and returns the report. It stops at the
// first measurement that fails.
func Run(ctx context.Context, opt Options) (_ *Report, err error) {
	if len(opt.Catalogue) == 0 {
		return nil, ErrNoCatalogue
	}
	cat, err := matcher.ParseCatalog(opt.Catalogue)
	if err != nil {
		return nil, fmt.Errorf("benchmark: catalogue: %w", err)
	}
	rep := &Report{Machine: Describe(ctx), Quick: opt.Quick, Started: time.Now().UTC()}
	p := planFor(opt.Quick)
	var rdb *redisTarget
	if opt.RedisURL != "" {
		if rdb, err = openRedis(ctx, opt.RedisURL); err != nil {
			return nil, err
		}
		defer func() {
			if cerr := rdb.close(); cerr != nil && err == nil {
				err = fmt.Errorf("benchmark: Redis: deleting the keys under %s: %w", rdb.prefix, cerr)
			}
		}()
	}
	dir, err := os.MkdirTemp(opt.Dir, "hisoka-bench-")
	if err != nil {
		return nil, fmt.Errorf("benchmark: %w", err)
	}
	defer os.RemoveAll(dir)
	r := &runner{ctx: ctx, plan: p, dir: dir, progress: opt.Progress, rep: rep}

	steps := []func() error{
		func() error { return r.service(opt.Catalogue) }, // ingest, notification latency
		func() error { return r.appends(rdb) },
		r.query, // and bytes per line
		func() error { return r.matcher(cat) },
		r.tokens,
	}
	start := time.Now()
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	rep.Results = ordered(rep.Results)
	return rep, nil
}

// rowOrder is the order of the table: ingest, store, matcher, tokens, then
// the latencies and sizes.
var rowOrder = []string{
	"ingest_http", "ingest_syslog_tcp",
	"append_embedded", "append_redis",
	"template_mining", "pipeline",
	"mint_cold", "mint_cold_all", "mint_cached", "blind_eval_1", "blind_eval_32",
	"notify_p50", "notify_p99",
	"query_p95", "bytes_per_line",
}

func ordered(rs []Result) []Result {
	out := slices.Clone(rs)
	slices.SortStableFunc(out, func(a, b Result) int {
		return slices.Index(rowOrder, a.ID) - slices.Index(rowOrder, b.ID)
	})
	return out
}

// runner carries what every measurement needs.
type runner struct {
	ctx      context.Context
	plan     plan
	dir      string
	progress io.Writer
	rep      *Report
}

func (r *runner) say(format string, args ...any) {
	if r.progress != nil {
		fmt.Fprintf(r.progress, "hisoka bench: "+format+"\n", args...)
	}
}

func (r *runner) add(res Result) { r.rep.Results = append(r.rep.Results, res) }

// rate calls op (which returns how many units it did) for the plan's
// warm-up, then again for its run time, and returns the units done in the
// second phase and the wall time they took.
func (r *runner) rate(op func() (int, error)) (units int, secs float64, err error) {
	for _, d := range []time.Duration{r.plan.warm, r.plan.run} {
		units = 0
		start := time.Now()
		for units == 0 || time.Since(start) < d {
			if err := r.ctx.Err(); err != nil {
				return 0, 0, err
			}
			n, err := op()
			if err != nil {
				return 0, 0, err
			}
			units += n
		}
		secs = time.Since(start).Seconds()
	}
	return units, secs, nil
}

// rateAll is rate with op called from GOMAXPROCS goroutines at once (op
// must be safe for concurrent use); each phase ends when the last goroutine
// has finished its call after the phase's time.
func (r *runner) rateAll(op func() (int, error)) (units int, secs float64, err error) {
	for _, d := range []time.Duration{r.plan.warm, r.plan.run} {
		var done atomic.Int64
		var mu sync.Mutex
		var first error
		start := time.Now()
		var wg sync.WaitGroup
		for range runtime.GOMAXPROCS(0) {
			wg.Go(func() {
				for time.Since(start) < d {
					n, err := op()
					if err == nil {
						err = r.ctx.Err()
					}
					if err != nil {
						mu.Lock()
						first = cmp.Or(first, err)
						mu.Unlock()
						return
					}
					done.Add(int64(n))
				}
			})
		}
		wg.Wait()
		if first != nil {
			return 0, 0, first
		}
		units, secs = int(done.Load()), time.Since(start).Seconds()
	}
	return units, secs, nil
}

// latency summarizes samples (sorted in place).
func latency(samples []time.Duration) *Latency {
	slices.Sort(samples)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return &Latency{P50: ms(quantile(samples, 0.50)), P95: ms(quantile(samples, 0.95)),
		P99: ms(quantile(samples, 0.99)), Max: ms(samples[len(samples)-1])}
}

// quantile is the nearest-rank q-quantile of sorted samples.
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(len(sorted)-1, i))]
}

// waitFor polls cond until it holds, for at most limit.
func waitFor(ctx context.Context, limit, every time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(limit)
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return errTimeout
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
}

var errTimeout = errors.New("benchmark: timed out")
