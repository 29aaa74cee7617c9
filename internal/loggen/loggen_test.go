package loggen

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestDeterministic(t *testing.T) {
	cfg := Config{Seed: 42, VMs: 10, Ops: true, Faults: Faults{BrokenOff: 1, Slow: 1, BruteForce: 1, Orphans: true}}
	var a, b bytes.Buffer
	if _, err := Generate(cfg).WriteTo(&a); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(cfg).WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Fatal("same seed, different logs")
	}
	cfg.Seed = 43
	var c bytes.Buffer
	Generate(cfg).WriteTo(&c)
	if a.String() == c.String() {
		t.Fatal("different seeds, same log")
	}
}

func TestLinesOrderedAndTruthComplete(t *testing.T) {
	cfg := Config{Seed: 1, VMs: 15, Ops: true, Duration: time.Hour,
		Faults: Faults{BrokenOff: 2, Slow: 2, BruteForce: 1, IptablesFlush: 1, BridgeDown: 1, Silent: true, Orphans: true, Unscheduled: 1}}
	log := Generate(cfg)
	for i := 1; i < len(log.Lines); i++ {
		if log.Lines[i].Time.Before(log.Lines[i-1].Time) {
			t.Fatalf("line %d out of order", i)
		}
	}
	count := map[string]int{}
	for _, tr := range log.Truth {
		count[tr.Kind+" "+tr.ID+" "+tr.Reason]++
	}
	want := map[string]int{
		"incomplete vm.create broken_off": 2, "incomplete vm.create slow": 2, "pattern vm.create ": 11 + 1, // +1: the orphan's VM
		"rule ssh.bruteforce ": 1, "rule host.iptables_flush ": 1, "rule net.bridge_down ": 1, "rule source.silent ": 1,
		"rule project.orphans ": 1, "rule service.unscheduled ": 2,
	}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%s: %d in truth, want %d", k, count[k], n)
		}
	}
	for _, l := range log.Lines {
		if l.Event == "" || strings.ContainsAny(l.Text, "\n\r") {
			t.Fatalf("bad line %q", l.Text)
		}
	}
}

func TestSyslogWrapping(t *testing.T) {
	log := Generate(Config{Seed: 1, VMs: 2, Syslog: true, Duration: 5 * time.Minute})
	var n3164, n5424 int
	for _, l := range log.Lines {
		switch {
		case strings.HasPrefix(l.Text, "<134>1 "):
			n5424++
		case strings.HasPrefix(l.Text, "<134>"):
			n3164++
		}
	}
	if n3164 == 0 || n5424 == 0 {
		t.Fatalf("wrapped lines: %d RFC 3164, %d RFC 5424", n3164, n5424)
	}
}
