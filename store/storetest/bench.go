package storetest

import (
	"context"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/store"
)

// BenchAppend measures durable appends of 250-byte records in batches of
// 1000 and reports records/s.
func BenchAppend(b *testing.B, s store.Appender) {
	c := NewCorpus(7)
	batches := make([][]store.Record, 16)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range batches {
		batches[i] = c.Batch(1000, at.Add(time.Duration(i)*time.Minute), time.Millisecond)
		Cut250(batches[i])
	}
	ctx := context.Background()
	b.SetBytes(int64(RawBytes(batches[0])))
	b.ResetTimer()
	cpu0, cpuOK := processCPU()
	for i := 0; i < b.N; i++ {
		if _, _, err := s.Append(ctx, "bench", batches[i%len(batches)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "records/s")
	// CPU per batch (this process, all goroutines: the figure that counts
	// on a shared machine, where wall-clock rates vary with the load).
	if cpu1, ok := processCPU(); ok && cpuOK {
		b.ReportMetric(float64(cpu1-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/batch")
	}
}

// Fill appends n corpus records to tenant, spread evenly over span from
// start, in batches of 1000; it returns the raw bytes appended.
func Fill(tb testing.TB, s store.Appender, tenant string, n int, start time.Time, span time.Duration) int {
	c := NewCorpus(11)
	step := span / time.Duration(n)
	raw := 0
	for done := 0; done < n; done += 1000 {
		k := min(1000, n-done)
		rs := c.Batch(k, start.Add(time.Duration(done)*step), step)
		raw += RawBytes(rs)
		if _, _, err := s.Append(context.Background(), tenant, rs); err != nil {
			tb.Fatal(err)
		}
	}
	return raw
}

// BenchQuery runs one-hour-range plus one-term queries (an instance id, as
// an operator looks one VM up; and a level word) at random hours within
// span, and reports p50 and p95 latency in ms.
func BenchQuery(b *testing.B, s store.Searcher, tenant string, start time.Time, span time.Duration) {
	c := NewCorpus(11)
	rng := rand.New(rand.NewPCG(3, 4))
	ctx := context.Background()
	hours := int(span / time.Hour)
	lat := make([]time.Duration, 0, b.N)
	found := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		from := start.Add(time.Duration(rng.IntN(hours)) * time.Hour)
		term := c.Instance(rng.IntN(2000))
		if i%2 == 1 {
			term = "ERROR"
		}
		t0 := time.Now()
		p, err := s.Query(ctx, tenant, store.Query{From: from, To: from.Add(time.Hour), Terms: []string{term}, Limit: 100})
		lat = append(lat, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
		found += len(p.Records)
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	ms := func(q float64) float64 {
		return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(ms(0.50), "p50-ms")
	b.ReportMetric(ms(0.95), "p95-ms")
	b.ReportMetric(float64(found)/float64(b.N), "hits/query")
}
