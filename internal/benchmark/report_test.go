package benchmark

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixedReport has one row of each kind: a rate, a latency, a size.
func fixedReport() *Report {
	l := &Latency{P50: 1.04, P95: 3.2, P99: 5.31, Max: 7}
	return &Report{
		Machine: Machine{CPU: "AMD EPYC", Cores: 2, GOMAXPROCS: 2, MemoryBytes: 24 << 30, Go: "go1.26.8",
			OS: "Debian GNU/Linux 13, linux/amd64", Kernel: "6.18.0", Commit: "c49127e0a6e55ff4de036d41a908f8a745e350de"},
		Started: time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC),
		Seconds: 93.4,
		Results: []Result{
			{ID: "ingest_http", Name: "ingest, HTTP NDJSON (embedded store, matcher on)", Value: 243512.7, Unit: "lines/s",
				Parallelism: AllCores, Detail: "POST /v1/ingest", Count: 974051, Seconds: 4},
			{ID: "notify_p99", Name: "notification latency p99, under ingest load", Value: 5.31, Unit: "ms",
				Parallelism: AllCores, Detail: "200 samples", Count: 200, Seconds: 1.2, Latency: l},
			{ID: "bytes_per_line", Name: "bytes stored per line, embedded, on disk", Value: 41.06, Unit: "bytes",
				Parallelism: OneGoroutine, Detail: "1M lines", Count: 1000000},
		},
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, fixedReport()); err != nil {
		t.Fatal(err)
	}
	golden(t, "table.golden", b.Bytes())
}

// The JSON report decodes back into the same report.
func TestWriteJSONRoundTrip(t *testing.T) {
	var b bytes.Buffer
	want := fixedReport()
	if err := WriteJSON(&b, want); err != nil {
		t.Fatal(err)
	}
	var got Report
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, *want)
	}
	if r, ok := got.Result("notify_p99"); !ok || r.Latency == nil || r.Latency.P99 != 5.31 {
		t.Fatalf("Result(notify_p99) = %+v, %v", r, ok)
	}
}

func TestQuantile(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 200; i++ {
		s = append(s, time.Duration(201-i)*time.Millisecond)
	}
	l := latency(s)
	// Nearest rank: p50 of 1..200 ms is the 100th, p95 the 190th, p99 the 198th.
	if *l != (Latency{P50: 100, P95: 190, P99: 198, Max: 200}) {
		t.Fatalf("latency = %+v", *l)
	}
	if l := latency([]time.Duration{3 * time.Millisecond}); *l != (Latency{P50: 3, P95: 3, P99: 3, Max: 3}) {
		t.Fatalf("one sample: %+v", *l)
	}
}

// Rows come out in the table's order, whatever order they were measured in.
func TestOrdered(t *testing.T) {
	var rs []Result
	for i := len(rowOrder) - 1; i >= 0; i-- {
		rs = append(rs, Result{ID: rowOrder[i]})
	}
	for i, r := range ordered(rs) {
		if r.ID != rowOrder[i] {
			t.Fatalf("row %d is %q, want %q", i, r.ID, rowOrder[i])
		}
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs:\n got:\n%s\nwant:\n%s", name, got, want)
	}
}
