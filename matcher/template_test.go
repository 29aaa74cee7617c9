package matcher

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hisoka-project/hisoka/internal/loggen"
)

// groupingAccuracy is the ICSE'19 log-parsing benchmark measure: the share
// of lines whose mined group is exactly their ground-truth group.
func groupingAccuracy(got []string, truth []string) float64 {
	gotGroups := map[string][]int{}
	truthGroups := map[string][]int{}
	for i := range got {
		gotGroups[got[i]] = append(gotGroups[got[i]], i)
		truthGroups[truth[i]] = append(truthGroups[truth[i]], i)
	}
	correct := 0
	for _, lines := range gotGroups {
		tg := truthGroups[truth[lines[0]]]
		if len(tg) != len(lines) {
			continue
		}
		same := true
		for _, i := range lines {
			if truth[i] != truth[lines[0]] {
				same = false
				break
			}
		}
		if same {
			correct += len(lines)
		}
	}
	return float64(correct) / float64(len(got))
}

func TestMinerGroupingOnGeneratedLogs(t *testing.T) {
	for _, syslog := range []bool{false, true} {
		log := loggen.Generate(loggen.Config{Seed: 7, VMs: 30, Ops: true, Syslog: syslog, Faults: loggen.Faults{BrokenOff: 1, Slow: 1, IptablesFlush: 1, BridgeDown: 1, Unscheduled: 1}})
		p := &Parser{}
		m := NewMiner()
		idx := make([]int32, len(log.Lines))
		truth := make([]string, len(log.Lines))
		for i, ln := range log.Lines {
			r, _ := p.ParseOrRaw([]byte(ln.Text))
			idx[i] = m.Add(r.Message)
			truth[i] = ln.Event
		}
		got := make([]string, len(idx))
		for i, x := range idx {
			got[i] = m.Template(x).ID
		}
		// ssh.failed lines differ in words (user names) that are too few to
		// become a placeholder; everything else must group exactly.
		acc := groupingAccuracy(got, truth)
		if acc < 0.95 {
			t.Errorf("syslog=%v: grouping accuracy %.3f, want >= 0.95", syslog, acc)
		}
	}
}

func TestMinerTemplates(t *testing.T) {
	m := NewMiner()
	lines := []string{
		"[instance: b9000564-fe1a-409b-b8cc-1e88b294cd1d] Took 19.84 seconds to spawn the instance on the hypervisor.",
		"[instance: 96abccce-8d1f-4e07-b6d1-4b2ab87e23b4] Took 0.57 seconds to destroy the instance on the hypervisor.",
		"[instance: 96abccce-8d1f-4e07-b6d1-4b2ab87e23b4] Took 20.01 seconds to spawn the instance on the hypervisor.",
		`10.11.10.1 "GET /v2/54fadb412c4e40cdbaed9335e4c35a9e/servers/detail HTTP/1.1" status: 200 len: 1893 time: 0.2477829`,
		`10.11.10.1 "GET /v2/e9746973ac574c6b8a9e8857f56a7608/servers/detail?changes-since=2017 HTTP/1.1" status: 200 len: 1583 time: 0.19`,
		`10.11.10.1 "POST /v2/e9746973ac574c6b8a9e8857f56a7608/os-server-external-events HTTP/1.1" status: 200 len: 380 time: 0.0913219`,
		"Final resource view: name=cp-1.slowvm1.tcloud-pg0.utah.cloudlab.us phys_ram=64172MB used_ram=2560MB phys_disk=15GB used_disk=20GB total_vcpus=16 used_vcpus=1 pci_stats=[]",
	}
	var ids []int32
	for _, l := range lines {
		ids = append(ids, m.Add([]byte(l)))
	}
	want := []string{
		"[instance: <UUID>] Took <NUM> seconds to spawn the instance on the hypervisor.",
		"[instance: <UUID>] Took <NUM> seconds to destroy the instance on the hypervisor.",
		"[instance: <UUID>] Took <NUM> seconds to spawn the instance on the hypervisor.",
		`<IP> "GET <PATH>" status: <NUM> len: <NUM> time: <NUM>`,
		`<IP> "GET <PATH>" status: <NUM> len: <NUM> time: <NUM>`,
		`<IP> "POST <PATH>" status: <NUM> len: <NUM> time: <NUM>`,
		"Final resource view: name=<*> phys_ram=<*> used_ram=<*> phys_disk=<*> used_disk=<*> total_vcpus=<NUM> used_vcpus=<NUM> pci_stats=[]",
	}
	for i, w := range want {
		if got := m.Template(ids[i]).Text; got != w {
			t.Errorf("line %d: template %q, want %q", i, got, w)
		}
	}
	if ids[0] != ids[2] || ids[3] != ids[4] || ids[0] == ids[1] || ids[3] == ids[5] {
		t.Errorf("grouping wrong: %v", ids)
	}
	// Ids depend on content only.
	m2 := NewMiner()
	if id := m2.Template(m2.Add([]byte(lines[1]))).ID; id != m.Template(ids[1]).ID {
		t.Errorf("template id not stable across miners: %s vs %s", id, m.Template(ids[1]).ID)
	}
}

