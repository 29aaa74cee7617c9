package server

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/internal/loggen"
	"github.com/hisoka-project/hisoka/matcher"
	"github.com/hisoka-project/hisoka/spec"
	"github.com/hisoka-project/hisoka/store"
	"github.com/hisoka-project/hisoka/store/embedded"
)

// TestHeatCounter: lines count once per component and minute, across
// saves, a replay of lines already counted (a restart), an hour boundary,
// and the ring of hour slots (a newer hour takes its slot; an hour older
// than its slot's is not counted).
func TestHeatCounter(t *testing.T) {
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := t.Context()
	t0 := time.Date(2026, 11, 22, 10, 58, 30, 0, time.UTC)
	type line struct {
		seq  uint64
		at   time.Duration
		comp string
	}
	feed := func(c *heatCounter, ls []line) {
		t.Helper()
		recs := make([]store.Record, len(ls))
		for i, l := range ls {
			recs[i] = store.Record{Seq: l.seq, Time: t0.Add(l.at)}
		}
		if err := c.prepare(ctx, recs); err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			c.add(l.seq, t0.Add(l.at), []byte(l.comp))
		}
		if err := c.save(ctx); err != nil {
			t.Fatal(err)
		}
	}
	c := newHeatCounter(st)
	feed(c, []line{{1, 0, "nova.compute"}, {2, time.Second, "nova.compute"}, {3, 20 * time.Second, ""}})
	feed(c, []line{{4, 40 * time.Second, "nova.api"}, {5, 2 * time.Minute, "nova.api"}}) // 10:59:10, 11:00:30
	// A restart replays 3..5 and goes on with 6.
	c = newHeatCounter(st)
	feed(c, []line{{3, 20 * time.Second, ""}, {4, 40 * time.Second, "nova.api"}, {5, 2 * time.Minute, "nova.api"}, {6, 2 * time.Minute, "nova.api"}})

	h, err := readHeatmap(ctx, st, t0.Add(-30*time.Second), t0.Add(3*time.Minute), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]int{ // windows 10:58, 10:59, 11:00, 11:01
		heatNone:       {1, 0, 0, 0},
		"nova.api":     {0, 1, 2, 0},
		"nova.compute": {2, 0, 0, 0},
	}
	if h.Windows != 4 || len(h.Components) != len(want) {
		t.Fatalf("heatmap %+v", h)
	}
	for i, comp := range h.Components {
		for w, n := range want[comp] {
			if h.Counts[i][w] != n {
				t.Errorf("%s window %d: %d lines, want %d (%v)", comp, w, h.Counts[i][w], n, h.Counts[i])
			}
		}
	}
	// Wider windows sum the minutes.
	h, err = readHeatmap(ctx, st, t0.Add(-30*time.Second), t0.Add(3*time.Minute), 2*time.Minute)
	if err != nil || h.Windows != 2 || h.Components[0] != "nova.api" || h.Counts[0][0] != 1 || h.Counts[0][1] != 2 {
		t.Fatalf("two-minute windows: %+v, %v", h, err)
	}

	// The hour heatSlots hours later takes the 10:00 slot; 10:00 is gone,
	// and lines of 10:00 arriving now are not counted.
	later := time.Duration(heatSlots) * time.Hour
	feed(c, []line{{7, later, "cinder.volume"}, {8, 0, "nova.compute"}})
	h, err = readHeatmap(ctx, st, t0.Add(-30*time.Second), t0.Add(time.Minute), time.Minute)
	if err != nil || len(h.Components) != 0 {
		t.Fatalf("overwritten hour: %+v, %v", h, err)
	}
	h, err = readHeatmap(ctx, st, t0.Add(later), t0.Add(later+time.Minute), time.Minute)
	if err != nil || len(h.Components) != 1 || h.Components[0] != "cinder.volume" || h.Counts[0][0] != 1 {
		t.Fatalf("newer hour: %+v, %v", h, err)
	}

	// Ranges that are empty or too long are refused.
	for _, r := range [][2]time.Time{{t0, t0}, {t0, t0.Add(-time.Hour)}, {t0, t0.Add(365 * 24 * time.Hour)}} {
		if _, err := readHeatmap(ctx, st, r[0], r[1], time.Minute); err == nil {
			t.Errorf("range %v accepted", r)
		}
	}
}

