package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/internal/browser"
	"github.com/hisoka-project/hisoka/spec"
)

// TestConsoleInBrowser is issue 8's console acceptance: headless Chromium
// (Debian package chromium) against a running server holding generated
// platform logs signs in with an operator token, opens the heatmap, zooms
// into a learned burst, opens a pattern and an anomaly, and checks what is
// shown; the page loads no blocked resource and breaks no CSP rule (the
// harness fails the test on any console error). A screenshot of each page
// is written to $HISOKA_ARTIFACTS (default: a temporary directory that the
// test removes), named TestConsoleInBrowser-<page>.png.
func TestConsoleInBrowser(t *testing.T) {
	l := startLive(t)
	consoleWorld(l, 3*time.Hour, 12)
	b := browser.New(t)

	// Any page sends a browser without a session to the sign-in form.
	if st := b.Open(l.url + "/ui/heatmap"); st != 200 || !strings.HasSuffix(b.URL(), "/ui/signin") {
		t.Fatalf("without a session: %d at %s", st, b.URL())
	}
	b.Screenshot("signin")
	b.Fill("#token", l.op)
	if st := b.Submit("#signin"); st != 200 || !strings.HasSuffix(b.URL(), "/ui/heatmap") {
		t.Fatalf("sign-in: %d at %s", st, b.URL())
	}

	// The heatmap: components as rows, learned bursts outlined.
	if n := b.Count("#heatmap tbody tr"); n < 5 {
		t.Errorf("heatmap has %d component rows", n)
	}
	heat := b.Text("#heatmap")
	for _, comp := range []string{"nova.compute.manager", "nova.osapi_compute.wsgi.server"} {
		if !strings.Contains(heat, comp) {
			t.Errorf("heatmap does not show %s", comp)
		}
	}
	if n := b.Count("#heatmap tr.bursts td.b"); n == 0 {
		t.Error("heatmap shows no learned burst")
	}
	if n := b.Count("#heatmap tbody td.b"); n == 0 {
		t.Error("heatmap outlines no burst window")
	}
	b.Screenshot("heatmap")

	// Zoom into a burst: its lines per component and their templates.
	if st := b.Click("#heatmap tr.bursts td.b a"); st != 200 || !strings.Contains(b.URL(), "/ui/window?") {
		t.Fatalf("zoom: %d at %s", st, b.URL())
	}
	if txt := b.Text("#detections"); !strings.Contains(txt, "vm.") {
		t.Errorf("the burst's window lists no VM pattern: %q", txt)
	}
	if n := b.Count("#zoom tbody tr"); n == 0 {
		t.Error("the window shows no component")
	}
	if txt := b.Text("#templates"); !strings.Contains(txt, "<UUID>") {
		t.Errorf("the window shows no mined template: %q", txt)
	}
	b.Screenshot("window")

	// A pattern: its element sequence and its occurrences.
	b.Click(`header nav a[href="/ui/patterns"]`)
	if txt := b.Text("#patterns"); !strings.Contains(txt, "vm.create") {
		t.Fatalf("patterns page: %q", txt)
	}
	b.Screenshot("patterns")
	if st := b.Click(`#patterns a[href="/ui/pattern?id=vm.create"]`); st != 200 {
		t.Fatalf("pattern page: %d", st)
	}
	if txt := b.Text("#elements"); !strings.Contains(txt, "Instance spawned successfully") {
		t.Errorf("vm.create elements: %q", txt)
	}
	if n := b.Count("#occurrences tr"); n < 2 {
		t.Errorf("vm.create has %d occurrence rows", n-1)
	}
	if n := b.Count("#timeline i.s0"); n == b.Count("#timeline i") {
		t.Error("vm.create's timeline is empty")
	}
	b.Screenshot("pattern")

	// An anomaly with its sample lines.
	b.Click(`header nav a[href="/ui/anomalies"]`)
	if n := b.Count("#anomalies tr"); n < 2 {
		t.Fatalf("anomalies page lists %d", n-1)
	}
	b.Screenshot("anomalies")
	if st := b.Click("#anomalies td a"); st != 200 || !strings.Contains(b.URL(), "/ui/anomaly?") {
		t.Fatalf("anomaly page: %d at %s", st, b.URL())
	}
	if txt := b.Text("#samples"); strings.TrimSpace(txt) == "" {
		t.Error("the anomaly shows no sample line")
	}
	if txt := b.Text("#anomaly"); !strings.Contains(txt, "component") {
		t.Errorf("anomaly facts: %q", txt)
	}
	b.Screenshot("anomaly")

	// The other pages, for their screenshots. The generated logs end a
	// minute ago, so the absence rule reports the busiest sources silent
	// once the pipeline's clock follows the wall clock.
	l.waitStream(spec.TenantDetections, "field.id=source.silent", 1)
	for _, p := range []struct{ nav, sel, want string }{
		{"/ui/sources", "#silences", "source.silent"},
		{"/ui/tenants", "#tenants", "tenant-a"},
		{"/ui/catalogues", "#versions", "version 1"},
	} {
		b.Click(`header nav a[href="` + p.nav + `"]`)
		if txt := b.Text(p.sel); !strings.Contains(txt, p.want) {
			t.Errorf("%s: %q", p.nav, txt)
		}
		b.Screenshot(strings.TrimPrefix(p.nav, "/ui/"))
	}

	// Signing out ends the session.
	if st := b.Submit("form.signout"); st != 200 || !strings.HasSuffix(b.URL(), "/ui/signin") {
		t.Fatalf("sign out: %d at %s", st, b.URL())
	}
	if b.Open(l.url + "/ui/patterns"); !strings.HasSuffix(b.URL(), "/ui/signin") {
		t.Errorf("after sign-out the patterns page opened: %s", b.URL())
	}
}
