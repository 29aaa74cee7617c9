package server

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/hisoka-project/hisoka/store"
)

// The platform pipeline counts its lines per component per minute (the
// matrix of the paper's figures 5 and 6) as it processes them, so the
// console draws a day's heatmap from 25 small blobs instead of reading a
// day of lines. The counts of one hour are one state blob; the blobs form a
// ring of heatSlots hours (a slot is reused by the hour heatSlots later),
// so they need no deletion and take a bounded room.
const (
	heatWindow = time.Minute
	heatSlots  = 8 * 24
	heatPerHr  = int(time.Hour / heatWindow)
	// heatKeys bounds the components of one hour; lines of further
	// components count under heatOther.
	heatKeys  = 256
	heatOther = "(other)"
	heatNone  = "(unparsed)"
	// heatSkew is how far past its receive time a line's event time may
	// lie and still be counted. Without it one future-dated line (a host
	// with a wrong clock, or a crafted line) would take the ring slot of a
	// far-future hour and blank that slot's hour until then.
	heatSkew = time.Hour
	// heatRows bounds the rows of a heatmap read: the heatRows components
	// with the most lines over the range are kept, the others are summed
	// into one row (heatmap.Other). Each hour holds up to heatKeys names
	// and the names of a range are their union, which sender-chosen
	// component names (per-job app names) make as large as 256 × 192
	// hours; 64 rows stay readable and bound rows × windows to
	// (heatRows+1) × maxHeatWindows cells.
	heatRows = 64
)

// heatHour is one hour of counts. Through is the last platform sequence
// number counted into it: a pipeline replaying lines after a restart skips
// those it already counted, so every line counts once.
type heatHour struct {
	Hour    int64               `json:"hour"` // Unix seconds of the hour's start
	Through uint64              `json:"through"`
	Counts  map[string][]uint32 `json:"counts"` // component -> per-window counts
}

func heatState(slot int64) string { return "heatmap/platform/" + strconv.FormatInt(slot, 10) }

func heatSlot(hour int64) int64 {
	return (hour / 3600) % heatSlots
}

// heatCounter is the platform pipeline's counter: the hours it touched
// since it last saved them.
type heatCounter struct {
	st    store.States
	hours map[int64]*heatHour // by hour; nil value: older than its slot's hour, not counted
	dirty map[int64]bool
	cur   *heatHour // the hour of the last line, for speed
	// latest is the latest event time counted by the last prepare (the
	// latest receive time of its lines plus heatSkew), in Unix seconds.
	latest int64
}

func newHeatCounter(st store.States) *heatCounter {
	return &heatCounter{st: st, hours: map[int64]*heatHour{}, dirty: map[int64]bool{}}
}

// loadHour reads an hour's blob, or a fresh hour if its slot holds an
// older one; it returns nil if the slot holds a newer hour. A slot holding
// an hour later than latest (Unix seconds; a future hour, counted before
// future-dated lines were refused) counts as holding an older one.
func loadHour(ctx context.Context, st store.States, hour, latest int64) (*heatHour, error) {
	blob, err := st.GetState(ctx, heatState(heatSlot(hour)))
	if errors.Is(err, store.ErrNotFound) {
		return &heatHour{Hour: hour, Counts: map[string][]uint32{}}, nil
	}
	if err != nil {
		return nil, err
	}
	var h heatHour
	if err := json.Unmarshal(blob, &h); err != nil || h.Counts == nil {
		return nil, fmt.Errorf("server: heatmap state: %w", store.ErrCorrupt)
	}
	switch {
	case h.Hour == hour:
		return &h, nil
	case h.Hour > hour && h.Hour <= latest:
		return nil, nil
	}
	return &heatHour{Hour: hour, Counts: map[string][]uint32{}}, nil
}

// prepare loads the hours of recs' times that are not in memory, so that
// add does no I/O (a failed load leaves nothing half counted).
//
// A line whose event time is later than the latest receive time of recs
// plus heatSkew is not counted (nor is its hour loaded); records without a
// receive time (tests) count their event time as received.
func (c *heatCounter) prepare(ctx context.Context, recs []store.Record) error {
	c.latest = math.MinInt64
	for i := range recs {
		at := recs[i].Received
		if at.IsZero() {
			at = recs[i].Time
		}
		c.latest = max(c.latest, at.Add(heatSkew).Unix())
	}
	last := int64(-1)
	for i := range recs {
		sec := recs[i].Time.Unix()
		hour := sec - sec%3600
		if sec < 0 || sec > c.latest || hour == last {
			continue
		}
		last = hour
		if _, ok := c.hours[hour]; ok {
			continue
		}
		h, err := loadHour(ctx, c.st, hour, c.latest)
		if err != nil {
			return err
		}
		// One slot, one hour: the newer of two in memory keeps it.
		for other, oh := range c.hours {
			switch {
			case oh == nil || heatSlot(other) != heatSlot(hour):
			case other > hour:
				h = nil
			default:
				c.hours[other] = nil
				delete(c.dirty, other)
				if c.cur == oh {
					c.cur = nil
				}
			}
		}
		c.hours[hour] = h
	}
	return nil
}