// BenchmarkHeatmap compares the day's heatmap read from the pipeline's
// per-minute counts (what the console does) with counting the same from
// the day's stored lines (what it would otherwise do per page view), on
// 24 h of generated platform logs (about 100k lines):
//
//	go test ./server -run '^$' -bench BenchmarkHeatmap -benchtime 10x
func BenchmarkHeatmap(b *testing.B) {
	st, err := embedded.Open(b.TempDir(), embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := b.Context()
	to := time.Now().UTC().Truncate(time.Minute)
	from := to.Add(-24 * time.Hour)
	gen := loggen.Generate(loggen.Config{Seed: 8, Start: from, Duration: 24 * time.Hour, VMs: 300, Projects: 4, Ops: true})
	recs := make([]store.Record, len(gen.Lines))
	for i, ln := range gen.Lines {
		recs[i] = store.Record{Time: ln.Time, Received: ln.Time, Line: ln.Text}
	}
	if _, _, err := st.Append(ctx, spec.TenantPlatform, recs); err != nil {
		b.Fatal(err)
	}
	c := newHeatCounter(st)
	var p matcher.Parser
	for i := range recs {
		recs[i].Seq = uint64(i + 1)
	}
	if err := c.prepare(ctx, recs); err != nil {
		b.Fatal(err)
	}
	for i := range recs {
		mr, _ := p.ParseOrRaw([]byte(recs[i].Line))
		c.add(recs[i].Seq, recs[i].Time, mr.Component)
	}
	if err := c.save(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d lines", len(recs))
	b.Run("counts", func(b *testing.B) {
		for b.Loop() {
			if _, err := readHeatmap(ctx, st, from, to, 15*time.Minute); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("lines", func(b *testing.B) {
		for b.Loop() {
			counts := map[string][]int{}
			q := store.Query{From: from, To: to, Limit: store.MaxLimit}
			for {
				page, err := st.Query(ctx, spec.TenantPlatform, q)
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range page.Records {
					mr, _ := p.ParseOrRaw([]byte(r.Line))
					row := counts[string(mr.Component)]
					if row == nil {
						row = make([]int, 96)
						counts[string(mr.Component)] = row
					}
					row[int(r.Time.Sub(from)/(15*time.Minute))%96]++
				}
				if page.Next == "" {
					break
				}
				q.Cursor = page.Next
			}
		}
	})
}

// BenchmarkHeatCounterAdd is what counting costs the pipeline per line
// (the line already parsed).
func BenchmarkHeatCounterAdd(b *testing.B) {
	st, err := embedded.Open(b.TempDir(), embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	gen := loggen.Generate(loggen.Config{Seed: 8, Duration: time.Hour, VMs: 20})
	recs := make([]store.Record, len(gen.Lines))
	comps := make([][]byte, len(gen.Lines))
	var p matcher.Parser
	for i, ln := range gen.Lines {
		recs[i] = store.Record{Seq: uint64(i + 1), Time: ln.Time}
		mr, _ := p.ParseOrRaw([]byte(ln.Text))
		comps[i] = mr.Component
	}
	c := newHeatCounter(st)
	if err := c.prepare(b.Context(), recs); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		c.add(recs[i%len(recs)].Seq+uint64(i), recs[i%len(recs)].Time, comps[i%len(recs)])
		i++
	}
}

// TestHeatmapRowsBounded: a range whose hours name many components (each
// hour its own 256, as per-job app names make them) reads as the heatRows
// largest, most first, and one "(other)" row summing the rest, whatever
// the number of names; no line is lost.
func TestHeatmapRowsBounded(t *testing.T) {
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := t.Context()
	t0 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	const hours = 24
	lines := 0
	for hr := range hours {
		h := heatHour{Hour: t0.Add(time.Duration(hr) * time.Hour).Unix(), Through: 1, Counts: map[string][]uint32{}}
		for k := range heatKeys {
			row := make([]uint32, heatPerHr)
			// Component k of hour hr has k+1 lines in its minute k%60; job
			// names differ per hour, "svc-k" names recur every hour.
			name := fmt.Sprintf("job-%d-%d", hr, k)
			if k >= heatKeys-8 {
				name = fmt.Sprintf("svc-%d", k)
			}
			row[k%heatPerHr] = uint32(k + 1)
			lines += k + 1
			h.Counts[name] = row
		}
		blob, _ := json.Marshal(h)
		if err := st.PutState(ctx, heatState(heatSlot(h.Hour)), blob); err != nil {
			t.Fatal(err)
		}
	}
	h, err := readHeatmap(ctx, st, t0, t0.Add(hours*time.Hour), 3*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Components) != heatRows || len(h.Counts) != heatRows || h.Other == nil || h.Folded != hours*(heatKeys-8)+8-heatRows {
		t.Fatalf("%d rows, %d folded, other %v", len(h.Components), h.Folded, h.Other != nil)
	}
	// The recurring names are the largest: 24 × their hourly count.
	for i := range 8 {
		if want := fmt.Sprintf("svc-%d", heatKeys-1-i); h.Components[i] != want {
			t.Errorf("row %d is %s, want %s", i, h.Components[i], want)
		}
	}
	sum := 0
	for _, row := range append(h.Counts, h.Other) {
		if len(row) != h.Windows {
			t.Fatalf("row of %d windows, want %d", len(row), h.Windows)
		}
		for _, v := range row {
			sum += v
		}
	}
	if sum != lines {
		t.Errorf("%d lines shown, want %d", sum, lines)
	}
}

// TestHeatCounterFutureLines: a line dated later than its receive time
// plus heatSkew is not counted, so it cannot take the ring slot of a future
// hour and blank the hour now in that slot; a slot that a future hour
// took before (stored by an older version) is reclaimed.
func TestHeatCounterFutureLines(t *testing.T) {
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := t.Context()
	now := time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)
	same := time.Duration(heatSlots) * time.Hour // the next hour of now's slot
	c := newHeatCounter(st)
	feed := func(seq uint64, at time.Time) {
		t.Helper()
		recs := []store.Record{{Seq: seq, Time: at, Received: now}}
		if err := c.prepare(ctx, recs); err != nil {
			t.Fatal(err)
		}
		c.add(seq, at, []byte("nova.compute"))
		if err := c.save(ctx); err != nil {
			t.Fatal(err)
		}
	}
	count := func(from time.Time) int {
		t.Helper()
		h, err := readHeatmap(ctx, st, from, from.Add(time.Hour), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, row := range h.Counts {
			n += row[0]
		}
		return n
	}
	hour := now.Truncate(time.Hour)
	feed(1, now)
	feed(2, now.Add(same))               // a wrong clock, 8 days ahead
	feed(3, now.Add(heatSkew+time.Hour)) // beyond the skew, another slot
	feed(4, now.Add(time.Minute))
	feed(5, now.Add(heatSkew-time.Minute)) // within the skew: counted
	if n := count(hour); n != 2 {
		t.Errorf("hour of now: %d lines, want 2", n)
	}
	if n := count(hour.Add(same)); n != 0 {
		t.Errorf("future hour: %d lines, want 0", n)
	}
	if n := count(hour.Add(heatSkew)); n != 1 {
		t.Errorf("hour within the skew: %d lines, want 1", n)
	}

	// A slot held by a future hour, as stored before this check existed.
	blob, _ := json.Marshal(heatHour{Hour: hour.Add(same).Unix(), Through: 99, Counts: map[string][]uint32{"x": make([]uint32, heatPerHr)}})
	if err := st.PutState(ctx, heatState(heatSlot(hour.Unix())), blob); err != nil {
		t.Fatal(err)
	}
	c = newHeatCounter(st)
	feed(6, now)
	if n := count(hour); n != 1 {
		t.Errorf("hour of now after a future hour held its slot: %d lines, want 1", n)
	}
}

// AppendDetections stores platform detections as the pipeline does, for
// the external console tests that need more of them than generated logs
// make (kept here, beside the console's counts, as package server's test
// file of the console's paths).
func AppendDetections(s *Server, ds []spec.DetectionRecord) error {
	recs := make([]store.Record, len(ds))
	now := s.svc.now()
	for i, d := range ds {
		line, err := json.Marshal(d)
		if err != nil {
			return err
		}
		recs[i] = detectionRecord(matcher.Detection{Kind: matcher.Kind(d.Kind), ID: d.ID, DetectionID: d.DetectionID, Start: d.Start}, now, line)
	}
	_, _, err := s.svc.st.Append(context.Background(), spec.TenantDetections, recs)
	return err
}

// BenchmarkHeatmapWorst reads the longest range the console allows (8
// days, 480 windows) over hours that each name heatKeys components of
// their own, the most the ring can hold (49,152 names); before the rows
// were bounded this read allocated gigabytes:
//
//	go test ./server -run '^$' -bench BenchmarkHeatmapWorst -benchtime 5x -benchmem
func BenchmarkHeatmapWorst(b *testing.B) {
	st, err := embedded.Open(b.TempDir(), embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := b.Context()
	to := time.Now().UTC().Truncate(time.Hour)
	from := to.Add(-heatSlots * time.Hour)
	for hr := range heatSlots {
		h := heatHour{Hour: from.Add(time.Duration(hr) * time.Hour).Unix(), Through: 1, Counts: map[string][]uint32{}}
		for k := range heatKeys {
			row := make([]uint32, heatPerHr)
			for m := range row {
				row[m] = uint32(1 + (k+m)%7)
			}
			h.Counts[fmt.Sprintf("job-%d-%d", hr, k)] = row
		}
		blob, _ := json.Marshal(h)
		if err := st.PutState(ctx, heatState(heatSlot(h.Hour)), blob); err != nil {
			b.Fatal(err)
		}
	}
	window := (to.Sub(from) / 480).Truncate(time.Minute)
	for b.Loop() {
		h, err := readHeatmap(ctx, st, from, to, window)
		if err != nil || len(h.Components) != heatRows {
			b.Fatalf("%d rows, %v", len(h.Components), err)
		}
	}
}
