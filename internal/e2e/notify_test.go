package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/internal/e2e/proc"
	"github.com/hisoka-project/hisoka/internal/loggen"
	"github.com/hisoka-project/hisoka/spec"
	"github.com/hisoka-project/hisoka/tenantclient"
)

// TestPlatformLogsNotifyTenants is the whole path with real processes:
// the operator publishes the catalogue and registers two tenants (each
// made with "hisoka-tenant init" and pinned with "pin"); each tenant
// subscribes blindly, with "hisoka-tenant subscribe", to every instance
// pattern (and the broken-off and slow creations) on every VM of BOTH
// tenants; generated OpenStack platform logs with ground truth are pushed
// by a Loki push client; every line is stored exactly once; and
// "hisoka-tenant poll" gives each tenant every detection of the ground
// truth on its own VMs exactly once, and nothing on the other's.
func TestPlatformLogsNotifyTenants(t *testing.T) {
	gen := loggen.Generate(loggen.Config{
		Seed: 11, Projects: 3, VMs: volume(8, 60), Ops: true, Duration: time.Duration(volume(30, 240)) * time.Minute,
		Faults: loggen.Faults{BrokenOff: 1, Slow: 1},
	})
	truth := truthByProject(t, gen, 2)
	// Both tenants subscribe to every pattern on every VM of both.
	subs := subscriptionFile(t, truth[0], truth[1])

	eachBackend(t, func(t *testing.T, s *proc.Server) {
		publishCatalogue(t, s)
		tenants := []tenantTruth{
			{addTenant(t, s, "tenant-a", truth[0].project), truth[0]},
			{addTenant(t, s, "tenant-b", truth[1].project), truth[1]},
		}
		for _, tn := range tenants {
			if cat := tn.cli.Must("catalog"); !strings.Contains(cat, "vm.create") {
				t.Fatalf("catalog: %s", cat)
			}
			subscribe(t, tn.cli, subs)
		}

		// The platform's logs, through the Loki push API.
		ctx := context.Background()
		lc := &lokiClient{url: s.URL, token: s.Token("ingest", ""), labels: `{job="openstack", host="controller"}`,
			batchBytes: 256 << 10, http: &http.Client{Timeout: time.Minute}}
		for _, ln := range gen.Lines {
			if err := lc.add(ctx, ln.Time, ln.Text); err != nil {
				t.Fatal(err)
			}
		}
		if err := lc.flush(ctx); err != nil {
			t.Fatal(err)
		}
		checkPlatformStream(t, s, gen.Lines)
		checkPolls(t, tenants)
	})
}

// projectTruth is the ground truth of one project's VMs.
type projectTruth struct {
	project string
	truth   []loggen.Truth // pattern and incomplete detections
	vms     []string       // the VMs they are about
}

// truthByProject returns the n projects of gen with the most VM
// detections, most first.
func truthByProject(t *testing.T, gen *loggen.Log, n int) []projectTruth {
	t.Helper()
	by := map[string]*projectTruth{}
	for _, tr := range gen.Truth {
		if tr.Tenant == "" || (tr.Kind != "pattern" && tr.Kind != "incomplete") {
			continue
		}
		p := by[tr.Tenant]
		if p == nil {
			p = &projectTruth{project: tr.Tenant}
			by[tr.Tenant] = p
		}
		p.truth = append(p.truth, tr)
		if !slices.Contains(p.vms, tr.Resource) {
			p.vms = append(p.vms, tr.Resource)
		}
	}
	var out []projectTruth
	for _, p := range by {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i].truth) != len(out[j].truth) {
			return len(out[i].truth) > len(out[j].truth)
		}
		return out[i].project < out[j].project
	})
	if len(out) < n {
		t.Fatalf("the generator gave VM detections for %d projects, want %d", len(out), n)
	}
	return out[:n]
}

// instancePatterns are the catalogue's instance patterns.
var instancePatterns = []string{"vm.create", "vm.delete", "vm.stop", "vm.start", "vm.pause", "vm.resume", "vm.migrate"}

// subscriptionFile is a "subscribe --file" input: every instance pattern,
// and the broken-off and slow creations, on every VM of ps.
func subscriptionFile(t *testing.T, ps ...projectTruth) string {
	t.Helper()
	var b strings.Builder
	for _, p := range ps {
		for _, tr := range p.truth {
			if !slices.Contains(instancePatterns, tr.ID) {
				t.Fatalf("ground truth has pattern %q, not in the subscription list", tr.ID)
			}
		}
		for _, vm := range p.vms {
			for _, pat := range instancePatterns {
				fmt.Fprintf(&b, "%s %s\n", pat, vm)
			}
			fmt.Fprintf(&b, "vm.create %s reason=broken_off\nvm.create %s reason=slow\n", vm, vm)
		}
	}
	return b.String()
}

