package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/hisoka-project/hisoka/crypto"
	"github.com/hisoka-project/hisoka/matcher"
	"github.com/hisoka-project/hisoka/server"
	"github.com/hisoka-project/hisoka/store/embedded"
	"github.com/hisoka-project/hisoka/store/storetest"
)

// "hisoka bench" runs the packages' own benchmark bodies (the exported
// Bench* functions the packages' benchmarks call too) through
// testing.Benchmark and prints one table with the machine's description.

// benchRow is one line of the table.
type benchRow struct {
	name  string
	value float64
	unit  string
}

// benchPlan is how long each measurement runs and how big the query set is.
type benchPlan struct {
	benchtime   string // testing's -test.benchtime for each measurement
	queryRecs   int    // records filled for the query and bytes-per-line rows
	latencyRuns string // benchtime of the notification latency (iterations)
}

func runBench(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "bench", "[--quick | --full] [--catalog FILE] [--dir DIR]")
	quick := fs.Bool("quick", false, "a few seconds: every figure, on small runs (for tests)")
	full := fs.Bool("full", false, "the target query data set: 10M records (takes minutes)")
	catPath := fs.String("catalog", "", "pattern catalogue YAML (default: testdata/catalog/default.yaml found from the working directory up)")
	dirFlag := fs.String("dir", "", "directory for the temporary stores (default: the system temporary directory)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 || (*quick && *full) {
		fs.Usage()
		return fmt.Errorf("%w: bench takes no arguments, and at most one of --quick and --full", errUsage)
	}
	plan := benchPlan{benchtime: "1s", queryRecs: 1_000_000, latencyRuns: "200x"}
	switch {
	case *quick:
		plan = benchPlan{benchtime: "30ms", queryRecs: 20_000, latencyRuns: "5x"}
	case *full:
		plan = benchPlan{benchtime: "2s", queryRecs: 10_000_000, latencyRuns: "500x"}
	}
	if *catPath == "" {
		p, err := findCatalogue()
		if err != nil {
			return err
		}
		*catPath = p
	}
	cat, err := os.ReadFile(*catPath)
	if err != nil {
		return fmt.Errorf("bench: catalogue: %w", err)
	}
	parsed, err := matcher.ParseCatalog(cat)
	if err != nil {
		return fmt.Errorf("bench: catalogue %s: %w", *catPath, err)
	}
	dir, err := os.MkdirTemp(*dirFlag, "hisoka-bench-")
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(dir)

	testing.Init() // registers testing's flags, so that benchtime can be set
	bt := flag.Lookup("test.benchtime")
	saved := bt.Value.String()
	defer bt.Value.Set(saved)

	b := &benchRunner{bt: bt}
	fmt.Fprintf(e.stderr, "hisoka bench: measuring (benchtime %s per figure)...\n", plan.benchtime)
	rows, err := b.measure(ctx, e, plan, dir, cat, parsed)
	if err != nil {
		return err
	}
	return printBench(e.stdout, machine(), plan, rows)
}

// benchRunner runs one benchmark body at a time under a given benchtime.
type benchRunner struct{ bt *flag.Flag }

func (r *benchRunner) run(name, benchtime string, f func(b *testing.B)) (testing.BenchmarkResult, error) {
	if err := r.bt.Value.Set(benchtime); err != nil {
		return testing.BenchmarkResult{}, err
	}
	res := testing.Benchmark(f)
	if res.N == 0 {
		return res, fmt.Errorf("bench: %s: the measurement failed", name)
	}
	return res, nil
}

