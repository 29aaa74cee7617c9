package matcher

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const ruleCatalog = `
version: 1
patterns:
  - id: vm.stop
    resource: instance
    window: 1m
    elements:
      - template: "[instance: <UUID>] Instance shutdown successfully after <NUM> seconds."
      - template: "[instance: <UUID>] VM Stopped (Lifecycle Event)"
rules:
  - id: ssh.bruteforce
    type: frequency
    severity: 10
    compliance: [pci_dss_10.2.4]
    match: {components: [sshd], keywords: ["Failed password"]}
    key: addr
    threshold: 8
    within: 120s
  - id: source.silent
    type: absence
    severity: 7
    key: component
    intervals: 5
    min_events: 10
    min_span: 10m
  - id: service.unscheduled
    type: schedule
    severity: 6
    match: {templates: ["Caught SIGTERM, stopping children"]}
    maintenance: ["Sat,Sun 22:00-04:00", "02:00-03:00"]
    resource: component
  - id: vm.stop.unscheduled
    type: schedule
    severity: 4
    match: {patterns: [vm.stop]}
    maintenance: ["02:00-03:00"]
  - id: host.iptables_flush
    type: keyword
    severity: 12
    match: {keywords: ["iptables -F"]}
    resource: host
  - id: net.bridge_down
    type: keyword
    severity: 9
    match: {components: [kernel], keywords: ["entered disabled state"]}
    resource: host
  - id: log.error_burst
    type: frequency
    severity: 8
    match: {levels: [ERROR]}
    key: component
    threshold: 3
    within: 60s
  - id: project.orphans
    type: correlation
    severity: 9
    match: {keywords: ["DELETE http"], components: [keystone.common.wsgi]}
    key: "after:/v3/projects/"
`

func ruleEngine(t *testing.T, opt Options) *Engine {
	t.Helper()
	c, err := ParseCatalog([]byte(ruleCatalog))
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(c, opt)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func ruleHits(ds []Detection, id string) []Detection {
	var out []Detection
	for _, d := range ds {
		if d.Kind == KindRule && d.ID == id {
			out = append(out, d)
		}
	}
	return out
}

func sshLines(ip string, n int, every time.Duration) []string {
	var out []string
	t := time.Date(2017, 5, 16, 10, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		out = append(out, fmt.Sprintf("%s cp-1 sshd[%d]: Failed password for invalid user admin from %s port %d ssh2",
			t.Format(time.Stamp), 2000+i, ip, 40000+i))
		t = t.Add(every)
	}
	return out
}

func TestRuleFrequency(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  int
	}{
		{"8 failures in 70s fire once", sshLines("173.234.31.186", 8, 10*time.Second), 1},
		{"7 failures do not", sshLines("173.234.31.186", 7, 10*time.Second), 0},
		{"8 failures spread over 8 minutes do not", sshLines("173.234.31.186", 8, time.Minute), 0},
		{"16 failures fire twice", sshLines("173.234.31.186", 16, 5*time.Second), 2},
		{"4+4 from two addresses do not", append(sshLines("173.234.31.186", 4, 5*time.Second), sshLines("173.234.31.187", 4, 5*time.Second)...), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hits := ruleHits(runEngine(t, ruleEngine(t, Options{}), tc.lines), "ssh.bruteforce")
			if len(hits) != tc.want {
				t.Fatalf("%d detections, want %d", len(hits), tc.want)
			}
			if tc.want > 0 {
				d := hits[0]
				if d.Resource != "173.234.31.186" || d.Severity != 10 || d.Count != 8 || len(d.Lines) != 8 || d.Compliance[0] != "pci_dss_10.2.4" {
					t.Errorf("detection %+v", d)
				}
			}
		})
	}
	// Error bursts: the same rule type keyed by component and level.
	var errs []string
	for i := 0; i < 3; i++ {
		errs = append(errs, fmt.Sprintf("2017-05-16 10:00:0%d.000 1 ERROR nova.compute.manager [-] Error updating resources for node cp-%d.", i, i))
	}
	if n := len(ruleHits(runEngine(t, ruleEngine(t, Options{}), errs), "log.error_burst")); n != 1 {
		t.Errorf("error burst: %d detections, want 1", n)
	}
	if n := len(ruleHits(runEngine(t, ruleEngine(t, Options{}), errs[:2]), "log.error_burst")); n != 0 {
		t.Errorf("two errors: %d detections, want 0", n)
	}
}

