package server_test

import (
	"strings"
	"testing"

	"github.com/hisoka-project/hisoka/spec"
)

// TestRetentionChanges: re-registering a tenant keeps its retention unless
// the request sets one, and every change, by the operator or the tenant,
// is in the tenant's access log with who and old -> new.
func TestRetentionChanges(t *testing.T) {
	l := startLive(t)
	a := l.register("tenant-a", "proj-a")
	tok := l.token(a)
	retention := func() string {
		var r spec.Retention
		l.must(200, "GET", "/v1/tenants/tenant-a/retention", l.token(a), "", nil, &r)
		return r.Retention
	}
	update := func(ret string) {
		l.must(201, "POST", "/v1/admin/tenants", l.op, "application/json",
			l.json(spec.Tenant{ID: a.id, PublicKey: a.key.Public(), Retention: ret, Settings: map[string]string{"project": "proj-a"}}), nil)
	}
	l.must(200, "PUT", "/v1/tenants/tenant-a/retention", tok, "application/json", []byte(`{"retention":"720h"}`), nil)
	update("") // a key or settings update without a retention
	if got := retention(); got != "720h0m0s" {
		t.Fatalf("update without retention changed it to %q", got)
	}
	update("48h")
	update("48h") // no change, nothing recorded
	update("0s")
	if got := retention(); got != "0s" {
		t.Fatalf("explicit forever: %q", got)
	}
	var rep spec.AccessReport
	l.must(200, "GET", "/v1/tenants/tenant-a/access", l.token(a), "", nil, &rep)
	var got []string
	for _, x := range rep.Accesses {
		if x.Action == "retention" {
			if x.When.IsZero() {
				t.Errorf("no time: %+v", x)
			}
			got = append(got, strings.SplitN(x.Who, ":", 2)[0]+" "+x.Query)
		}
	}
	want := []string{"tenant forever -> 720h0m0s", "operator 720h0m0s -> 48h0m0s", "operator 48h0m0s -> forever"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("retention changes in the access log:\n got %q\nwant %q", got, want)
	}
}
