package server_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/crypto"
	"github.com/hisoka-project/hisoka/internal/loggen"
	"github.com/hisoka-project/hisoka/spec"
	"github.com/hisoka-project/hisoka/store/embedded"
)

// TestRestartExactlyOnce: a server restarted on its data directory keeps
// its keyring (same board key, tokens still match) and, when the pipeline
// replays lines it had already processed (its state lost in a crash), puts
// no detection on a board twice.
func TestRestartExactlyOnce(t *testing.T) {
	dir := t.TempDir()
	l := startLiveIn(t, dir)
	gen := loggen.Generate(loggen.Config{Seed: 7, Projects: 1, VMs: 1, NoBackground: true, Duration: 5 * time.Minute})
	var create loggen.Truth
	for _, tr := range gen.Truth {
		if tr.ID == "vm.create" {
			create = tr
		}
	}
	a := l.register("tenant-a", create.Tenant)
	l.must(201, "POST", "/v1/admin/resources", l.op, "application/json", l.json(spec.Resource{ID: create.Resource, Kind: "vm", Tenant: a.id}), nil)
	cat, err := os.ReadFile("../testdata/catalog/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l.must(201, "POST", "/v1/admin/catalogues", l.op, "application/yaml", cat, nil)
	l.must(204, "POST", "/v1/admin/catalogues/1/publish", l.op, "", nil, nil)
	m := l.subscribe(a, []string{"create"}, []crypto.Descriptor{{PatternID: "vm.create", ResourceID: create.Resource}})

	var body strings.Builder
	for _, ln := range gen.Lines {
		body.WriteString(ln.Text + "\n")
	}
	ingest := l.mint("ingest", "")
	l.must(200, "POST", "/v1/ingest?format=oslo", ingest, "text/plain", []byte(body.String()), nil)
	v := &crypto.ChainVerifier{BoardKey: a.board, Tenant: a.id}
	var got []crypto.Notification
	deadline := time.Now().Add(20 * time.Second)
	for len(got) == 0 && time.Now().Before(deadline) {
		got = append(got, matchAll(t, m, l.poll(a, v, 5*time.Second))...)
	}
	if len(got) != 1 {
		t.Fatalf("before restart: %+v", got)
	}
	// The operators' record of the detection, with its owner.
	const creations = "field.kind=pattern&field.id=vm.create"
	page := l.waitStream(spec.TenantDetections, creations, 1)
	var rec spec.DetectionRecord
	if err := json.Unmarshal([]byte(page.Records[0].Line), &rec); err != nil || rec.Owner != a.id || rec.Resource != create.Resource || rec.Count == 0 {
		t.Fatalf("detection record %q: %v", page.Records[0].Line, err)
	}
	anomalies := len(l.waitStream(spec.TenantAnomalies, "", 0).Records)
	l.stop()

	// A crash lost the pipeline's state: it will replay every line.
	db, err := embedded.Open(dir+"/store", embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.PutState(t.Context(), "pipeline/platform", []byte(`{"catalog":1,"cursor":0}`)); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	l2 := startLiveIn(t, dir)
	l2.op = l2.mint("operator", "")
	// The keyring survived: same board key in the directory.
	var raw []byte
	l2.must(200, "GET", "/v1/keys", "", "", nil, &raw)
	if _, err := crypto.ParseDirectory(raw, a.board); err != nil {
		t.Fatalf("directory after restart: %v", err)
	}
	// Push one more line so the pipeline has visibly caught up past the replay.
	l2.must(200, "POST", "/v1/ingest", ingest, "text/plain", []byte(gen.Lines[len(gen.Lines)-1].Text+"\n"), nil)
	time.Sleep(500 * time.Millisecond)
	var more []crypto.Notification
	for range 3 {
		more = append(more, matchAll(t, m, l2.poll(a, v, 300*time.Millisecond))...)
	}
	if len(more) != 0 {
		t.Fatalf("replay notified again: %+v", more)
	}
	// Nor did it store the detection or the anomalies again.
	if n := len(l2.waitStream(spec.TenantDetections, creations, 1).Records); n != 1 {
		t.Fatalf("after replay: %d records of the creation in the detections stream, want 1", n)
	}
	if n := len(l2.waitStream(spec.TenantAnomalies, "", 0).Records); n > anomalies+1 { // the line pushed again may be one
		t.Fatalf("after replay: %d anomalies, %d before", n, anomalies)
	}
	// ... although the replay did detect the creation again.
	var metrics []byte
	l2.must(200, "GET", "/metrics", "", "", nil, &metrics)
	if !strings.Contains(string(metrics), `hisoka_detections_total{severity="2"}`) {
		t.Fatalf("no detection replayed:\n%s", metrics)
	}
}