func TestRuleAbsence(t *testing.T) {
	steady := func(n int, from time.Time, every time.Duration, jitter bool) []string {
		var out []string
		t := from
		for i := 0; i < n; i++ {
			out = append(out, t.Format("2006-01-02 15:04:05.000")+" 7 INFO cinder.volume.manager [-] Updating volume status")
			d := every
			if jitter && i%2 == 1 {
				d = every / 10 // bursty, not steady
			}
			t = t.Add(d)
		}
		return out
	}
	start := time.Date(2017, 5, 16, 10, 0, 0, 0, time.UTC)
	clock := func(from time.Time, n int) []string {
		var out []string
		for i := 0; i < n; i++ {
			out = append(out, from.Add(time.Duration(i)*10*time.Second).Format("2006-01-02 15:04:05.000")+" 9 INFO nova.osapi_compute.wsgi.server [-] tick")
		}
		return out
	}
	// Steady every 60s for 15 minutes, then silent while another source keeps the clock going.
	lines := append(steady(15, start, time.Minute, false), clock(start.Add(15*time.Minute), 60)...)
	hits := ruleHits(runEngine(t, ruleEngine(t, Options{}), lines), "source.silent")
	if len(hits) != 1 || hits[0].Resource != "cinder.volume.manager" {
		t.Fatalf("silent source: %+v", hits)
	}
	if got := hits[0].End.Sub(hits[0].Start); got < 5*time.Minute || got > 6*time.Minute {
		t.Errorf("fired after %v of silence, want about 5 intervals", got)
	}
	// Negative: it keeps logging; or it was never steady; or too few events.
	for name, ls := range map[string][]string{
		"keeps logging": steady(40, start, time.Minute, false),
		"bursty":        append(steady(15, start, time.Minute, true), clock(start.Add(15*time.Minute), 60)...),
		"too few":       append(steady(5, start, time.Minute, false), clock(start.Add(5*time.Minute), 60)...),
		"short burst":   append(steady(12, start, 3*time.Second, false), clock(start.Add(time.Minute), 60)...),
	} {
		if n := len(ruleHits(runEngine(t, ruleEngine(t, Options{}), ls), "source.silent")); n != 0 {
			// the clock source itself is steady but never silent
			t.Errorf("%s: %d detections, want 0", name, n)
		}
	}
}

func TestRuleSchedule(t *testing.T) {
	line := func(ts string) string {
		return ts + " 7 INFO oslo_service.service [-] Caught SIGTERM, stopping children"
	}
	tests := []struct {
		name string
		line string
		opt  Options
		want int
	}{
		{"weekday afternoon: unscheduled", line("2017-05-16 14:00:00.000"), Options{}, 1}, // Tuesday
		{"daily window", line("2017-05-16 02:30:00.000"), Options{}, 0},                   // 02:00-03:00
		{"weekend window crossing midnight, Saturday night", line("2017-05-20 23:00:00.000"), Options{}, 0},
		{"weekend window crossing midnight, Monday early", line("2017-05-22 01:00:00.000"), Options{}, 0}, // opened Sunday 22:00
		{"weekend window not on Tuesday night", line("2017-05-16 23:00:00.000"), Options{}, 1},
		{"declared absolute window", line("2017-05-16 14:00:00.000"), Options{Maintenance: []TimeRange{{
			Start: time.Date(2017, 5, 16, 13, 0, 0, 0, time.UTC), End: time.Date(2017, 5, 16, 15, 0, 0, 0, time.UTC)}}}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hits := ruleHits(runEngine(t, ruleEngine(t, tc.opt), []string{tc.line}), "service.unscheduled")
			if len(hits) != tc.want {
				t.Fatalf("%d detections, want %d", len(hits), tc.want)
			}
			if tc.want == 1 && hits[0].Resource != "oslo_service.service" {
				t.Errorf("resource %q", hits[0].Resource)
			}
		})
	}
	// A schedule rule on a pattern fires when the pattern completes.
	inst := "b9000564-fe1a-409b-b8cc-1e88b294cd1d"
	stop := func(ts string) []string {
		return []string{
			ts + ".000 7 INFO nova.virt.libvirt.driver [req-3ea4052c-895d-4b64-9e2d-04d64c4d94ab 113d3a99c3da401fbd62cc2caa5b96d2 54fadb412c4e40cdbaed9335e4c35a9e - - -] [instance: " + inst + "] Instance shutdown successfully after 3 seconds.",
			ts + ".300 7 INFO nova.compute.manager [req-11111111-895d-4b64-9e2d-04d64c4d94ab - - - - -] [instance: " + inst + "] VM Stopped (Lifecycle Event)",
		}
	}
	ds := runEngine(t, ruleEngine(t, Options{}), stop("2017-05-16 14:00:00"))
	if h := ruleHits(ds, "vm.stop.unscheduled"); len(h) != 1 || h[0].Resource != inst || h[0].Tenant != "54fadb412c4e40cdbaed9335e4c35a9e" {
		t.Errorf("pattern schedule: %+v", h)
	}
	if h := ruleHits(runEngine(t, ruleEngine(t, Options{}), stop("2017-05-16 02:10:00")), "vm.stop.unscheduled"); len(h) != 0 {
		t.Errorf("pattern inside maintenance fired: %+v", h)
	}
}

