package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/crypto"
	"github.com/hisoka-project/hisoka/tenantclient"
)

func TestParseJournal(t *testing.T) {
	good, err := os.ReadFile("testdata/journal.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	es, err := parseJournal(bytes.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	// Seven entries: the blank line is skipped and the torn last line (a
	// write cut short) dropped.
	if len(es) != 7 || es[6].Failure == nil || es[5].Failure.Classes[1] != "tampered" {
		t.Fatalf("%d entries: %+v", len(es), es)
	}
	n := `{"subscription":"s","pattern":"p","resource":"r","period":1,"seq":1,"epoch":1,"counter":0,"start":"2026-01-01T00:00:00Z","end":"2026-01-01T00:00:00Z","severity":1,"count":1}`
	f := `{"classes":["tampered"],"message":"m"}`
	for _, c := range []struct{ name, in string }{
		{"not JSON", "hello\n"},
		{"an array", "[]\n"},
		{"unknown field", `{"at":"2026-01-01T00:00:00Z","failure":` + f + `,"token":"x"}` + "\n"},
		{"two objects on a line", `{"at":"2026-01-01T00:00:00Z","failure":` + f + `} {}` + "\n"},
		{"neither entry", `{"at":"2026-01-01T00:00:00Z"}` + "\n"},
		{"both entries", `{"at":"2026-01-01T00:00:00Z","notification":` + n + `,"failure":` + f + `}` + "\n"},
		{"no time", `{"failure":` + f + `}` + "\n"},
		{"a failure without a class", `{"at":"2026-01-01T00:00:00Z","failure":{"classes":[],"message":"m"}}` + "\n"},
		{"a failure message too long", `{"at":"2026-01-01T00:00:00Z","failure":{"classes":["x"],"message":"` + strings.Repeat("m", maxFailureMessage+1) + `"}}` + "\n"},
		{"a line too long", strings.Repeat(" ", maxJournalLine+1) + "\n"},
		{"a bad line before good ones", "x\n" + string(good)},
	} {
		if es, err := parseJournal(strings.NewReader(c.in)); !errors.Is(err, errJournal) || es != nil {
			t.Errorf("%s: %v, %v", c.name, es, err)
		}
	}
}

func TestJournal(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile("testdata/journal.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, JournalFile), good, 0o600); err != nil {
		t.Fatal(err)
	}
	j, err := openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	ns, fs := everything(j)
	// The notification delivered twice (after a crash) is shown once; the
	// consecutive identical failures are merged.
	if len(ns) != 2 || ns[0].Pattern != "rule.ssh-root" || ns[1].Pattern != "vm.create" {
		t.Fatalf("notifications %+v", ns)
	}
	if len(fs) != 3 || fs[2].Count != 2 || !fs[2].First.Before(fs[2].Last) || fs[1].Count != 1 || fs[0].Count != 1 {
		t.Fatalf("failures %+v", fs)
	}

	// Appending: a new notification, one already there, a transport error
	// (not kept) and a verification failure.
	at := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	fresh := tenantclient.Notification{Subscription: "vm.delete@x", Pattern: "vm.delete", Resource: "x", Params: []crypto.Param{{Name: "a", Value: "b"}}, Period: 10, Seq: 9, Epoch: 498703, Start: at, End: at, Severity: 3, Count: 4}
	for _, err := range []error{
		j.addNotification(at, fresh),
		j.addNotification(at, ns[0].Notification),
		j.addFailure(at, errors.New("dial tcp: connection refused")),
		j.addFailure(at, fmt.Errorf("%w: %w", tenantclient.ErrReplayed, crypto.ErrBatchReplayed)),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, JournalFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("journal file %v %v", fi, err)
	}
	again, err := openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	ns, fs = everything(again)
	if len(ns) != 3 || ns[0].Subscription != "vm.delete@x" || !ns[0].At.Equal(at) || ns[0].Params[0].Value != "b" {
		t.Fatalf("after appending: %+v", ns)
	}
	if len(fs) != 4 || fs[0].Classes[0] != "replayed" || !strings.Contains(fs[0].Message, "replayed") {
		t.Fatalf("after appending: %+v", fs)
	}
	if newest, total, _ := again.recent(2); total != 3 || len(newest) != 2 || newest[0].Subscription != "vm.delete@x" || newest[1].Pattern != "rule.ssh-root" {
		t.Fatalf("recent(2) = %+v of %d", newest, total)
	}
	if got := again.received(); len(got) != 3 || got["vm.delete@x"] != 1 || got["rule.ssh-root@*"] != 1 {
		t.Fatalf("received %v", got)
	}

	// A journal for a command that only appends (poll) does not read the
	// file; a duplicate line it writes is dropped when loading.
	if err := journalAt(dir).addNotification(at, fresh); err != nil {
		t.Fatal(err)
	}
	if j, err := openJournal(dir); err != nil || len(j.notifications) != 3 {
		t.Fatalf("duplicate kept: %v", err)
	}
}

// everything returns every notification and failure, newest first.
func everything(j *journal) ([]journaledNotification, []failure) {
	ns, _, fs := j.recent(math.MaxInt)
	return ns, fs
}

func TestFailureClasses(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("%w: %w", tenantclient.ErrTampered, crypto.ErrBatchSignature), "tampered"},
		{errors.Join(fmt.Errorf("%w: x", tenantclient.ErrWithheld), fmt.Errorf("%w: y", tenantclient.ErrTampered)), "tampered withheld"},
		{tenantclient.ErrKeyMismatch, "key mismatch"},
		{fmt.Errorf("x: %w", tenantclient.ErrLogForked), "forked log"},
		{tenantclient.ErrUnauthenticated, ""},
		{errors.New("connection refused"), ""},
	} {
		got := failureClasses(c.err)
		if strings.Join(got, " ") != c.want && !(len(got) == 2 && got[1]+" "+got[0] == c.want) {
			t.Errorf("failureClasses(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abcdef", 3, "abc"},
		{"ab€", 4, "ab"}, // € is three bytes: not cut in the middle
		{"a\xffb", 5, "a?b"},
	} {
		if got := truncate(c.in, c.n); got != c.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

// FuzzParseJournal: no panic, nil on error, every entry is exactly one of a
// notification or a failure with a time, and the entries written out again
// parse to the same.
func FuzzParseJournal(f *testing.F) {
	good, err := os.ReadFile("testdata/journal.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte("\n\n"))
	f.Add([]byte(`{"at":"2026-01-01T00:00:00Z","failure":{"classes":["x"],"message":"\u00ff"}}` + "\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := parseJournal(bytes.NewReader(b))
		if err != nil {
			if es != nil {
				t.Fatal("entries with an error")
			}
			return
		}
		var out bytes.Buffer
		for _, e := range es {
			if (e.Notification == nil) == (e.Failure == nil) || e.At.IsZero() {
				t.Fatalf("entry %+v", e)
			}
			if e.Failure != nil && len(e.Failure.Classes) == 0 {
				t.Fatalf("failure %+v", e.Failure)
			}
			line, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			out.Write(append(line, '\n'))
		}
		again, err := parseJournal(&out)
		if err != nil || len(again) != len(es) {
			t.Fatalf("written again: %d entries, %v", len(again), err)
		}
	})
}
