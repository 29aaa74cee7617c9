package benchmark

import (
	"bytes"
	"slices"
	"sync/atomic"
	"time"

	"github.com/hisoka-project/hisoka/internal/loggen"
)

// replay is a generated log cut into request bodies that can be sent over
// and over as a live stream: each pass over the bodies moves every date
// written in them (oslo.log and RFC 5424 "2006-01-02", RFC 3164 "Jan _2")
// on by the log's length in days, so event time keeps increasing. Sending
// the same hours again would be unlike a live stream: the pipeline matches
// late lines and checks detections against what is stored for their time
// range, work a live stream does not cause.
type replay struct {
	bodies [][]byte
	lines  []int    // lines in each body
	marks  [][]mark // where each body writes a date
	first  time.Time
	days   int // the log's length, in whole days
	// after is how many days on the first pass starts (so that a replay
	// can follow another on the same stream).
	after int
	sent  atomic.Int64 // bodies handed out by next
}

// mark is one date written in a body: at off, day days after the log's
// first, in the long ("2006-01-02") or the short ("Jan _2") form.
type mark struct {
	off  int
	day  int
	long bool
}

const (
	longDate  = "2006-01-02"
	shortDate = "Jan _2"
)

// newReplay generates d of platform log from midnight UTC (syslog wrapped
// when syslog is set) and cuts it into bodies of size lines, each line
// encoded by enc. Passes are d rounded up to whole days apart.
func newReplay(d time.Duration, syslog bool, size int, enc func(*bytes.Buffer, string)) *replay {
	first := time.Date(2017, 5, 16, 0, 0, 0, 0, time.UTC)
	days := int((d + 24*time.Hour - 1) / (24 * time.Hour))
	lines := loggen.Generate(loggen.Config{Seed: 3, Start: first, Duration: d, VMs: max(1, int(200*d/(24*time.Hour))), Projects: 8, Computes: 12,
		Ops: true, Syslog: syslog, Faults: loggen.Faults{BruteForce: 3, IptablesFlush: 1, BridgeDown: 1}}).Lines
	r := &replay{first: first, days: days}
	// The dates the log writes: its days, and the one after (lines of
	// the last moments may round into it).
	var forms [][]byte
	for day := range days + 1 {
		t := first.AddDate(0, 0, day)
		forms = append(forms, []byte(t.Format(longDate)), []byte(t.Format(shortDate)))
	}
	for i := 0; i < len(lines); i += size {
		if i > 0 && i+size > len(lines) {
			break // a short last body would make passes uneven
		}
		var b bytes.Buffer
		n := 0
		for _, l := range lines[i:min(i+size, len(lines))] {
			enc(&b, l.Text)
			n++
		}
		body := b.Bytes()
		var ms []mark
		for f, form := range forms {
			for off := 0; ; {
				j := bytes.Index(body[off:], form)
				if j < 0 {
					break
				}
				ms = append(ms, mark{off: off + j, day: f / 2, long: f%2 == 0})
				off += j + len(form)
			}
		}
		slices.SortFunc(ms, func(a, b mark) int { return a.off - b.off })
		r.bodies, r.lines, r.marks = append(r.bodies, body), append(r.lines, n), append(r.marks, ms)
	}
	return r
}

// next returns the next body to send and how many lines it holds; it is
// safe for concurrent use.
func (r *replay) next() ([]byte, int) {
	return r.body(int(r.sent.Add(1) - 1))
}

// end is how many days on from the log's first the bodies handed out so
// far reach: where a replay following this one starts.
func (r *replay) end() int {
	return r.after + int((r.sent.Load()+int64(len(r.bodies))-1)/int64(len(r.bodies)))*r.days
}

// body returns the i-th body sent (counting from 0 over every pass) and
// how many lines it holds.
func (r *replay) body(i int) ([]byte, int) {
	k, pass := i%len(r.bodies), i/len(r.bodies)
	shift := r.after + pass*r.days
	if shift == 0 {
		return r.bodies[k], r.lines[k]
	}
	b := slices.Clone(r.bodies[k])
	var cache [2][]string // the shifted dates, by form and day
	for _, m := range r.marks[k] {
		form := 0
		if !m.long {
			form = 1
		}
		if cache[form] == nil {
			cache[form] = make([]string, r.days+1)
		}
		s := cache[form][m.day]
		if s == "" {
			t := r.first.AddDate(0, 0, m.day+shift)
			if m.long {
				s = t.Format(longDate)
			} else {
				s = t.Format(shortDate)
			}
			cache[form][m.day] = s
		}
		copy(b[m.off:], s)
	}
	return b, r.lines[k]
}
