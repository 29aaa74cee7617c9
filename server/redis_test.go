package server_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/crypto"
	"github.com/hisoka-project/hisoka/internal/loggen"
	"github.com/hisoka-project/hisoka/server"
	"github.com/hisoka-project/hisoka/spec"
	"github.com/hisoka-project/hisoka/store/redistest"
)

// TestServiceOnRedis: the service on the Redis backend (a real
// redis-server): ingest, pipeline, board, long poll, search.
func TestServiceOnRedis(t *testing.T) { serviceOnRedis(t, redistest.Server(t)) }

// TestServiceOnRedisCluster: the same on a 3-master Redis Cluster, named by
// a redis:// URL with addr= parameters.
func TestServiceOnRedisCluster(t *testing.T) {
	addrs := redistest.Cluster(t)
	url := "redis://" + addrs[0]
	for i, a := range addrs[1:] {
		url += map[bool]string{true: "?", false: "&"}[i == 0] + "addr=" + a
	}
	serviceOnRedis(t, url)
}

func serviceOnRedis(t *testing.T, url string) {
	l := startLiveWith(t, t.TempDir(), func(c *server.Config) { c.Redis = url })
	gen := loggen.Generate(loggen.Config{Seed: 11, Projects: 1, VMs: 1, NoBackground: true, Duration: 5 * time.Minute})
	var create loggen.Truth
	for _, tr := range gen.Truth {
		if tr.ID == "vm.create" {
			create = tr
		}
	}
	a := l.register("tenant-a", create.Tenant)
	cat, err := os.ReadFile("../testdata/catalog/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l.must(201, "POST", "/v1/admin/catalogues", l.op, "application/yaml", cat, nil)
	l.must(204, "POST", "/v1/admin/catalogues/1/publish", l.op, "", nil, nil)
	// No resource registered: the owner is found by the project id.
	m := l.subscribe(a, []string{"create"}, []crypto.Descriptor{{PatternID: "vm.create", ResourceID: create.Resource}})
	var body strings.Builder
	for _, ln := range gen.Lines {
		body.WriteString(ln.Text + "\n")
	}
	l.must(200, "POST", "/v1/ingest", l.mint("ingest", ""), "text/plain", []byte(body.String()), nil)
	v := &crypto.ChainVerifier{BoardKey: a.board, Tenant: a.id}
	var got []crypto.Notification
	deadline := time.Now().Add(20 * time.Second)
	for len(got) == 0 && time.Now().Before(deadline) {
		got = append(got, matchAll(t, m, l.poll(a, v, 5*time.Second))...)
	}
	if len(got) != 1 {
		t.Fatalf("notifications: %+v", got)
	}
	var page spec.LogPage
	l.must(200, "GET", "/v1/admin/streams/platform/logs?q="+create.Resource, l.op, "", nil, &page)
	if len(page.Records) == 0 {
		t.Fatal("platform search found nothing")
	}
	// The operators' detections stream and the console's heatmap (the
	// pipeline's per-minute counts, in state blobs) work here too.
	l.waitStream(spec.TenantDetections, "field.id=vm.create", 1)
	op := l.console()
	if st := op.signIn(l.op); st != 303 {
		t.Fatalf("console sign-in: %d", st)
	}
	heat := "/ui/heatmap?from=2017-05-16T09:00:00Z&to=2017-05-16T11:00:00Z"
	deadline = time.Now().Add(20 * time.Second)
	for {
		st, body, _ := op.get(heat)
		if st == 200 && strings.Contains(body, "nova.compute.manager") && strings.Contains(body, `<td class="b">`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("console heatmap: %d", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
