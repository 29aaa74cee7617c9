package server

import (
	"testing"
	"time"

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
	if err != nil || h.Windows != 2 || h.Counts[1][0] != 1 || h.Counts[1][1] != 2 {
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
