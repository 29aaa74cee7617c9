package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
}

func newHeatCounter(st store.States) *heatCounter {
	return &heatCounter{st: st, hours: map[int64]*heatHour{}, dirty: map[int64]bool{}}
}

// loadHour reads an hour's blob, or a fresh hour if its slot holds an
// older one; it returns nil if the slot holds a newer hour.
func loadHour(ctx context.Context, st store.States, hour int64) (*heatHour, error) {
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
	case h.Hour > hour:
		return nil, nil
	}
	return &heatHour{Hour: hour, Counts: map[string][]uint32{}}, nil
}

// prepare loads the hours of recs' times that are not in memory, so that
// add does no I/O (a failed load leaves nothing half counted).
func (c *heatCounter) prepare(ctx context.Context, recs []store.Record) error {
	last := int64(-1)
	for i := range recs {
		sec := recs[i].Time.Unix()
		hour := sec - sec%3600
		if sec < 0 || hour == last {
			continue
		}
		last = hour
		if _, ok := c.hours[hour]; ok {
			continue
		}
		h, err := loadHour(ctx, c.st, hour)
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
	if sec < 0 {
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
// count of Components[i] (sorted) in the window starting at from + w*window.
type heatmap struct {
	From       time.Time
	Window     time.Duration
	Windows    int
	Components []string
	Counts     [][]int
}

// maxHeatWindows bounds the columns of one heatmap.
const maxHeatWindows = 10000

// readHeatmap sums the stored per-minute counts into windows.
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
	rows := map[string][]int{}
	end := from.Add(time.Duration(n) * window)
	for hour := from.Truncate(time.Hour); hour.Before(end); hour = hour.Add(time.Hour) {
		h, err := loadHour(ctx, st, hour.Unix())
		if err != nil {
			return heatmap{}, err
		}
		if h == nil {
			continue
		}
		for comp, counts := range h.Counts {
			row := rows[comp]
			for m, v := range counts {
				at := hour.Add(time.Duration(m) * heatWindow)
				if v == 0 || at.Before(from) || !at.Before(end) {
					continue
				}
				if row == nil {
					row = make([]int, n)
					rows[comp] = row
				}
				row[int(at.Sub(from)/window)] += int(v)
			}
		}
	}
	for comp := range rows {
		out.Components = append(out.Components, comp)
	}
	slices.Sort(out.Components)
	for _, comp := range out.Components {
		out.Counts = append(out.Counts, rows[comp])
	}
	return out, nil
}
