package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/spec"
)

// TestVerifyWholeLog: "logs verify" with no range verifies the whole log,
// page after page (a proof holds at most 10,000 records), including when
// the last page is exactly full; with --to-seq it verifies that range only.
func TestVerifyWholeLog(t *testing.T) {
	o := startServer(t)
	state := filepath.Join(t.TempDir(), "state")
	s := &session{t: t, env: map[string]string{"HISOKA_URL": o.url, "HISOKA_TENANT": "acme", "HISOKA_STATE": state}}
	m := regexp.MustCompile(`public key: (\S+)`).FindStringSubmatch(s.must("init"))
	if m == nil {
		t.Fatal("init printed no key")
	}
	pub, err := base64Decode(m[1])
	if err != nil {
		t.Fatal(err)
	}
	o.jsonCall(201, "POST", "/v1/admin/tenants", spec.Tenant{ID: "acme", PublicKey: pub})

	ingest := o.mint("ingest", "acme")
	send := func(first, n int) {
		var b strings.Builder
		at := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
		for i := first; i < first+n; i++ {
			fmt.Fprintf(&b, "<86>1 %s vm-a app 1 - - line %d\n", at, i)
		}
		o.call(200, "POST", "/v1/ingest", ingest, "text/plain", []byte(b.String()))
	}
	for i := range 4 {
		send(i*5000, 5000)
	}
	if out := s.must("logs", "verify"); !strings.Contains(out, "verified: records 1..20000 (20000) ") {
		t.Fatalf("whole log of two full pages: %q", out)
	}
	send(20000, 7)
	if out := s.must("logs", "verify"); !strings.Contains(out, "verified: records 1..20007 (20007) ") {
		t.Fatalf("whole log: %q", out)
	}
	if out := s.must("logs", "verify", "--from-seq", "10001", "--to-seq", "10100"); !strings.Contains(out, "verified: records 10001..10100 (100) ") {
		t.Fatalf("a range: %q", out)
	}
}