// add counts the line seq of component at t; its hour was prepared.
func (c *heatCounter) add(seq uint64, t time.Time, component []byte) {
	sec := t.Unix()
	if sec < 0 || sec > c.latest {
		return
	}
	hour := sec - sec%3600
	h := c.cur
	if h == nil || h.Hour != hour {
		if h = c.hours[hour]; h == nil {
			return // older than its slot's hour (or, impossibly, not prepared)
		}
		c.cur = h
	}
	if seq <= h.Through {
		return
	}
	h.Through = seq
	c.dirty[hour] = true
	row, ok := h.Counts[string(component)]
	if !ok {
		name := string(component)
		if name == "" {
			name = heatNone
		} else if len(h.Counts) >= heatKeys {
			name = heatOther
		}
		if row, ok = h.Counts[name]; !ok {
			row = make([]uint32, heatPerHr)
			h.Counts[name] = row
		}
	}
	row[(sec-hour)/int64(heatWindow/time.Second)]++
}

// save writes the hours counted into since the last save and forgets all
// but the current one.
func (c *heatCounter) save(ctx context.Context) error {
	for hour := range c.dirty {
		h := c.hours[hour]
		blob, err := json.Marshal(h)
		if err != nil {
			return err
		}
		if err := c.st.PutState(ctx, heatState(heatSlot(hour)), blob); err != nil {
			return err
		}
		delete(c.dirty, hour)
	}
	for hour := range c.hours {
		if c.cur == nil || hour != c.cur.Hour {
			delete(c.hours, hour)
		}
	}
	return nil
}

// heatmap is the platform's lines per component per window over
// [from, to): window is rounded to whole minutes; Counts[i][w] is the
// count of Components[i] in the window starting at from + w*window. The
// components are the heatRows with the most lines over the range (most
// first, then by name); Other sums the rest (nil when there is none):
// Folded named components, and the lines an hour counted under heatOther.
type heatmap struct {
	From       time.Time
	Window     time.Duration
	Windows    int
	Components []string
	Counts     [][]int
	Other      []int
	Folded     int
}

// maxHeatWindows bounds the columns of one heatmap.
const maxHeatWindows = 10000

// readHeatmap sums the stored per-minute counts into windows. It reads
// the range's hours once, totals each component, and only then makes the
// rows of the heatRows largest (and one for the rest), so its memory is
// bounded by the stored hours plus (heatRows+1) × windows.
func readHeatmap(ctx context.Context, st store.States, from, to time.Time, window time.Duration) (heatmap, error) {
	if !to.After(from) {
		return heatmap{}, ErrBadParam
	}
	window = max(min(window, to.Sub(from)).Truncate(heatWindow), heatWindow)
	from = from.Truncate(heatWindow).UTC()
	n := int((to.Sub(from) + window - 1) / window)
	if n > maxHeatWindows {
		return heatmap{}, ErrBadParam
	}
	out := heatmap{From: from, Window: window, Windows: n}
	end := from.Add(time.Duration(n) * window)
	// minutes is the part of an hour's minutes inside [from, end).
	minutes := func(h *heatHour) (int, int) {
		start := time.Unix(h.Hour, 0)
		lo := max(0, int(from.Sub(start)/heatWindow))
		hi := min(heatPerHr, int((end.Sub(start)+heatWindow-1)/heatWindow))
		return lo, hi
	}
	var hours []*heatHour
	totals := map[string]int{}
	for hour := from.Truncate(time.Hour); hour.Before(end); hour = hour.Add(time.Hour) {
		h, err := loadHour(ctx, st, hour.Unix(), math.MaxInt64)
		if err != nil {
			return heatmap{}, err
		}
		if h == nil || len(h.Counts) == 0 {
			continue
		}
		hours = append(hours, h)
		lo, hi := minutes(h)
		for comp, counts := range h.Counts {
			sum := 0
			for _, v := range counts[lo:min(hi, len(counts))] {
				sum += int(v)
			}
			if sum > 0 {
				totals[comp] += sum
			}
		}
	}
	comps := make([]string, 0, len(totals))
	for comp := range totals {
		comps = append(comps, comp)
	}
	slices.SortFunc(comps, func(a, b string) int {
		if c := cmp.Compare(totals[b], totals[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	// The stored "(other)" of an hour (names past heatKeys) is folded too.
	comps = slices.DeleteFunc(comps, func(c string) bool { return c == heatOther })
	row := make(map[string]int, min(len(comps), heatRows))
	for i, comp := range comps {
		if i == heatRows {
			break
		}
		row[comp] = i
		out.Components = append(out.Components, comp)
		out.Counts = append(out.Counts, make([]int, n))
	}
	out.Folded = len(comps) - len(out.Components)
	if out.Folded > 0 || totals[heatOther] > 0 {
		out.Other = make([]int, n)
	}
	for _, h := range hours {
		start := time.Unix(h.Hour, 0)
		lo, hi := minutes(h)
		for comp, counts := range h.Counts {
			dst := out.Other
			if i, ok := row[comp]; ok {
				dst = out.Counts[i]
			}
			if dst == nil {
				continue
			}
			for m := lo; m < min(hi, len(counts)); m++ {
				if v := counts[m]; v != 0 {
					at := start.Add(time.Duration(m) * heatWindow)
					dst[int(at.Sub(from)/window)] += int(v)
				}
			}
		}
	}
	return out, nil
}
