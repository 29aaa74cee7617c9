package store

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func seedRecords(tb testing.TB) []Record {
	f, err := os.Open("testdata/lines.txt")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []Record
	sc := bufio.NewScanner(f)
	for i := 1; sc.Scan(); i++ {
		at := time.Date(2026, 3, 1, 12, 0, i, 0, time.UTC)
		out = append(out, Record{Seq: uint64(i), Time: at, Received: at.Add(time.Millisecond), Host: "cmp003", App: "nova-compute",
			Severity: 6, Source: "10.0.0.1:514", Fields: map[string]string{"request_id": "req-aa", "project": "p"}, Line: sc.Text()})
	}
	out = append(out, Record{Seq: 99})
	return out
}

func TestRecordRoundTrip(t *testing.T) {
	for _, r := range seedRecords(t) {
		b, err := r.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got Record
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		b2, _ := got.MarshalBinary()
		if !bytes.Equal(b, b2) || got.Line != r.Line || !got.Time.Equal(r.Time) {
			t.Fatalf("round trip changed record %d", r.Seq)
		}
	}
}

func TestRecordInvalid(t *testing.T) {
	good, _ := (&Record{Seq: 1, Line: "x", Fields: map[string]string{"a": "1", "b": "2"}}).MarshalBinary()
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"unknown format", append([]byte{9}, good[1:]...)},
		{"truncated", good[:len(good)-1]},
		{"trailing byte", append(bytes.Clone(good), 0)},
		{"bad time tag", func() []byte { b := bytes.Clone(good); b[9] = 7; return b }()},
		{"severity 8", func() []byte { b := bytes.Clone(good); b[11] = 8; return b }()},
		{"fields out of order", func() []byte {
			b := bytes.Clone(good)
			i := bytes.Index(b, []byte{1, 'a'})
			b[i+1], b[i+4] = 'b', 'a'
			return b
		}()},
	}
	for _, tt := range tests {
		var r Record
		if err := r.UnmarshalBinary(tt.b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v", tt.name, err)
		}
		if r.Line != "" || r.Fields != nil {
			t.Errorf("%s: partial record on error", tt.name)
		}
	}
}

func TestValidTenant(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"a", true}, {"a:b", true}, {"{a}", true}, {"日本", true}, {strings.Repeat("x", MaxTenantLen), true},
		{"", false}, // empty
		{strings.Repeat("x", MaxTenantLen+1), false}, // too long
		{"\xff", false}, // not UTF-8
	}
	for _, tt := range tests {
		if err := ValidTenant(tt.id); (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalidTenant)) {
			t.Errorf("ValidTenant(%q) = %v", tt.id, err)
		}
	}
}

func TestTerms(t *testing.T) {
	got := SplitTerms("Failed to attach volume 3C9E-aa.: from 10.0.3.7:3260 [instance: 9f1c] Straße ...")
	want := []string{"failed", "to", "attach", "volume", "3c9e-aa", "from", "10.0.3.7", "3260", "instance", "9f1c", "straße"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("got %q", got)
	}
}

func FuzzRecord(f *testing.F) {
	for _, r := range seedRecords(f) {
		b, _ := r.MarshalBinary()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Record
		if err := r.UnmarshalBinary(b); err != nil {
			if r.Line != "" || r.Fields != nil || r.Seq != 0 {
				t.Fatal("non-zero record on error")
			}
			return
		}
		out, err := r.MarshalBinary()
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("decode/encode does not round trip: %v", err)
		}
	})
}

func FuzzTerms(f *testing.F) {
	for _, r := range seedRecords(f) {
		f.Add(r.Line)
	}
	f.Add("ÄBC-Straße " + strings.Repeat("X", 70) + "é " + strings.Repeat("Y", 63) + "ÉÉ")
	f.Fuzz(func(t *testing.T, line string) {
		if got, want := SplitTerms(line), refTerms(line); strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("terms %q, reference %q", got, want)
		}
		Terms(line, func(w string) {
			// A word cut to MaxTermLen may end in '.' or '-'.
			cut := len(w) > MaxTermLen-utf8.UTFMax
			if w == "" || len(w) > MaxTermLen || strings.TrimLeft(w, ".-") != w || (!cut && strings.TrimRight(w, ".-") != w) {
				t.Fatalf("bad term %q", w)
			}
			// A term is its own only term (idempotent), for valid UTF-8 input.
			if ts := SplitTerms(w); !cut && (len(ts) != 1 || ts[0] != w) {
				if isValid(line) {
					t.Fatalf("term %q splits into %q", w, ts)
				}
			}
		})
	})
}

// refTerms is the definition of Terms written plainly, to check the fast
// paths against.
func refTerms(line string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(line, func(r rune) bool { return !termRune(r) }) {
		w = strings.Trim(w, ".-")
		if w == "" {
			continue
		}
		w = strings.ToLower(w)
		if len(w) > MaxTermLen {
			w = w[:MaxTermLen]
			for !utf8.ValidString(w) {
				w = w[:len(w)-1]
			}
		}
		out = append(out, w)
	}
	return out
}

func isValid(s string) bool { return strings.ToValidUTF8(s, "") == s }
