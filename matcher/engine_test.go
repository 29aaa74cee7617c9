package matcher

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/internal/loggen"
)

func loadDefault(t testing.TB) *Catalog {
	t.Helper()
	b, err := os.ReadFile("../testdata/catalog/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseCatalog(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func runEngine(t testing.TB, e *Engine, lines []string) []Detection {
	t.Helper()
	p := &Parser{Reference: time.Date(2017, 5, 17, 0, 0, 0, 0, time.UTC)}
	var out []Detection
	for i, l := range lines {
		r, _ := p.ParseOrRaw([]byte(l))
		r.Seq = uint64(i + 1)
		out = append(out, e.Process(&r)...)
	}
	return append(out, e.Flush()...)
}

func texts(log *loggen.Log) []string {
	out := make([]string, len(log.Lines))
	for i, l := range log.Lines {
		out[i] = l.Text
	}
	return out
}

// key identifies a detection for comparison with the generator's truth.
func key(kind, id, reason, resource string) string {
	return kind + "|" + id + "|" + reason + "|" + resource
}

// TestLearnCreationPatternAndFindIt learns from generated normal logs, then
// matches the learned catalogue in noisy, interleaved, syslog-wrapped logs
// with broken-off and slow creations.
func TestLearnCreationPatternAndFindIt(t *testing.T) {
	normal := loggen.Generate(loggen.Config{Seed: 11, VMs: 30, Duration: time.Hour})
	l := NewLearner(LearnOptions{})
	p := &Parser{}
	for _, ln := range normal.Lines {
		r, ok := p.ParseOrRaw([]byte(ln.Text))
		if ok {
			l.Add(&r)
		}
	}
	cat := l.Catalog()
	if err := cat.Validate(); err != nil {
		t.Fatal(err)
	}
	var create *Pattern
	for i := range cat.Patterns {
		if strings.Contains(cat.Patterns[i].Elements[0].Template, "Attempting claim") {
			create = &cat.Patterns[i]
		}
	}
	if create == nil {
		t.Fatalf("no creation pattern learned; got %d patterns", len(cat.Patterns))
	}
	if len(create.Elements) < 12 || create.Support < 25 {
		t.Fatalf("creation pattern too thin: %d elements, support %d", len(create.Elements), create.Support)
	}
	for _, el := range create.Elements {
		if strings.Contains(el.Template, "GET") {
			t.Fatalf("API polling taken into the creation pattern: %q", el.Template)
		}
	}
	// The whole creation is one burst, although neutron's notification
	// in its middle comes with another (service) user's request.
	if last := create.Elements[len(create.Elements)-1].Template; last != "[instance: <UUID>] Took <NUM> seconds to build instance." {
		t.Fatalf("creation pattern ends with %q", last)
	}
	// Round trip through the published format.
	y, err := cat.YAML()
	if err != nil {
		t.Fatal(err)
	}
	cat2, err := ParseCatalog(y)
	if err != nil {
		t.Fatalf("learned catalogue does not parse back: %v", err)
	}

	live := loggen.Generate(loggen.Config{Seed: 12, VMs: 40, Projects: 6, Ops: true, Syslog: true, Duration: time.Hour,
		Faults: loggen.Faults{BrokenOff: 3, Slow: 3}})
	e, err := NewEngine(cat2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Detection{}
	for _, d := range runEngine(t, e, texts(live)) {
		if d.ID == create.ID {
			got[key(string(d.Kind), "vm.create", d.Reason, d.Resource)] = d
		}
	}
	want := 0
	for _, tr := range live.Truth {
		if tr.ID != "vm.create" {
			continue
		}
		want++
		d, ok := got[key(tr.Kind, tr.ID, tr.Reason, tr.Resource)]
		if !ok {
			t.Errorf("missing %s %s %s", tr.Kind, tr.Reason, tr.Resource)
			continue
		}
		if d.Tenant != tr.Tenant {
			t.Errorf("%s: tenant %q, want %q", tr.Resource, d.Tenant, tr.Tenant)
		}
	}
	if len(got) != want {
		t.Errorf("%d creation detections, want %d (false reports)", len(got), want)
	}
}

// TestDefaultCatalogueOnFaultyLogs checks every pattern and rule of the
// default catalogue against the generator's ground truth, with no false
// reports and no residue on a log whose every line is explained.
func TestDefaultCatalogueOnFaultyLogs(t *testing.T) {
	for _, syslog := range []bool{false, true} {
		log := loggen.Generate(loggen.Config{Seed: 3, VMs: 40, Ops: true, Syslog: syslog, Duration: time.Hour,
			Faults: loggen.Faults{BrokenOff: 2, Slow: 2, BruteForce: 2, IptablesFlush: 1, BridgeDown: 1, Silent: true, Orphans: true, Unscheduled: 1}})
		e, err := NewEngine(loadDefault(t), Options{})
		if err != nil {
			t.Fatal(err)
		}
		ds := runEngine(t, e, texts(log))
		got := map[string]int{}
		for _, d := range ds {
			if d.Kind == KindAnomaly && d.Component == "sshd" {
				// Failed logins that are not (yet) a brute force stay in
				// the residue for operators: expected.
				continue
			}
			got[key(string(d.Kind), d.ID, strings.TrimPrefix(d.Reason, "frequency"), d.Resource)]++
		}
		for _, tr := range log.Truth {
			reason := tr.Reason
			k := key(tr.Kind, tr.ID, reason, tr.Resource)
			if tr.Kind == "rule" {
				found := false
				for g := range got {
					if strings.HasPrefix(g, "rule|"+tr.ID+"|") && strings.HasSuffix(g, "|"+tr.Resource) {
						found = true
						delete(got, g)
					}
				}
				if !found {
					t.Errorf("syslog=%v: missing rule %s on %s", syslog, tr.ID, tr.Resource)
				}
				continue
			}
			if got[k] == 0 {
				t.Errorf("syslog=%v: missing %s", syslog, k)
			}
			delete(got, k)
		}
		for k := range got {
			t.Errorf("syslog=%v: unexpected detection %s", syslog, k)
		}
	}
}

func TestDetectionIDsDeterministic(t *testing.T) {
	log := loggen.Generate(loggen.Config{Seed: 5, VMs: 10, Faults: loggen.Faults{BrokenOff: 1, BruteForce: 1}})
	run := func() []string {
		e, err := NewEngine(loadDefault(t), Options{})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, d := range runEngine(t, e, texts(log)) {
			ids = append(ids, d.DetectionID)
		}
		return ids
	}
	a, b := run(), run()
	if len(a) == 0 || !slices.Equal(a, b) {
		t.Fatalf("detection ids differ between runs or none: %d vs %d", len(a), len(b))
	}
	seen := map[string]bool{}
	for _, id := range a {
		if seen[id] {
			t.Fatalf("duplicate detection id %s", id)
		}
		seen[id] = true
	}
}

func TestResidualAnomalies(t *testing.T) {
	lines := []string{
		"2017-05-16 10:00:00.000 100 INFO cinder.volume.manager [req-3ea4052c-895d-4b64-9e2d-04d64c4d94ab - - - - -] Updating volume status",
		"2017-05-16 10:00:01.000 100 ERROR nova.compute.manager [req-3ea4052c-895d-4b64-9e2d-04d64c4d94ab - - - - -] Unexpected error while running command 17",
		"2017-05-16 10:00:02.000 100 ERROR nova.compute.manager [req-3ea4052c-895d-4b64-9e2d-04d64c4d94ab - - - - -] Unexpected error while running command 18",
		"garbage that no grammar reads",
		"2017-05-16 10:00:09.000 100 INFO cinder.volume.manager [req-3ea4052c-895d-4b64-9e2d-04d64c4d94ab - - - - -] Updating volume status",
	}
	e, err := NewEngine(loadDefault(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ds := runEngine(t, e, lines)
	if len(ds) != 2 {
		t.Fatalf("got %d detections, want 2 anomaly groups: %+v", len(ds), ds)
	}
	a := ds[0]
	if a.Kind != KindAnomaly || a.Count != 2 || a.Component != "nova.compute.manager" || !slices.Equal(a.Lines, []uint64{2, 3}) ||
		a.Template != "Unexpected error while running command <NUM>" || len(a.Samples) != 2 || !a.Start.Before(a.End) {
		t.Errorf("anomaly = %+v", a)
	}
	if b := ds[1]; b.Kind != KindAnomaly || b.Count != 1 || b.Lines[0] != 4 {
		t.Errorf("unparsed line not kept as an anomaly: %+v", b)
	}
	if tm := e.LastTemplate(); tm.Text != "Updating volume status" || tm.Count != 2 {
		t.Errorf("last template %+v", tm)
	}
	if st := e.Stats(); st.Unparsed != 1 || st.Periodic != 2 || st.Residual != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestCatalogueValidation(t *testing.T) {
	bad := []string{
		"version: 2\n", // unknown version
		"version: 1\npatterns: [{id: 'Bad Id', elements: [{template: x}], window: 1m}]\n",                  // malformed id
		"version: 1\npatterns: [{id: a, elements: [], window: 1m}]\n",                                      // no elements
		"version: 1\npatterns: [{id: a, elements: [{template: x}]}]\n",                                     // no window
		"version: 1\nrules: [{id: r, type: frequency, severity: 3, match: {keywords: [x]}, within: 1m}]\n", // no threshold
		"version: 1\nrules: [{id: r, type: keyword, severity: 16, match: {keywords: [x]}}]\n",              // severity > 15
		"version: 1\nrules: [{id: r, type: nosuch, severity: 1}]\n",                                        // unknown type
		"version: 1\nrules: [{id: r, type: schedule, severity: 1, match: {keywords: [x]}, maintenance: ['25:00-26:00']}]\n",
		"version: 1\nunknown_field: 1\n",
		"{\"version\": 1, \"rules\": [{\"id\": \"r\", \"type\": \"correlation\", \"severity\": 1, \"match\": {\"keywords\": [\"x\"]}}]}", // no key
	}
	for _, b := range bad {
		if _, err := ParseCatalog([]byte(b)); err == nil {
			t.Errorf("ParseCatalog(%q) accepted", b)
		}
	}
}

// TestStateRestore splits a faulty log in two, saves and restores the
// engine at the split, and expects the very same detections (ids included)
// as one uninterrupted run.
func TestStateRestore(t *testing.T) {
	log := loggen.Generate(loggen.Config{Seed: 21, VMs: 30, Ops: true, Duration: time.Hour,
		Faults: loggen.Faults{BrokenOff: 2, Slow: 2, BruteForce: 2, Silent: true, Orphans: true}})
	lines := texts(log)
	cat := loadDefault(t)
	whole, _ := NewEngine(cat, Options{})
	want := runEngine(t, whole, lines)

	for _, split := range []int{1, len(lines) / 3, len(lines) / 2} {
		p := &Parser{Reference: time.Date(2017, 5, 17, 0, 0, 0, 0, time.UTC)}
		var got []Detection
		e, _ := NewEngine(cat, Options{})
		for i, l := range lines {
			if i == split {
				st, err := e.SaveState()
				if err != nil {
					t.Fatal(err)
				}
				e, _ = NewEngine(loadDefault(t), Options{})
				if err := e.RestoreState(st); err != nil {
					t.Fatal(err)
				}
			}
			r, _ := p.ParseOrRaw([]byte(l))
			r.Seq = uint64(i + 1)
			got = append(got, e.Process(&r)...)
		}
		got = append(got, e.Flush()...)
		if len(got) != len(want) {
			t.Fatalf("split %d: %d detections, want %d", split, len(got), len(want))
		}
		for i := range got {
			if got[i].DetectionID != want[i].DetectionID {
				t.Fatalf("split %d: detection %d is %s %s, want %s %s", split, i, got[i].Kind, got[i].ID, want[i].Kind, want[i].ID)
			}
		}
	}
	// Another catalogue's state is refused.
	other, _ := NewEngine(&Catalog{Version: 1}, Options{})
	st, _ := whole.SaveState()
	if err := other.RestoreState(st); err != ErrStateCatalog {
		t.Errorf("restore under another catalogue: %v", err)
	}
}
