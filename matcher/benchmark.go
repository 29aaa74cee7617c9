package matcher

import (
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/internal/loggen"
)

// BenchCorpus is the benchmarks' input: a generated hour of a busy
// OpenStack site (interleaved lifecycles, periodic tasks, API polling,
// faults), one line per element, syslog-wrapped if syslog is set.
func BenchCorpus(syslog bool) [][]byte {
	log := loggen.Generate(loggen.Config{Seed: 99, VMs: 400, Projects: 8, Computes: 12, Ops: true, Syslog: syslog, Duration: time.Hour,
		Faults: loggen.Faults{BrokenOff: 5, Slow: 5, BruteForce: 3, IptablesFlush: 1, BridgeDown: 1, Silent: true, Orphans: true, Unscheduled: 1}})
	out := make([][]byte, len(log.Lines))
	for i, l := range log.Lines {
		out[i] = []byte(l.Text)
	}
	return out
}

// The exported benchmark bodies below are shared by this package's
// benchmarks and the "hisoka bench" command, so that both report the same
// measurement: lines/s (wall clock) and lines/cpu-s (this process's CPU
// time, the figure that holds on a shared machine).

// cpuClock measures the process's CPU time, so that a figure taken on a
// shared machine is not skewed by other work: lines per CPU-second is what
// one core sustains.
type cpuClock struct{ start time.Duration }

func startCPU() cpuClock { return cpuClock{start: cpuTime()} }

func (c cpuClock) report(b *testing.B, lines int) {
	if d := cpuTime() - c.start; d > 0 {
		b.ReportMetric(float64(lines)*float64(b.N)/d.Seconds(), "lines/cpu-s")
	}
}

func reportLines(b *testing.B, n int) {
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchTemplate measures template mining alone on messages parsed
// beforehand (a fresh miner per pass over msgs).
func BenchTemplate(b *testing.B, msgs [][]byte) {
	b.ReportAllocs()
	b.ResetTimer()
	clock := startCPU()
	for b.Loop() {
		m := NewMiner()
		for _, msg := range msgs {
			m.Add(msg)
		}
	}
	clock.report(b, len(msgs))
	reportLines(b, len(msgs))
}

// BenchPipeline measures parse + template + match (patterns, rules,
// background, residue) with catalogue cat on one core, over raw lines.
func BenchPipeline(b *testing.B, cat *Catalog, lines [][]byte) {
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