func (r *benchRunner) measure(ctx context.Context, e *env, plan benchPlan, dir string, cat []byte, parsed *matcher.Catalog) ([]benchRow, error) {
	var rows []benchRow
	var errs []error
	// one runs f and adds the metric named by metric (or ops/s when "")
	// as a row, scaled by scale.
	one := func(row, unit, benchtime, metric string, scale float64, f func(b *testing.B)) {
		fmt.Fprintf(e.stderr, "  %s\n", row)
		res, err := r.run(row, benchtime, f)
		if err != nil {
			errs = append(errs, err)
			return
		}
		v := 1e9 / float64(res.NsPerOp())
		if metric != "" {
			v = res.Extra[metric]
		}
		rows = append(rows, benchRow{row, v * scale, unit})
	}

	// The service: HTTP and syslog ingest into the embedded store with the
	// matcher running, and notification latency under load.
	bs, err := server.StartBenchService(ctx, filepath.Join(dir, "service"), cat)
	if err != nil {
		return nil, fmt.Errorf("bench: service: %w", err)
	}
	body, n := server.BenchPlatformLines(10000)
	one("ingest, HTTP (embedded store, matcher on)", "lines/s", plan.benchtime, "lines/s", 1, func(b *testing.B) { bs.BenchIngestHTTP(b, body, n) })
	one("ingest, syslog TCP (embedded store, matcher on)", "lines/s", plan.benchtime, "lines/s", 1, func(b *testing.B) { bs.BenchIngestSyslogTCP(b, body, n) })
	var lat testing.BenchmarkResult
	tenants := 0
	fmt.Fprintf(e.stderr, "  notification latency\n")
	lat, err = r.run("notification latency", plan.latencyRuns, func(b *testing.B) {
		tenants++
		bs.BenchNotifyLatency(b, fmt.Sprintf("bench-tenant-%d", tenants))
	})
	if err != nil {
		errs = append(errs, err)
	} else {
		rows = append(rows,
			benchRow{"notification latency p50 (20k lines/s background)", lat.Extra["p50-ms"], "ms"},
			benchRow{"notification latency p99 (20k lines/s background)", lat.Extra["p99-ms"], "ms"})
	}
	if err := bs.Close(); err != nil {
		errs = append(errs, fmt.Errorf("bench: service: %w", err))
	}

	// The store: durable appends; query latency and bytes on disk per line
	// over a filled data set.
	one("store appends (250-byte records, batches of 1000)", "records/s", plan.benchtime, "records/s", 1, func(b *testing.B) {
		s, err := embedded.Open(b.TempDir(), embedded.Options{Signer: storetest.Key()})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		storetest.BenchAppend(b, s)
	})
	qrows, err := r.query(e, plan, filepath.Join(dir, "query"))
	if err != nil {
		errs = append(errs, err)
	}
	rows = append(rows, qrows...)

	// The matcher on one core.
	lines := matcher.BenchCorpus(false)
	p := &matcher.Parser{}
	msgs := make([][]byte, len(lines))
	for i, l := range lines {
		rec, _ := p.ParseOrRaw(l)
		msgs[i] = rec.Message
	}
	one("template mining (one core)", "lines/s", plan.benchtime, "lines/s", 1, func(b *testing.B) { matcher.BenchTemplate(b, msgs) })
	one("parse + template + match, default catalogue (one core)", "lines/s", plan.benchtime, "lines/s", 1, func(b *testing.B) { matcher.BenchPipeline(b, parsed, lines) })

	// Tokens.
	now := time.Now()
	kr, err := crypto.NewKeyring(rand.Reader, crypto.Schedule{Origin: now.Add(-24 * time.Hour).Truncate(time.Hour), Length: 30 * 24 * time.Hour, Overlap: 7 * 24 * time.Hour}, now)
	if err != nil {
		return nil, fmt.Errorf("bench: keyring: %w", err)
	}
	one("token minting, cold (one core)", "tokens/s", plan.benchtime, "", 1, func(b *testing.B) { crypto.BenchMintCold(b, kr, now) })
	one("token minting, circl FullEvaluate (one core)", "tokens/s", plan.benchtime, "", 1, func(b *testing.B) { crypto.BenchMintCircl(b, kr, now) })
	ds := make([]crypto.Descriptor, 32)
	for i := range ds {
		ds[i] = crypto.Descriptor{PatternID: "nova.vm-migrated", ResourceID: fmt.Sprintf("instance-%d", i), Params: []crypto.Param{{Name: "zone", Value: "az1"}}}
	}
	fmt.Fprintf(e.stderr, "  blind evaluation\n")
	if res, err := r.run("blind evaluation", plan.benchtime, func(b *testing.B) { crypto.BenchBlindEvaluate(b, kr, now, ds) }); err != nil {
		errs = append(errs, err)
	} else {
		rows = append(rows, benchRow{"blind evaluation (batches of 32, one DLEQ proof)", 1e9 / res.Extra["ns/element"], "elements/s"})
	}
	return rows, errors.Join(errs...)
}