// TestMinerVariableLists: a run of variable tokens is one placeholder, so a
// list of any length (real Nova logs list one or more base files) is one
// template, while key=value runs keep their keys.
func TestMinerVariableLists(t *testing.T) {
	m := NewMiner()
	a := m.Add([]byte("Active base files: /var/lib/nova/instances/_base/a489c868f0c37da93b76227c91bb03908ac0e742"))
	b := m.Add([]byte("Active base files: /var/lib/nova/instances/_base/0522bc602608d45758d815b01a6899ff3e1e3e27 /var/lib/nova/instances/_base/dc1ed4ad70a573f2acea085b068b61f3cb99e195"))
	if a != b || m.Template(a).Text != "Active base files: <PATH>" {
		t.Fatalf("lists not grouped: %d %d %q", a, b, m.Template(a).Text)
	}
	c := m.Add([]byte("Final resource view: name=cp-1 phys_ram=64172MB used_ram=2560MB"))
	if got := m.Template(c).Text; got != "Final resource view: name=<*> phys_ram=<*> used_ram=<*>" {
		t.Fatalf("key=value run %q", got)
	}
	// The catalogue side compiles the same way.
	if got := strings.Join(compileTemplate("Active base files: <PATH> <PATH>"), " "); got != "Active base files: <*>" {
		t.Fatalf("compiled %q", got)
	}
	if !templateMatches(compileTemplate("Active base files: <PATH> <PATH>"), m.tmpls[a]) {
		t.Fatal("catalogue template with a list does not match the mined one")
	}
}

func TestMinerWordPositionBecomesPlaceholder(t *testing.T) {
	m := NewMiner()
	var first int32 = -1
	for i := 0; i < DefaultMergeValues; i++ {
		idx := m.Add([]byte(fmt.Sprintf("Invalid user name%c from 173.234.31.186", 'a'+i)))
		if first < 0 {
			first = idx
		}
	}
	// Few distinct values stayed apart; the eighth merged them all.
	last := m.Add([]byte("Invalid user zed from 10.0.0.1"))
	if m.Resolve(first) != last {
		t.Fatalf("word position not merged: first %d last %d", m.Resolve(first), last)
	}
	if got := m.Template(last).Text; got != "Invalid user <*> from <IP>" {
		t.Fatalf("template %q", got)
	}
	if n := len(m.Templates()); n != 1 {
		t.Fatalf("%d live templates, want 1", n)
	}
	// Below the threshold, enumerations stay distinct (VM Started/Stopped...).
	m = NewMiner()
	a := m.Add([]byte("[instance: b9000564-fe1a-409b-b8cc-1e88b294cd1d] VM Started (Lifecycle Event)"))
	b := m.Add([]byte("[instance: b9000564-fe1a-409b-b8cc-1e88b294cd1d] VM Stopped (Lifecycle Event)"))
	if a == b {
		t.Fatal("VM Started and VM Stopped merged")
	}
}