// publishCatalogue uploads and publishes the default catalogue with
// "hisoka admin".
func publishCatalogue(t *testing.T, s *proc.Server) {
	t.Helper()
	vs := s.MustAdmin("catalogue-upload", "-file", "../../testdata/catalog/default.yaml")
	var versions spec.CatalogVersions
	if err := json.Unmarshal([]byte(vs), &versions); err != nil || len(versions.Versions) != 1 {
		t.Fatalf("catalogue-upload: %q %v", vs, err)
	}
	s.MustAdmin("catalogue-publish", "-version", fmt.Sprint(versions.Versions[0]))
}

// subscribe runs "hisoka-tenant subscribe --file -" with subs on stdin and
// checks every line became a subscription.
func subscribe(t *testing.T, c *proc.TenantCLI, subs string) {
	t.Helper()
	out, err := c.RunInput(strings.NewReader(subs), "subscribe", "--file", "-")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Count(out, "subscribed "), strings.Count(subs, "\n"); got != want {
		t.Fatalf("%d subscriptions made, want %d", got, want)
	}
}

// tenantTruth is a tenant's command line and the ground truth of its VMs.
type tenantTruth struct {
	cli *proc.TenantCLI
	projectTruth
}

// checkPolls runs "hisoka-tenant poll" for each tenant until it has as
// many notifications as its ground truth (or time runs out), polls once
// more, and checks each got exactly its truth.
func checkPolls(t *testing.T, tenants []tenantTruth) {
	t.Helper()
	got := make([][]tenantclient.Notification, len(tenants))
	poll := func(i int, wait string) {
		out := tenants[i].cli.Must("poll", "--wait", wait)
		sc := bufio.NewScanner(strings.NewReader(out))
		for sc.Scan() {
			var n tenantclient.Notification
			if err := json.Unmarshal(sc.Bytes(), &n); err != nil {
				t.Fatalf("poll printed %q: %v", sc.Text(), err)
			}
			got[i] = append(got[i], n)
		}
	}
	eventually(t, 90*time.Second, "every notification", func() bool {
		done := true
		for i, tn := range tenants {
			if len(got[i]) < len(tn.truth) {
				poll(i, "2s")
				done = done && len(got[i]) >= len(tn.truth)
			}
		}
		return done
	})
	for i, tn := range tenants {
		poll(i, "1s") // nothing more may come
		checkNotifications(t, tn.cli.ID, got[i], tn.truth)
	}
}

// notificationKey names what a notification or a truth is about.
func notificationKey(pattern, resource, reason string) string {
	return pattern + " " + resource + " " + reason
}

// checkNotifications checks that ns are exactly the detections of truth,
// each once, with the payload's time range on the truth's.
func checkNotifications(t *testing.T, tenant string, ns []tenantclient.Notification, truth []loggen.Truth) {
	t.Helper()
	want := map[string][]loggen.Truth{}
	for _, tr := range truth {
		k := notificationKey(tr.ID, tr.Resource, tr.Reason)
		want[k] = append(want[k], tr)
	}
	for _, n := range ns {
		reason := ""
		for _, p := range n.Params {
			if p.Name == "reason" {
				reason = p.Value
			}
		}
		k := notificationKey(n.Pattern, n.Resource, reason)
		trs := want[k]
		i := slices.IndexFunc(trs, func(tr loggen.Truth) bool {
			return !n.Start.Before(tr.Start.Add(-time.Second)) && !n.Start.After(tr.Start.Add(time.Second))
		})
		if i < 0 {
			t.Errorf("%s: unexpected notification %s (start %s, end %s): not in the ground truth, or a duplicate", tenant, k, n.Start, n.End)
			continue
		}
		want[k] = slices.Delete(trs, i, i+1)
	}
	for k, trs := range want {
		for _, tr := range trs {
			t.Errorf("%s: no notification for %s (start %s)", tenant, k, tr.Start)
		}
	}
	if !t.Failed() {
		t.Logf("%s: %d notifications, as the ground truth says", tenant, len(ns))
	}
}

// checkPlatformStream waits until the operator's view of the platform
// stream holds as many records as lines were sent, then checks that it
// holds each line exactly as often as it was sent.
func checkPlatformStream(t *testing.T, s *proc.Server, lines []loggen.Line) {
	t.Helper()
	op := s.Token("operator", "")
	var stored []string
	eventually(t, 90*time.Second, fmt.Sprintf("%d platform lines stored", len(lines)), func() bool {
		stored = platformLines(t, s.URL, op)
		return len(stored) >= len(lines)
	})
	want := map[string]int{}
	for _, ln := range lines {
		want[ln.Text]++
	}
	for _, l := range stored {
		want[l]--
	}
	for l, n := range want {
		if n != 0 {
			t.Errorf("platform line stored %d times too few: %.80q", n, l)
		}
	}
}

// platformLines reads the whole platform stream through the operator API.
func platformLines(t *testing.T, base, token string) []string {
	t.Helper()
	var out []string
	cursor := ""
	for {
		q := url.Values{"limit": {"10000"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/admin/streams/platform/logs?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page spec.LogPage
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("platform stream: %d %v", resp.StatusCode, err)
		}
		for _, r := range page.Records {
			out = append(out, r.Line)
		}
		if page.Next == "" {
			return out
		}
		cursor = page.Next
	}
}