func TestRuleKeyword(t *testing.T) {
	tests := []struct {
		rule, line string
		want       int
	}{
		{"host.iptables_flush", "May 16 10:00:00 cp-1 sudo:     root : TTY=pts/0 ; PWD=/root ; USER=root ; COMMAND=/sbin/iptables -F", 1},
		{"host.iptables_flush", "May 16 10:00:00 cp-1 sudo:     root : TTY=pts/0 ; PWD=/root ; USER=root ; COMMAND=/sbin/iptables -L", 0},
		{"net.bridge_down", "May 16 10:00:00 cp-1 kernel: [80123.000001] brq1a2b3c4d-5e: port 1(tap1a2b3c4d-5e) entered disabled state", 1},
		{"net.bridge_down", "May 16 10:00:00 cp-1 kernel: [80123.000001] brq1a2b3c4d-5e: port 1(tap1a2b3c4d-5e) entered forwarding state", 0},
		// The keyword from another program does not count for a component-bound rule.
		{"net.bridge_down", "May 16 10:00:00 cp-1 myapp: entered disabled state", 0},
	}
	for _, tc := range tests {
		hits := ruleHits(runEngine(t, ruleEngine(t, Options{}), []string{tc.line}), tc.rule)
		if len(hits) != tc.want {
			t.Errorf("%s on %q: %d detections, want %d", tc.rule, tc.line, len(hits), tc.want)
		}
		if tc.want == 1 && hits[0].Resource != "cp-1" {
			t.Errorf("%s: resource %q, want the host", tc.rule, hits[0].Resource)
		}
	}
}

