package main

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hisoka-project/hisoka/matcher"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) && i < len(wl); i++ {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs at line %d:\n got: %s\nwant: %s", name, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s differs in length: got %d lines, want %d", name, len(gl), len(wl))
	}
}

const (
	faultsLog = "testdata/faults.log"
	normalLog = "testdata/normal.log"
	catalog   = "../../testdata/catalog/default.yaml"
)

func TestGenerate(t *testing.T) {
	truth := filepath.Join(t.TempDir(), "truth.jsonl")
	out, _, err := runForTest(t, "", "generate", "-seed", "3", "-vms", "4", "-duration", "12m", "-faults", "-truth", truth)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "faults.log", out)
	tr, err := os.ReadFile(truth)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "faults.truth.jsonl", string(tr))
	out, _, err = runForTest(t, "", "generate", "-seed", "4", "-vms", "12", "-duration", "20m", "-ops=false")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "normal.log", out)
}

func TestTemplates(t *testing.T) {
	out, _, err := runForTest(t, "", "templates", "-ref", "2017-05-17T00:00:00Z", faultsLog)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "templates.golden", out)
	// Standard input gives the same, one object per input line in order.
	in, _ := os.ReadFile(faultsLog)
	out2, _, err := runForTest(t, string(in), "templates", "-ref", "2017-05-17T00:00:00Z")
	if err != nil || out2 != out {
		t.Fatalf("stdin differs from file (err %v)", err)
	}
	if got, want := strings.Count(out, "\n"), strings.Count(string(in), "\n"); got != want {
		t.Fatalf("%d output lines for %d input lines", got, want)
	}
}

func TestLearn(t *testing.T) {
	out, _, err := runForTest(t, "", "learn", normalLog)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "learn.golden", out)
	if _, err := matcher.ParseCatalog([]byte(out)); err != nil {
		t.Fatalf("learned catalogue does not parse: %v", err)
	}
	dir := t.TempDir()
	for _, tc := range []struct{ file, by, want string }{
		{"p.csv", "component", "nova.compute.resource_tracker,"},
		{"p.json", "template", `"key":"`},
	} {
		if _, _, err := runForTest(t, "", "learn", "-profile", filepath.Join(dir, tc.file), "-profile-by", tc.by, normalLog); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, tc.file))
		if err != nil || !strings.Contains(string(b), tc.want) {
			t.Errorf("profile %s by %s: %v, missing %q", tc.file, tc.by, err, tc.want)
		}
	}
	y, _, err := runForTest(t, "", "learn", "-yaml", normalLog)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := matcher.ParseCatalog([]byte(y)); err != nil {
		t.Fatalf("YAML catalogue does not parse: %v", err)
	}
}

func TestMatch(t *testing.T) {
	out, stderr, err := runForTest(t, "", "match", "-catalog", catalog, "-ref", "2017-05-17T00:00:00Z", faultsLog)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "match.golden", out)
	if !strings.Contains(stderr, "unparsed 0") {
		t.Errorf("stats: %s", stderr)
	}
	for _, kind := range []string{`"kind":"pattern"`, `"kind":"incomplete"`, `"kind":"rule"`} {
		if !strings.Contains(out, kind) {
			t.Errorf("no %s detection", kind)
		}
	}
}

func TestOfflineErrors(t *testing.T) {
	tests := []struct {
		args  []string
		usage bool
	}{
		{[]string{"match", faultsLog}, true},                                    // no catalogue
		{[]string{"match", "-catalog", "testdata/nope.yaml", faultsLog}, false}, // missing catalogue
		{[]string{"match", "-catalog", faultsLog, faultsLog}, false},            // not a catalogue
		{[]string{"templates", "testdata/nope.log"}, false},                     // missing input
		{[]string{"templates", "-ref", "yesterday", faultsLog}, true},           // bad reference time
		{[]string{"learn", "-no-such-flag"}, true},
		{[]string{"learn", "-profile-by", "colour", normalLog}, true},
		{[]string{"generate", "extra"}, true},
	}
	for _, tc := range tests {
		_, _, err := runForTest(t, "", tc.args...)
		if err == nil {
			t.Errorf("%v: no error", tc.args)
			continue
		}
		if errors.Is(err, errUsage) != tc.usage {
			t.Errorf("%v: err %v, usage error %v", tc.args, err, tc.usage)
		}
	}
	_, _, err := runForTest(t, "", "match", "-catalog", faultsLog, faultsLog)
	if !errors.Is(err, matcher.ErrCatalog) {
		t.Errorf("bad catalogue: %v, want ErrCatalog", err)
	}
}
