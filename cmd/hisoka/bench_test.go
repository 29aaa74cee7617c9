package main

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hisoka-project/hisoka/internal/benchmark"
	"github.com/hisoka-project/hisoka/matcher"
	"github.com/hisoka-project/hisoka/store/redistest"
)

// TestBenchQuick runs "hisoka bench --quick" through the real entry point,
// with a real redis-server for the Redis row, and checks the machine
// description and that every row of the table is there with a positive
// figure in its unit.
func TestBenchQuick(t *testing.T) {
	url := redistest.Server(t)
	stdout, stderr, err := runForTest(t, "", "bench", "--quick", "--redis", url, "--dir", t.TempDir())
	if err != nil {
		t.Fatalf("bench: %v\nstderr:\n%s", err, stderr)
	}
	for _, key := range []string{"CPU:", "cores:", "memory:", "OS:", "kernel:", "Go:", "commit:"} {
		if !strings.Contains(stdout, "\n"+key+" ") {
			t.Errorf("machine description lacks %q:\n%s", key, stdout)
		}
	}
	rows := []struct{ name, unit, runsOn string }{
		{"ingest, HTTP NDJSON (embedded store, matcher on)", "lines/s", "all cores"},
		{"ingest, syslog TCP (embedded store, matcher on)", "lines/s", "all cores"},
		{"store appends, embedded", "records/s", "one goroutine"},
		{"store appends, Redis", "records/s", "one goroutine"},
		{"template mining", "lines/s", "one goroutine"},
		{"parse + templates + matching (pipeline)", "lines/s", "one goroutine"},
		{"token minting, cold", "tokens/s", "one goroutine"},
		{"token minting, cold, all cores", "tokens/s", "all cores"},
		{"token minting, cached", "tokens/s", "one goroutine"},
		{"blind evaluation, batch of 1", "elements/s", "one goroutine"},
		{"blind evaluation, batch of 32", "elements/s", "one goroutine"},
		{"notification latency p50, under ingest load", "ms", "all cores"},
		{"notification latency p99, under ingest load", "ms", "all cores"},
		{"query p95, one hour + one term", "ms", "one goroutine"},
		{"bytes stored per line, embedded, on disk", "bytes", "one goroutine"},
	}
	table, notes, ok := strings.Cut(stdout, "\nhow each figure was taken")
	if !ok {
		t.Fatalf("no notes under the table:\n%s", stdout)
	}
	for _, r := range rows {
		var found []string
		for _, l := range strings.Split(table, "\n") {
			if rest, ok := strings.CutPrefix(l, r.name+" "); ok {
				found = append(found, rest)
			}
		}
		if len(found) != 1 {
			t.Errorf("row %q appears %d times in:\n%s", r.name, len(found), stdout)
			continue
		}
		f := strings.Fields(found[0])
		if len(f) < 3 {
			t.Errorf("row %q: %q", r.name, found[0])
			continue
		}
		if v, err := strconv.ParseFloat(f[0], 64); err != nil || !(v > 0) {
			t.Errorf("row %q: figure %q is not a positive number", r.name, f[0])
		}
		if f[1] != r.unit || strings.Join(f[2:], " ") != r.runsOn {
			t.Errorf("row %q: got %q, want unit %q, runs on %q", r.name, found[0], r.unit, r.runsOn)
		}
		if !strings.Contains(notes, "\n  "+r.name+": ") {
			t.Errorf("row %q has no note on how it was taken:\n%s", r.name, notes)
		}
	}
	if i := strings.Index(table, "\nmeasure "); i < 0 {
		t.Errorf("no table header:\n%s", table)
	} else if n := len(strings.Split(strings.TrimSpace(table[i:]), "\n")) - 1; n != len(rows) {
		t.Errorf("the table has %d rows, want the %d expected:\n%s", n, len(rows), table)
	}
}

func TestBenchRejectsArguments(t *testing.T) {
	_, _, err := runForTest(t, "", "bench", "extra")
	if !errors.Is(err, errUsage) {
		t.Fatalf("err = %v, want errUsage", err)
	}
}

// A Redis URL that cannot be used fails before anything is measured, and
// the error never carries the URL's password.
func TestBenchBadRedis(t *testing.T) {
	_, _, err := runForTest(t, "", "bench", "--quick", "--redis", "http://user:s3cret@127.0.0.1:1/0")
	if !errors.Is(err, benchmark.ErrRedisURL) {
		t.Fatalf("err = %v, want ErrRedisURL", err)
	}
	_, _, err = runForTest(t, "", "bench", "--quick", "--redis", "redis://user:s3cret@127.0.0.1:1/0")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("err = %v, want a connection error without the password", err)
	}
}

// A catalogue that does not parse is refused before anything runs.
func TestBenchBadCatalogue(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("version: 1\npatterns: [{id: x}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := runForTest(t, "", "bench", "--quick", "--catalog", bad)
	if !errors.Is(err, matcher.ErrCatalog) {
		t.Fatalf("err = %v, want matcher.ErrCatalog", err)
	}
}

// Outside a checkout, without --catalog, the command says to give one.
func TestBenchNeedsCatalogueOutsideCheckout(t *testing.T) {
	t.Chdir(t.TempDir())
	_, _, err := runForTest(t, "", "bench", "--quick")
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "--catalog") {
		t.Fatalf("err = %v, want a usage error naming --catalog", err)
	}
}