func TestRuleCorrelation(t *testing.T) {
	const proj = "54fadb412c4e40cdbaed9335e4c35a9e"
	ctxLine := func(ts, inst, msg string) string {
		return ts + " 7 INFO nova.compute.manager [req-3ea4052c-895d-4b64-9e2d-04d64c4d94ab 113d3a99c3da401fbd62cc2caa5b96d2 " + proj + " - - -] [instance: " + inst + "] " + msg
	}
	del := "2017-05-16 10:10:00.000 3 INFO keystone.common.wsgi [req-9ea4052c-895d-4b64-9e2d-04d64c4d94ab 113d3a99c3da401fbd62cc2caa5b96d2 aaaadb412c4e40cdbaed9335e4c35a9e - - -] DELETE http://controller:35357/v3/projects/" + proj
	a, b := "b9000564-fe1a-409b-b8cc-1e88b294cd1d", "c9000564-fe1a-409b-b8cc-1e88b294cd1d"
	lines := []string{ctxLine("2017-05-16 10:00:00.000", b, "Claim successful"), ctxLine("2017-05-16 10:00:01.000", a, "Claim successful"), del}
	hits := ruleHits(runEngine(t, ruleEngine(t, Options{}), lines), "project.orphans")
	if len(hits) != 1 || hits[0].Resource != proj || hits[0].Tenant != proj || strings.Join(hits[0].Related, ",") != a+","+b {
		t.Fatalf("orphans: %+v", hits)
	}
	// Negative: a project without instances, and one whose instances were deleted.
	if n := len(ruleHits(runEngine(t, ruleEngine(t, Options{}), []string{del}), "project.orphans")); n != 0 {
		t.Errorf("empty project: %d detections", n)
	}
	c, _ := ParseCatalog([]byte(ruleCatalog + `
  - id: unused
    type: keyword
    severity: 1
    match: {keywords: ["never appears"]}
`))
	c.Patterns = append(c.Patterns, Pattern{ID: "vm.delete", Resource: "instance", Tenant: "project", Effect: "delete", Window: Duration(time.Minute),
		Elements: []Element{{Template: "[instance: <UUID>] Terminating instance"}}})
	e, err := NewEngine(c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	lines = []string{ctxLine("2017-05-16 10:00:00.000", a, "Claim successful"), ctxLine("2017-05-16 10:05:00.000", a, "Terminating instance"), del}
	if n := len(ruleHits(runEngine(t, e, lines), "project.orphans")); n != 0 {
		t.Errorf("deleted instances still counted: %d detections", n)
	}
}

// TestComponentPatternAndAdvance covers the paper's resource-less patterns
// (elements named by component), similarity below the threshold, and
// closing windows with Advance when no line arrives.
func TestComponentPatternAndAdvance(t *testing.T) {
	c, err := ParseCatalog([]byte(`
version: 1
patterns:
  - id: cinder.start
    window: 1m
    threshold: 0.9
    elements:
      - {component: cinder.service, count: 2}
      - {component: cinder.keymgr.conf_key_mgr}
      - template: "Channel open"
`))
	if err != nil {
		t.Fatal(err)
	}
	line := func(sec int, comp, msg string) string {
		return fmt.Sprintf("2014-12-12 11:35:%02d.234 %s [-] %s", sec, comp, msg)
	}
	full := []string{
		line(1, "cinder.service", "Starting cinder-scheduler node"),
		line(1, "cinder.service", "log: [P]"),
		line(2, "amqp", "Open OK!"), // interleaved
		line(2, "cinder.keymgr.conf_key_mgr", "keymgr : database :"),
		line(3, "amqp", "Channel open"),
	}
	e, _ := NewEngine(c, Options{})
	ds := runEngine(t, e, full)
	if len(ds) == 0 || ds[0].Kind != KindPattern || ds[0].Similarity != 1 || !slicesEqual(ds[0].Lines, []uint64{1, 2, 4, 5}) {
		t.Fatalf("component pattern: %+v", ds)
	}
	// Missing the key manager line: completes below the 0.9 threshold.
	e, _ = NewEngine(c, Options{})
	ds = runEngine(t, e, []string{full[0], full[1], full[4]})
	if len(ds) == 0 || ds[0].Kind != KindIncomplete || ds[0].Reason != ReasonDissimilar || ds[0].Similarity != 0.75 {
		t.Fatalf("dissimilar: %+v", ds)
	}
	// Started, then nothing: Advance past the window reports it broken off.
	e, _ = NewEngine(c, Options{})
	p := &Parser{}
	for _, l := range full[:2] {
		r, _ := p.ParseOrRaw([]byte(l))
		if d := e.Process(&r); len(d) != 0 {
			t.Fatalf("early detection %+v", d)
		}
	}
	start := e.Now()
	if d := e.Advance(start.Add(30 * time.Second)); len(d) != 0 {
		t.Fatalf("reported before its window closed: %+v", d)
	}
	d := e.Advance(start.Add(2 * time.Minute))
	var broken []Detection
	for _, x := range d {
		if x.Kind == KindIncomplete {
			broken = append(broken, x)
		}
	}
	if len(broken) != 1 || broken[0].Reason != ReasonBrokenOff || broken[0].Count != 2 {
		t.Fatalf("advance: %+v", d)
	}
}

func slicesEqual(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The absence check skips a rule's sources until one can be silent; it
// must still fire on the first tick past intervals × mean.
func TestRuleAbsenceFirstTick(t *testing.T) {
	start := time.Date(2017, 5, 16, 10, 0, 0, 0, time.UTC)
	var lines []string
	for i := 0; i < 15; i++ {
		lines = append(lines, start.Add(time.Duration(i)*time.Minute).Format("2006-01-02 15:04:05.000")+" 7 INFO cinder.volume.manager [-] Updating volume status")
	}
	last := start.Add(14 * time.Minute)
	for i := 1; i <= 400; i++ {
		lines = append(lines, last.Add(time.Duration(i)*time.Second).Format("2006-01-02 15:04:05.000")+" 9 INFO nova.osapi_compute.wsgi.server [-] tick")
	}
	hits := ruleHits(runEngine(t, ruleEngine(t, Options{}), lines), "source.silent")
	if len(hits) != 1 || !hits[0].Start.Equal(last) || !hits[0].End.Equal(last.Add(301*time.Second)) {
		t.Fatalf("silent source: %+v, want one from %v to %v", hits, last, last.Add(301*time.Second))
	}
}
