package matcher

import (
	"testing"
	"time"
)

// benchLines is a generated hour of a busy OpenStack site: interleaved
// lifecycles, periodic tasks, API polling, faults.
func benchLines(b *testing.B, syslog bool) [][]byte { return BenchCorpus(syslog) }

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
	BenchPipeline(b, loadDefault(b), benchLines(b, false))
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
	BenchTemplate(b, msgs)
}
