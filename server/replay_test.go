package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/server"
	"github.com/hisoka-project/hisoka/store/redistest"
)

// TestReplayQuotaPerTenant: a tenant holding its quota of unexpired token
// ids gets 429 with Retry-After; another tenant is not locked out.
func TestReplayQuotaPerTenant(t *testing.T) {
	l := startLiveWith(t, t.TempDir(), func(c *server.Config) {
		c.Auth.ReplayPerTenant = 3
		c.Limits.TenantRequestsPerSecond, c.Limits.TenantRequestBurst = 1000, 1000
	})
	a := l.register("tenant-a", "proj-a")
	b := l.register("tenant-b", "proj-b")
	for range 3 {
		l.must(200, "GET", "/v1/tenants/tenant-a/retention", l.token(a), "", nil, nil)
	}
	req, _ := http.NewRequest("GET", l.url+"/v1/tenants/tenant-a/retention", nil)
	req.Header.Set("Authorization", "Bearer "+l.token(a))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("tenant over its quota: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	for range 3 {
		l.must(200, "GET", "/v1/tenants/tenant-b/retention", l.token(b), "", nil, nil)
	}
}

// TestRateLimitBeforeReplayClaim: a tenant token refused by the rate limit
// takes no room in the replay cache: the same token goes through once the
// bucket refills, and only then is it spent.
func TestRateLimitBeforeReplayClaim(t *testing.T) {
	l := startLiveWith(t, t.TempDir(), func(c *server.Config) {
		c.Limits.TenantRequestsPerSecond, c.Limits.TenantRequestBurst = 5, 1
	})
	a := l.register("tenant-a", "proj-a")
	l.must(200, "GET", "/v1/tenants/tenant-a/retention", l.token(a), "", nil, nil)
	tok := l.token(a)
	l.must(429, "GET", "/v1/tenants/tenant-a/retention", tok, "", nil, nil)
	deadline := time.Now().Add(5 * time.Second)
	code := 429
	for code == 429 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		code = l.do("GET", "/v1/tenants/tenant-a/retention", tok, "", nil, nil)
	}
	if code != 200 {
		t.Fatalf("the token refused by the rate limit, once the bucket refilled: %d", code)
	}
	time.Sleep(300 * time.Millisecond) // the bucket has a token again
	l.must(401, "GET", "/v1/tenants/tenant-a/retention", tok, "", nil, nil)
}

// TestReplayAcrossRedisReplicas: two servers on one Redis store (real
// redis-server): a tenant token used on one is refused on the other.
func TestReplayAcrossRedisReplicas(t *testing.T) {
	url := redistest.Server(t)
	dir := t.TempDir()
	tune := func(c *server.Config) { c.Redis = url }
	l1 := startLiveWith(t, dir, tune)
	a := l1.register("tenant-a", "proj-a")
	l2 := startLiveWith(t, dir, tune)
	tok := l1.token(a)
	l1.must(200, "GET", "/v1/tenants/tenant-a/retention", tok, "", nil, nil)
	l2.must(401, "GET", "/v1/tenants/tenant-a/retention", tok, "", nil, nil)
	tok2 := l1.token(a)
	l2.must(200, "GET", "/v1/tenants/tenant-a/retention", tok2, "", nil, nil)
	l1.must(401, "GET", "/v1/tenants/tenant-a/retention", tok2, "", nil, nil)
	l2.must(401, "GET", "/v1/tenants/tenant-a/retention", tok2, "", nil, nil)
}
