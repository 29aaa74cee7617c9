package matcher

import (
	"syscall"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/internal/loggen"
)

// benchLines is a generated hour of a busy OpenStack site: interleaved
// lifecycles, periodic tasks, API polling, faults.
func benchLines(b *testing.B, syslog bool) [][]byte {
	log := loggen.Generate(loggen.Config{Seed: 99, VMs: 400, Projects: 8, Computes: 12, Ops: true, Syslog: syslog, Duration: time.Hour,
		Faults: loggen.Faults{BrokenOff: 5, Slow: 5, BruteForce: 3, IptablesFlush: 1, BridgeDown: 1, Silent: true, Orphans: true, Unscheduled: 1}})
	out := make([][]byte, len(log.Lines))
	for i, l := range log.Lines {
		out[i] = []byte(l.Text)
	}
	return out
}

func reportLines(b *testing.B, n int) {
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// cpuClock measures the process's CPU time, so that a figure taken on a
// shared machine is not skewed by other work: lines per CPU-second is what
// one core sustains.
type cpuClock struct{ start time.Duration }

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuClock { return cpuClock{start: cpuTime()} }

func (c cpuClock) report(b *testing.B, lines int) {
	if d := cpuTime() - c.start; d > 0 {
		b.ReportMetric(float64(lines)*float64(b.N)/d.Seconds(), "lines/cpu-s")
	}
}

func BenchmarkParse(b *testing.B) {
	lines := benchLines(b, false)
	p := &Parser{}
	b.ResetTimer()
	clock := startCPU()
	for b.Loop() {
		for _, l := range lines {
			p.ParseOrRaw(l)
		}
	}
	clock.report(b, len(lines))
	reportLines(b, len(lines))
}

func BenchmarkParseSyslogWrapped(b *testing.B) {
	lines := benchLines(b, true)
	p := &Parser{Reference: time.Date(2017, 5, 17, 0, 0, 0, 0, time.UTC)}
	b.ResetTimer()
	clock := startCPU()
	for b.Loop() {
		for _, l := range lines {
			p.ParseOrRaw(l)
		}
	}
	clock.report(b, len(lines))
	reportLines(b, len(lines))
}

func BenchmarkParseAndTemplate(b *testing.B) {
	lines := benchLines(b, false)
	p := &Parser{}
	m := NewMiner()
	b.ResetTimer()
	clock := startCPU()
	for b.Loop() {
		for _, l := range lines {
			r, _ := p.ParseOrRaw(l)
			m.Add(r.Message)
		}
	}
	clock.report(b, len(lines))
	reportLines(b, len(lines))
}

// BenchmarkPipeline is the headline figure: parse + template + match
// (patterns, rules, background, residue) with the default catalogue, one core.
func BenchmarkPipeline(b *testing.B) {
	lines := benchLines(b, false)
	cat := loadDefault(b)
	e, err := NewEngine(cat, Options{})
	if err != nil {
		b.Fatal(err)
	}
	p := &Parser{}
	var seq uint64
	// Warm up the templates once, as a running engine would be.
	for _, l := range lines {
		r, _ := p.ParseOrRaw(l)
		e.Process(&r)
	}
	e.Flush()
	b.ReportAllocs()
	b.ResetTimer()
	clock := startCPU()
	for b.Loop() {
		// A fresh engine per pass keeps the time stream monotonic; its
		// templates are learned again within the pass.
		e, _ = NewEngine(cat, Options{})
		for _, l := range lines {
			seq++
			r, _ := p.ParseOrRaw(l)
			r.Seq = seq
			e.Process(&r)
		}
		e.Flush()
	}
	clock.report(b, len(lines))
	reportLines(b, len(lines))
}

// BenchmarkEngine measures the engine alone on records parsed beforehand.
func BenchmarkEngine(b *testing.B) {
	lines := benchLines(b, false)
	p := &Parser{}
	recs := make([]Record, len(lines))
	for i, l := range lines {
		r, _ := p.ParseOrRaw(l)
		recs[i] = r
	}
	cat := loadDefault(b)
	b.ReportAllocs()
	b.ResetTimer()
	clock := startCPU()
	for b.Loop() {
		e, _ := NewEngine(cat, Options{})
		for i := range recs {
			e.Process(&recs[i])
		}
		e.Flush()
	}
	clock.report(b, len(lines))
	reportLines(b, len(lines))
}

// BenchmarkTemplate measures template mining alone on messages parsed
// beforehand (a fresh miner per pass).
func BenchmarkTemplate(b *testing.B) {
	lines := benchLines(b, false)
	p := &Parser{}
	msgs := make([][]byte, len(lines))
	for i, l := range lines {
		r, _ := p.ParseOrRaw(l)
		msgs[i] = r.Message
	}
	b.ReportAllocs()
	b.ResetTimer()
	clock := startCPU()
	for b.Loop() {
		m := NewMiner()
		for _, msg := range msgs {
			m.Add(msg)
		}
	}
	clock.report(b, len(lines))
	reportLines(b, len(lines))
}
