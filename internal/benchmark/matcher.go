package benchmark

import (
	"fmt"
	"time"

	"github.com/hisoka-project/hisoka/internal/loggen"
	"github.com/hisoka-project/hisoka/matcher"
)

// matcherLog is the matcher's input: an hour of a busy OpenStack site
// (interleaved lifecycles, periodic tasks, API polling, faults), the same
// as the matcher package's own benchmarks.
func matcherLog() [][]byte {
	g := loggen.Generate(loggen.Config{Seed: 99, VMs: 400, Projects: 8, Computes: 12, Ops: true, Duration: time.Hour,
		Faults: loggen.Faults{BrokenOff: 5, Slow: 5, BruteForce: 3, IptablesFlush: 1, BridgeDown: 1, Silent: true, Orphans: true, Unscheduled: 1}})
	out := make([][]byte, len(g.Lines))
	for i, l := range g.Lines {
		out[i] = []byte(l.Text)
	}
	return out
}

// matcher measures template mining alone (on messages parsed beforehand)
// and the pipeline's per-line work: parse, templates and matching with the
// catalogue. Each pass over the log starts a fresh miner or engine, so the
// time stream stays monotonic and templates are learned within the pass.
func (r *runner) matcher(cat *matcher.Catalog) error {
	lines := matcherLog()
	p := &matcher.Parser{}
	msgs := make([][]byte, len(lines))
	for i, l := range lines {
		rec, _ := p.ParseOrRaw(l)
		msgs[i] = rec.Message
	}
	detail := fmt.Sprintf("passes over a generated hour of %d platform lines", len(lines))

	r.say("template mining")
	n, secs, err := r.rate(func() (int, error) {
		m := matcher.NewMiner()
		for _, msg := range msgs {
			m.Add(msg)
		}
		return len(msgs), nil
	})
	if err != nil {
		return err
	}
	r.add(Result{ID: "template_mining", Name: "template mining", Value: float64(n) / secs, Unit: "lines/s",
		Parallelism: OneGoroutine, Detail: detail + ", parsed beforehand", Count: n, Seconds: secs})

	r.say("parse + templates + matching")
	var seq uint64
	n, secs, err = r.rate(func() (int, error) {
		e, err := matcher.NewEngine(cat, matcher.Options{})
		if err != nil {
			return 0, fmt.Errorf("benchmark: engine: %w", err)
		}
		for _, l := range lines {
			seq++
			rec, _ := p.ParseOrRaw(l)
			rec.Seq = seq
			e.Process(&rec)
		}
		e.Flush()
		return len(lines), nil
	})
	if err != nil {
		return err
	}
	r.add(Result{ID: "pipeline", Name: "parse + templates + matching (pipeline)", Value: float64(n) / secs, Unit: "lines/s",
		Parallelism: OneGoroutine, Detail: detail + fmt.Sprintf(", %d patterns and %d rules", len(cat.Patterns), len(cat.Rules)),
		Count: n, Seconds: secs})
	return nil
}
