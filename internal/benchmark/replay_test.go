package benchmark

import (
	"bytes"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/matcher"
)

func lf(b *bytes.Buffer, line string) {
	b.WriteString(line)
	b.WriteByte('\n')
}

// Each pass over a replay writes the same lines a day (the log's length
// rounded up) later, in every date form the generated lines use, and
// leaves the first pass's bodies as they were.
func TestReplayShiftsDates(t *testing.T) {
	for _, syslog := range []bool{false, true} {
		r := newReplay(time.Hour, syslog, 100, lf)
		if len(r.bodies) < 2 {
			t.Fatalf("syslog=%v: %d bodies", syslog, len(r.bodies))
		}
		orig := bytes.Clone(r.bodies[1])
		b0, n0 := r.body(1)
		if !bytes.Equal(b0, orig) || n0 != 100 || bytes.Count(b0, []byte{'\n'}) != 100 {
			t.Fatalf("syslog=%v: first pass body differs from the generated one, or %d lines", syslog, n0)
		}
		for _, c := range []struct {
			pass        int
			long, short string
		}{
			{1, "2017-05-17", "May 17"},
			{2, "2017-05-18", "May 18"},
			{40, "2017-06-25", "Jun 25"},
		} {
			b, n := r.body(c.pass*len(r.bodies) + 1)
			want := bytes.ReplaceAll(orig, []byte("2017-05-16"), []byte(c.long))
			want = bytes.ReplaceAll(want, []byte("May 16"), []byte(c.short))
			if !bytes.Equal(b, want) || n != 100 {
				t.Errorf("syslog=%v pass %d: dates not moved to %s / %s", syslog, c.pass, c.long, c.short)
			}
		}
		if !bytes.Equal(r.bodies[1], orig) {
			t.Fatalf("syslog=%v: a later pass changed the stored body", syslog)
		}
	}
}

// The oslo.log time of a line two passes on is two days later.
func TestReplayTimeIncreases(t *testing.T) {
	r := newReplay(time.Hour, false, 100, lf)
	first, _, _ := bytes.Cut(r.bodies[0], []byte{'\n'})
	b, _ := r.body(2 * len(r.bodies))
	later, _, _ := bytes.Cut(b, []byte{'\n'})
	p := &matcher.Parser{}
	a, _ := p.ParseOrRaw(first)
	z, _ := p.ParseOrRaw(later)
	if a.Time.IsZero() || !z.Time.Equal(a.Time.Add(48*time.Hour)) {
		t.Fatalf("times %v and %v, want two days apart", a.Time, z.Time)
	}
}

// A replay following another starts where the first one's passes reached.
func TestReplayEnd(t *testing.T) {
	r := newReplay(time.Hour, false, 100, lf)
	if r.end() != 0 {
		t.Fatalf("end before sending = %d", r.end())
	}
	for range len(r.bodies) + 1 {
		r.next()
	}
	if r.end() != 2 {
		t.Fatalf("end after one pass and a body = %d, want 2", r.end())
	}
	s := newReplay(time.Hour, false, 100, lf)
	s.after = r.end()
	b, _ := s.next()
	if !bytes.HasPrefix(b, []byte("2017-05-18 ")) {
		t.Fatalf("the following replay starts with %.30q, want 2017-05-18", b)
	}
}
