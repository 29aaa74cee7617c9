package server_test

import (
	"testing"

	"github.com/hisoka-project/hisoka/spec"
)

// Verifying one's logs with no range: nothing stored yet is "not found", not
// a complaint about query parameters the tenant never sent; once lines are
// stored the default range is every retained record (one page at most).
func TestVerifyDefaultRange(t *testing.T) {
	l := startLive(t)
	defer l.stop()
	a := l.register("tenant-a", "project-a")

	l.must(404, "GET", "/v1/tenants/tenant-a/logs/verify", l.token(a), "", nil, nil)

	l.must(200, "POST", "/v1/ingest", l.mint("ingest", "tenant-a"), "text/plain",
		[]byte("Nov 22 05:50:01 vm-1 sshd[1]: Accepted publickey for alice\nNov 22 05:50:02 vm-1 sudo: alice : COMMAND=/bin/true\n"), nil)
	var p spec.Proof
	l.must(200, "GET", "/v1/tenants/tenant-a/logs/verify", l.token(a), "", nil, &p)
	if p.From != 1 || p.To != 2 || len(p.Records) != 2 {
		t.Fatalf("proof covers %d..%d with %d records, want 1..2 with 2", p.From, p.To, len(p.Records))
	}
}