// TestMinerTypedValueMakesWordSlot: a position that holds a typed value
// (here a number) in one line and a word in otherwise alike lines is a
// parameter slot at once, whichever comes first, and across a state restore.
func TestMinerTypedValueMakesWordSlot(t *testing.T) {
	for _, order := range [][]string{
		{"Invalid user admin from 103.99.0.122", "Invalid user 1234 from 103.99.0.122", "Invalid user guest from 10.0.0.1"},
		{"Invalid user 1234 from 103.99.0.122", "Invalid user admin from 103.99.0.122", "Invalid user guest from 10.0.0.1"},
	} {
		for _, restore := range []bool{false, true} {
			m := NewMiner()
			a := m.Add([]byte(order[0]))
			if restore {
				st, err := m.MarshalJSON()
				if err != nil {
					t.Fatal(err)
				}
				m = NewMiner()
				if err := m.UnmarshalJSON(st); err != nil {
					t.Fatal(err)
				}
			}
			b := m.Add([]byte(order[1]))
			c := m.Add([]byte(order[2]))
			if m.Resolve(a) != b || b != c {
				t.Fatalf("%q (restore %v): templates %d %d %d", order, restore, m.Resolve(a), b, c)
			}
			if got := m.Template(c).Text; got != "Invalid user <*> from <IP>" {
				t.Fatalf("template %q", got)
			}
		}
	}
	// Words alone still need DefaultMergeValues distinct values.
	m := NewMiner()
	a := m.Add([]byte("Invalid user admin from 103.99.0.122"))
	b := m.Add([]byte("Invalid user guest from 103.99.0.122"))
	if a == b {
		t.Fatal("two words merged without a typed value")
	}
}

// TestMinerDatesAndEmptyValues: a date written with weekday and month
// names is one value, and an empty "()" is an empty value, so the lines
// below have one shape.
func TestMinerDatesAndEmptyValues(t *testing.T) {
	m := NewMiner()
	a := m.Add([]byte("connection from 24.54.76.216 (24-54-76-216.bflony.adelphia.net) at Fri Jun 17 07:07:00 2005"))
	b := m.Add([]byte("connection from 222.33.90.199 () at Mon Jun 20 03:40:59 2005"))
	c := m.Add([]byte("connection from 210.245.165.136 () at Wed Jul 22 13:16:30 2005"))
	if m.Resolve(a) != m.Resolve(b) || m.Resolve(b) != c {
		t.Fatalf("templates %d %d %d", m.Resolve(a), m.Resolve(b), c)
	}
	if got := m.Template(c).Text; got != "connection from <*>) at <*>" {
		t.Fatalf("template %q", got)
	}
	// A month name not followed by a number stays a word.
	m = NewMiner()
	if got := m.Template(m.Add([]byte("May retry later"))).Text; got != "May retry later" {
		t.Fatalf("template %q", got)
	}
}

func TestGlobToken(t *testing.T) {
	tests := []struct {
		pat, s string
		want   bool
	}{
		{"<*>", "<UUID>]", true},
		{"<UUID>]", "<UUID>]", true},
		{"<UUID>]", "<NUM>", false},
		{"processed=<*>", "processed=<NUM>,", true},
		{"processed=<*>", "processed=", false}, // a placeholder takes at least one byte
		{"a<b", "a<b", true},                   // not a placeholder
		{"pci_stats=<*>", "pci_stats=[]", true},
		{"word", "<*>", false},
		{strings.Repeat("<*>", 40) + "x", strings.Repeat("a", 200), false}, // no exponential backtracking
	}
	for _, tc := range tests {
		if got := globToken(tc.pat, tc.s); got != tc.want {
			t.Errorf("globToken(%q, %q) = %v, want %v", tc.pat, tc.s, got, tc.want)
		}
	}
}

func TestMinerBoundedTemplates(t *testing.T) {
	m := NewMiner()
	m.MaxTemplates = 10
	// Two varying word positions never reach the merge threshold alone.
	for i := 0; i < 200; i++ {
		m.Add([]byte(fmt.Sprintf("user %s logged in from %s", strings.Repeat("a", i%50+1), strings.Repeat("b", i/50+1))))
	}
	if n := m.Len(); n > 11 {
		t.Fatalf("%d templates, want at most the limit and one catch-all", n)
	}
	last := m.Template(m.Add([]byte("user zz logged in from yy")))
	if last.Text != "<*> <*> <*> <*> <*> <*>" {
		t.Fatalf("catch-all template %q", last.Text)
	}
	// A known shape still finds its own template (the first word position
	// took eight values with "b" and became a placeholder).
	if got := m.Template(m.Add([]byte("user a logged in from b"))).Text; got != "user <*> logged in from b" {
		t.Fatalf("known line mapped to %q", got)
	}
}
