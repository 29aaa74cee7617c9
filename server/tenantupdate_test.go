package server_test

import (
	"crypto/rand"
	"testing"

	"github.com/hisoka-project/hisoka/crypto"
	"github.com/hisoka-project/hisoka/spec"
)

func ptr[T any](v T) *T { return &v }

// Updating a tenant changes what the request sets and keeps the rest: an
// operator who re-registers a key must not silently lift a quota or drop
// the project that attributes the tenant's detections.
func TestTenantUpdateKeepsWhatItDoesNotSet(t *testing.T) {
	l := startLive(t)
	defer l.stop()
	idn, err := crypto.NewIdentity(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	get := func() spec.Tenant {
		var got spec.Tenant
		l.must(200, "GET", "/v1/admin/tenants/acme", l.op, "", nil, &got)
		return got
	}
	post := func(in spec.Tenant) {
		in.ID, in.PublicKey = "acme", idn.Public()
		l.must(201, "POST", "/v1/admin/tenants", l.op, "application/json", l.json(in), nil)
	}

	post(spec.Tenant{Quota: ptr(uint64(5000)), Settings: map[string]string{"project": "p-1"}, Retention: "720h"})
	post(spec.Tenant{}) // sets nothing
	got := get()
	if got.Quota == nil || *got.Quota != 5000 || got.Settings["project"] != "p-1" || got.Retention != "720h0m0s" {
		t.Fatalf("after an update that sets nothing: quota %v, settings %v, retention %q", got.Quota, got.Settings, got.Retention)
	}

	post(spec.Tenant{Quota: ptr(uint64(0)), Settings: map[string]string{}}) // explicit: no quota, no settings
	got = get()
	if got.Quota != nil || len(got.Settings) != 0 || got.Retention != "720h0m0s" {
		t.Fatalf("after clearing quota and settings: quota %v, settings %v, retention %q", got.Quota, got.Settings, got.Retention)
	}
}