// query fills an embedded store with plan.queryRecs OpenStack-like
// records over 30 days, measures query latency on it and the bytes it
// holds on disk per line once closed.
func (r *benchRunner) query(e *env, plan benchPlan, dir string) ([]benchRow, error) {
	fmt.Fprintf(e.stderr, "  query (filling %d records)\n", plan.queryRecs)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	span := 30 * 24 * time.Hour
	s, err := embedded.Open(dir, embedded.Options{Signer: storetest.Key()})
	if err != nil {
		return nil, fmt.Errorf("bench: query store: %w", err)
	}
	var fillErr error
	raw := 0
	if _, err := r.run("filling the query store", "1x", func(b *testing.B) { raw = storetest.Fill(b, s, "t", plan.queryRecs, start, span) }); err != nil {
		s.Close()
		return nil, err
	}
	res, err := r.run("query", plan.benchtime, func(b *testing.B) { storetest.BenchQuery(b, s, "t", start, span) })
	if cerr := s.Close(); cerr != nil {
		fillErr = cerr
	}
	if err != nil {
		return nil, errors.Join(err, fillErr)
	}
	if fillErr != nil {
		return nil, fmt.Errorf("bench: query store: %w", fillErr)
	}
	size, err := dirSize(dir)
	if err != nil {
		return nil, fmt.Errorf("bench: query store: %w", err)
	}
	label := fmt.Sprintf("%dk", plan.queryRecs/1000)
	if plan.queryRecs >= 1_000_000 {
		label = fmt.Sprintf("%dM", plan.queryRecs/1_000_000)
	}
	return []benchRow{
		{fmt.Sprintf("query p95 (one hour + one term, %s records)", label), res.Extra["p95-ms"], "ms"},
		{fmt.Sprintf("bytes stored per line (on disk, %s records of %d raw bytes/line)", label, raw/plan.queryRecs), float64(size) / float64(plan.queryRecs), "bytes"},
	}, nil
}

func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			n += fi.Size()
		}
		return err
	})
	return n, err
}

// findCatalogue looks for testdata/catalog/default.yaml from the working
// directory up, as in a checkout of the repository.
func findCatalogue() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	for {
		p := filepath.Join(d, "testdata", "catalog", "default.yaml")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		up := filepath.Dir(d)
		if up == d {
			return "", fmt.Errorf("%w: no testdata/catalog/default.yaml above the working directory; give --catalog", errUsage)
		}
		d = up
	}
}

// machine describes the host: CPU model, cores, memory, OS, Go version.
func machine() [][2]string {
	cpu := firstField("/proc/cpuinfo", "model name", ':')
	if cpu == "" {
		cpu = runtime.GOARCH
	}
	mem := "unknown"
	if kb := firstField("/proc/meminfo", "MemTotal", ':'); kb != "" {
		var v float64
		if _, err := fmt.Sscan(strings.TrimSuffix(kb, " kB"), &v); err == nil {
			mem = fmt.Sprintf("%.1f GiB", v/(1<<20))
		}
	}
	osName := runtime.GOOS + "/" + runtime.GOARCH
	if pretty := strings.Trim(firstField("/etc/os-release", "PRETTY_NAME", '='), `"`); pretty != "" {
		osName = pretty + ", " + osName
	}
	if rel, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		osName += ", kernel " + strings.TrimSpace(string(rel))
	}
	return [][2]string{
		{"CPU", cpu},
		{"cores", fmt.Sprintf("%d (GOMAXPROCS %d)", runtime.NumCPU(), runtime.GOMAXPROCS(0))},
		{"memory", mem},
		{"OS", osName},
		{"Go", runtime.Version()},
	}
}

// firstField returns the value of the first "key<sep>value" line of file.
func firstField(file, key string, sep byte) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), string(sep))
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func printBench(w io.Writer, m [][2]string, plan benchPlan, rows []benchRow) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, kv := range m {
		fmt.Fprintf(tw, "%s:\t%s\n", kv[0], kv[1])
	}
	fmt.Fprintf(tw, "benchtime:\t%s per figure\n", plan.benchtime)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "measure\t%12s  unit\n", "value")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%12s  %s\n", r.name, formatFigure(r.value), r.unit)
	}
	return tw.Flush()
}

// formatFigure prints large rates as integers and small figures with
// three significant digits.
func formatFigure(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}
