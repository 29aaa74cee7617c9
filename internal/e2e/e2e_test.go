package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/internal/e2e/proc"
	"github.com/hisoka-project/hisoka/spec"
)

func TestMain(m *testing.M) { os.Exit(proc.Main(m)) }

// full reports whether the larger volumes were asked for (HISOKA_E2E_FULL=1).
func full() bool { return os.Getenv("HISOKA_E2E_FULL") == "1" }

// volume is n, or big with HISOKA_E2E_FULL=1.
func volume(n, big int) int {
	if full() {
		return big
	}
	return n
}

// eachBackend runs f on a fresh server on each store backend.
func eachBackend(t *testing.T, f func(t *testing.T, s *proc.Server)) {
	for _, b := range proc.Backends() {
		t.Run(string(b), func(t *testing.T) {
			f(t, proc.Start(t, proc.Options{Backend: b}))
		})
	}
}

// addTenant makes a tenant the way the guides say: "hisoka-tenant init",
// "hisoka admin tenant-add" with its public key and OpenStack project,
// then "hisoka-tenant pin" of the answer.
func addTenant(t *testing.T, s *proc.Server, id, project string) *proc.TenantCLI {
	t.Helper()
	c := s.Tenant(id)
	out := c.Must("init")
	var pub string
	for _, line := range strings.Split(out, "\n") {
		if k, ok := strings.CutPrefix(line, "public key: "); ok {
			pub = strings.TrimSpace(k)
		}
	}
	if pub == "" {
		t.Fatalf("init printed no public key:\n%s", out)
	}
	reg := s.MustAdmin("tenant-add", "-id", id, "-key", pub, "-project", project)
	file := filepath.Join(t.TempDir(), "registration.json")
	if err := os.WriteFile(file, []byte(reg), 0o600); err != nil {
		t.Fatal(err)
	}
	c.Must("pin", "--registration", file)
	return c
}

// exportRecords is the tenant's whole log through "hisoka-tenant logs export".
func exportRecords(t *testing.T, c *proc.TenantCLI) []spec.LogRecord {
	t.Helper()
	out := c.Must("logs", "export")
	var recs []spec.LogRecord
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r spec.LogRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	return recs
}

// verifyLogs runs "hisoka-tenant logs verify" over the tenant's n records
// (in ranges of at most verifyRange, the most one proof covers) and checks
// that each range is vouched for whole.
func verifyLogs(t *testing.T, c *proc.TenantCLI, n int) {
	t.Helper()
	for from := 1; from <= n; from += verifyRange {
		to := min(from+verifyRange-1, n)
		out := c.Must("logs", "verify", "--from-seq", strconv.Itoa(from), "--to-seq", strconv.Itoa(to))
		want := fmt.Sprintf("verified: records %d..%d (%d) are complete and unaltered", from, to, to-from+1)
		if !strings.HasPrefix(out, want) {
			t.Fatalf("logs verify: %q, want %q...", out, want)
		}
	}
}

// verifyRange is the most records one proof covers (store.MaxLimit).
const verifyRange = 10000

// eventually calls f until it returns true or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
