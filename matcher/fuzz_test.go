package matcher

import (
	"bufio"
	"bytes"
	"os"
	"testing"
	"time"
)

// seedLines adds every line of the repository's sample logs to a corpus.
func seedLines(f *testing.F) {
	for _, name := range []string{"../testdata/logs/openstack-faults.log", "../testdata/logs/formats.log"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			f.Add(append([]byte(nil), sc.Bytes()...))
		}
	}
}

func FuzzParse(f *testing.F) {
	seedLines(f)
	f.Fuzz(func(t *testing.T, line []byte) {
		p := &Parser{Reference: time.Date(2017, 5, 16, 0, 0, 0, 0, time.UTC)}
		r, err := p.Parse(line)
		if err != nil {
			if r.Line != nil || r.Message != nil || r.Format != FormatUnparsed {
				t.Fatalf("non-zero record with error %v", err)
			}
			raw, ok := p.ParseOrRaw(line)
			if ok || raw.Format != FormatUnparsed {
				t.Fatal("ParseOrRaw disagrees with Parse")
			}
			return
		}
		if r.Format == FormatUnparsed {
			t.Fatal("parsed record without a format")
		}
		// Every field lies inside the line.
		for _, b := range [][]byte{r.Source, r.Host, r.Component, r.Level, r.RequestID, r.UserID, r.ProjectID, r.Instance, r.Volume, r.Addr, r.Message} {
			if len(b) > 0 && !bytes.Contains(line, b) && !isLevelName(b) {
				t.Fatalf("field %q not in line", b)
			}
		}
		if len(r.Instance) > 0 && len(r.Instance) > len(r.Message) {
			t.Fatal("instance longer than message")
		}
		// Parsing is deterministic.
		r2, err2 := (&Parser{Reference: p.Reference}).Parse(line)
		if err2 != nil || !r2.Time.Equal(r.Time) || !bytes.Equal(r2.Message, r.Message) {
			t.Fatal("second parse differs")
		}
	})
}

func isLevelName(b []byte) bool {
	for i := 0; i < 8; i++ {
		if bytes.Equal(b, severityName(i)) {
			return true
		}
	}
	return false
}

func FuzzMiner(f *testing.F) {
	seedLines(f)
	f.Fuzz(func(t *testing.T, msg []byte) {
		m := NewMiner()
		a := m.Add(msg)
		b := m.Add(msg)
		if a != b {
			t.Fatalf("same message, two templates: %d %d", a, b)
		}
		tm := m.Template(a)
		if tm.Count != 2 || len(tm.ID) != 16 {
			t.Fatalf("template %+v", tm)
		}
		// The template text mines back to itself or a template that fits it,
		// and state round-trips.
		st, err := m.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		m2 := NewMiner()
		if err := m2.UnmarshalJSON(st); err != nil {
			t.Fatal(err)
		}
		if c := m2.Add(msg); m2.Template(c).ID != tm.ID {
			t.Fatal("restored miner maps the message elsewhere")
		}
	})
}

func FuzzParseCatalog(f *testing.F) {
	for _, name := range []string{"../testdata/catalog/default.yaml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(ruleCatalog))
	f.Add([]byte(`{"version":1,"patterns":[{"id":"a","elements":[{"template":"x <*>"}],"window":"1m"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCatalog(b)
		if err != nil {
			if c != nil {
				t.Fatal("catalogue returned with error")
			}
			return
		}
		e, err := NewEngine(c, Options{})
		if err != nil {
			t.Fatalf("valid catalogue rejected by NewEngine: %v", err)
		}
		// Round trip through both encodings.
		j, err := c.JSON()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseCatalog(j); err != nil {
			t.Fatalf("JSON round trip: %v", err)
		}
		y, err := c.YAML()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseCatalog(y); err != nil {
			t.Fatalf("YAML round trip: %v", err)
		}
		r := Record{Time: time.Date(2017, 5, 16, 0, 0, 0, 0, time.UTC), Message: []byte("[instance: b9000564-fe1a-409b-b8cc-1e88b294cd1d] x 1"),
			Instance: []byte("b9000564-fe1a-409b-b8cc-1e88b294cd1d"), Component: []byte("c")}
		e.Process(&r)
		e.Flush()
	})
}

func FuzzRestoreState(f *testing.F) {
	c, err := ParseCatalog([]byte(ruleCatalog))
	if err != nil {
		f.Fatal(err)
	}
	e, _ := NewEngine(c, Options{})
	for _, l := range sshLines("173.234.31.186", 5, time.Second) {
		r, _ := (&Parser{Reference: time.Date(2017, 5, 17, 0, 0, 0, 0, time.UTC)}).ParseOrRaw([]byte(l))
		e.Process(&r)
	}
	st, _ := e.SaveState()
	f.Add(st)
	f.Fuzz(func(t *testing.T, b []byte) {
		e, _ := NewEngine(c, Options{})
		if err := e.RestoreState(b); err != nil {
			return
		}
		// A restored engine keeps working.
		for _, l := range sshLines("173.234.31.186", 9, time.Second) {
			r, _ := (&Parser{Reference: time.Date(2017, 5, 17, 0, 0, 0, 0, time.UTC)}).ParseOrRaw([]byte(l))
			e.Process(&r)
		}
		e.Flush()
	})
}
