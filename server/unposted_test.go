package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/matcher"
	"github.com/hisoka-project/hisoka/spec"
	"github.com/hisoka-project/hisoka/store"
)

// failingStream is the real store with appends to one stream failing while
// fails > 0.
type failingStream struct {
	Backend
	stream string
	fails  int
}

var errStreamOutage = errors.New("test: stream append outage")

func (f *failingStream) Append(ctx context.Context, tenant string, recs []store.Record) (uint64, uint64, error) {
	if tenant == f.stream && f.fails > 0 {
		f.fails--
		return 0, 0, errStreamOutage
	}
	return f.Backend.Append(ctx, tenant, recs)
}

// TestFailedPostFeedsTheEngineOnce: when the detections of a chunk cannot be
// stored, the pipeline retries storing them and does not feed the chunk to
// the engine again. Five failed logins from one address (the brute-force
// rule fires at eight) stay five however often the post fails, and the
// completed create is stored once; the state is not saved while the post is
// outstanding.
func TestFailedPostFeedsTheEngineOnce(t *testing.T) {
	s, _ := openService(t, nil)
	ctx := t.Context()
	cat, err := os.ReadFile("../testdata/catalog/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.svc.storeCatalogue(ctx, cat)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.svc.publish(ctx, v); err != nil {
		t.Fatal(err)
	}
	p := s.svc.pipes[spec.TenantPlatform]
	if err := p.newEngine(ctx); err != nil || p.engine == nil {
		t.Fatalf("engine: %v", err)
	}

	// Five failed logins, then a line of another rule that fires at once (an
	// iptables flush) so that the chunk has a detection to post.
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	var recs []store.Record
	for i := range 5 {
		recs = append(recs, store.Record{Time: t0.Add(time.Duration(i) * time.Second), Received: t0, Host: "host-1", App: "sshd",
			Line: fmt.Sprintf("Nov 22 10:00:0%d host-1 sshd[4242]: Failed password for root from 203.0.113.9 port 5000%d ssh2", i, i)})
	}
	recs = append(recs, store.Record{Time: t0.Add(6 * time.Second), Received: t0, Host: "host-1", App: "kernel",
		Line: "Nov 22 10:00:06 host-1 sudo: admin : TTY=pts/0 ; PWD=/root ; USER=root ; COMMAND=/usr/sbin/iptables -F"})
	if _, _, err := s.svc.st.Append(ctx, spec.TenantPlatform, recs); err != nil {
		t.Fatal(err)
	}

	real := s.svc.st
	fs := &failingStream{Backend: real, stream: spec.TenantDetections, fails: 3}
	s.svc.st = fs
	defer func() { s.svc.st = real }()
	for range 3 {
		if _, err := p.step(ctx); !errors.Is(err, errStreamOutage) {
			t.Fatalf("want the outage, got %v", err)
		}
		if err := p.save(ctx); !errors.Is(err, errUnposted) {
			t.Fatalf("state saved with detections outstanding: %v", err)
		}
		if p.cursor.Load() != 0 {
			t.Fatalf("cursor moved to %d before the detections were stored", p.cursor.Load())
		}
	}
	if _, err := p.step(ctx); err != nil {
		t.Fatal(err)
	}
	// Counted (and alerted) once, when stored, not once per attempt.
	rec := httptest.NewRecorder()
	s.metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if want := `hisoka_detections_total{severity="12"} 1` + "\n"; !strings.Contains(rec.Body.String(), want) {
		t.Fatalf("iptables flush (severity 12) not counted once:\n%s", rec.Body.String())
	}
	if p.cursor.Load() != uint64(len(recs)) {
		t.Fatalf("cursor %d, want %d", p.cursor.Load(), len(recs))
	}

	// Three more failed logins from the address: eight in all, the first
	// time the rule may fire. Had the retries fed the five again, it would
	// have fired already (twenty) and would not fire now.
	var more []store.Record
	for i := range 3 {
		more = append(more, store.Record{Time: t0.Add(time.Duration(10+i) * time.Second), Received: t0, Host: "host-1", App: "sshd",
			Line: fmt.Sprintf("Nov 22 10:00:1%d host-1 sshd[4243]: Failed password for root from 203.0.113.9 port 5100%d ssh2", i, i)})
	}
	if _, _, err := s.svc.st.Append(ctx, spec.TenantPlatform, more); err != nil {
		t.Fatal(err)
	}
	for {
		n, err := p.step(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	var last []matcher.Detection
	for _, d := range p.engine.Flush() {
		last = append(last, cloneDetection(d))
	}
	if err := p.post(ctx, last, 0); err != nil {
		t.Fatal(err)
	}
	page, err := real.Query(ctx, spec.TenantDetections, store.Query{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, r := range page.Records {
		var d spec.DetectionRecord
		if err := json.Unmarshal([]byte(r.Line), &d); err != nil {
			t.Fatal(err)
		}
		count[d.ID]++
		if d.ID == "ssh.bruteforce" && d.End.Before(t0.Add(12*time.Second)) {
			t.Errorf("brute force fired at %v, before the eighth failed login (%d lines)", d.End, d.Count)
		}
	}
	if count["host.iptables_flush"] != 1 {
		t.Errorf("iptables flush stored %d times, want once: %v", count["host.iptables_flush"], count)
	}
	if count["ssh.bruteforce"] != 1 {
		t.Errorf("brute force stored %d times, want once: %v", count["ssh.bruteforce"], count)
	}
}
