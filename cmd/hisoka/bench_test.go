package main

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// TestBenchQuick runs "hisoka bench --quick" through the real entry point
// and checks the machine description and that every row of the table
// carries a positive figure.
func TestBenchQuick(t *testing.T) {
	stdout, stderr, err := runForTest(t, "", "bench", "--quick", "--dir", t.TempDir())
	if err != nil {
		t.Fatalf("bench: %v\nstderr:\n%s", err, stderr)
	}
	for _, key := range []string{"CPU:", "cores:", "memory:", "OS:", "Go:"} {
		if !strings.Contains(stdout, "\n"+key) && !strings.HasPrefix(stdout, key) {
			t.Errorf("machine description lacks %q:\n%s", key, stdout)
		}
	}
	rows := []struct{ prefix, unit string }{
		{"ingest, HTTP", "lines/s"},
		{"ingest, syslog TCP", "lines/s"},
		{"notification latency p50", "ms"},
		{"notification latency p99", "ms"},
		{"store appends", "records/s"},
		{"query p95", "ms"},
		{"bytes stored per line", "bytes"},
		{"template mining", "lines/s"},
		{"parse + template + match", "lines/s"},
		{"token minting, cold", "tokens/s"},
		{"token minting, circl FullEvaluate", "tokens/s"},
		{"blind evaluation", "elements/s"},
	}
	lines := strings.Split(stdout, "\n")
	for _, r := range rows {
		found := false
		for _, l := range lines {
			if !strings.HasPrefix(l, r.prefix) {
				continue
			}
			found = true
			f := strings.Fields(l)
			if len(f) < 2 || f[len(f)-1] != r.unit {
				t.Errorf("row %q: want unit %q: %q", r.prefix, r.unit, l)
				continue
			}
			v, err := strconv.ParseFloat(f[len(f)-2], 64)
			if err != nil || !(v > 0) {
				t.Errorf("row %q: figure is not a positive number: %q", r.prefix, l)
			}
		}
		if !found {
			t.Errorf("no row %q in:\n%s", r.prefix, stdout)
		}
	}
}

func TestBenchRejectsQuickAndFull(t *testing.T) {
	_, _, err := runForTest(t, "", "bench", "--quick", "--full")
	if !errors.Is(err, errUsage) {
		t.Fatalf("err = %v, want errUsage", err)
	}
}
