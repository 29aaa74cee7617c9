package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/spec"
	"github.com/hisoka-project/hisoka/store"
	"github.com/hisoka-project/hisoka/store/ledger"
	"github.com/hisoka-project/hisoka/tenantclient"
)

// ledgerService answers GET /v1/tenants/{tenant}/logs/verify from a log
// history it signs with its ledger key, as the server does, and can
// rewrite that history and sign it again, as a lying service could.
type ledgerService struct {
	mu     sync.Mutex
	tenant string
	key    ed25519.PrivateKey
	recs   []store.Record
}

func (l *ledgerService) append(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	for range n {
		seq := uint64(len(l.recs) + 1)
		ts := at.Add(time.Duration(seq) * time.Second)
		l.recs = append(l.recs, store.Record{Seq: seq, Time: ts, Received: ts, Host: "vm-1", App: "sshd", Severity: 6, Line: fmt.Sprintf("accepted publickey for admin from 10.0.0.%d", seq)})
	}
}

// rewrite changes record seq's line; every later checkpoint is signed over
// the new history.
func (l *ledgerService) rewrite(seq int, line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs[seq-1].Line = line
}

func (l *ledgerService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.Method != http.MethodGet || r.URL.Path != "/v1/tenants/"+l.tenant+"/logs/verify" {
		http.NotFound(w, r)
		return
	}
	n := uint64(len(l.recs))
	from, to := uint64(1), n
	if v := r.URL.Query().Get("from_seq"); v != "" {
		from, _ = strconv.ParseUint(v, 10, 64)
	}
	if v := r.URL.Query().Get("to_seq"); v != "" {
		to, _ = strconv.ParseUint(v, 10, 64)
	}
	if from < 1 || to < from || to > n {
		http.NotFound(w, r)
		return
	}
	chain := []ledger.Hash{ledger.Genesis(l.tenant)}
	var leaves []ledger.Hash
	for i := range l.recs {
		enc, err := l.recs[i].AppendBinary(nil)
		if err != nil {
			http.Error(w, "record", 500)
			return
		}
		leaves = append(leaves, ledger.Leaf(enc))
		chain = append(chain, ledger.Next(chain[i], leaves[i]))
	}
	cp, err := ledger.Sign(l.key, ledger.Checkpoint{Tenant: l.tenant, Seq: n, Head: chain[n], Time: time.Now().UTC()})
	if err != nil {
		http.Error(w, "sign", 500)
		return
	}
	lp := ledger.Proof{Tenant: l.tenant, From: from, To: to, Prev: chain[from-1], Tail: leaves[to:n], Checkpoint: cp}
	raw, err := lp.MarshalBinary()
	if err != nil {
		http.Error(w, "proof", 500)
		return
	}
	p := spec.Proof{From: from, To: to, Proof: raw, LedgerKey: l.key.Public().(ed25519.PublicKey)}
	for _, rec := range l.recs[from-1 : to] {
		p.Records = append(p.Records, spec.LogRecord{Seq: rec.Seq, Time: rec.Time, Received: rec.Received, Host: rec.Host, App: rec.App, Severity: rec.Severity, Line: rec.Line})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(p)
}

// TestUIForkedLog: with --verify-logs the dashboard checks that the
// service's history of the tenant's logs extends the one it verified
// before. When the service rewrites an old record and signs the history
// again (each proof verifies on its own), the dashboard shows the forked
// log at the top of the page, and the journal keeps it.
func TestUIForkedLog(t *testing.T) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	svc := &ledgerService{tenant: "acme", key: key}
	svc.append(12)
	srv := httptest.NewServer(svc)
	defer srv.Close()
	state := filepath.Join(t.TempDir(), "state")
	if _, err := tenantclient.Init(state, "acme", rand.Reader); err != nil {
		t.Fatal(err)
	}
	s := &session{t: t, env: map[string]string{"HISOKA_URL": srv.URL, "HISOKA_TENANT": "acme", "HISOKA_STATE": state}}
	u := startUI(t, s, "--poll=false", "--verify-logs", "50ms", "--refresh", "0")
	c := u.signedIn(t)
	waitPage(t, c, u.base+"/", "the history is verified up to record 12")

	svc.append(3)
	waitPage(t, c, u.base+"/", "the history is verified up to record 15")

	svc.rewrite(2, "nothing happened")
	svc.append(1)
	body := waitPage(t, c, u.base+"/", `id="failure-logs"`)
	for _, want := range []string{"Log verification failing: forked log", "two different histories", "verified up to record 15"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
	if err := u.stop(); err != nil {
		t.Fatal(err)
	}
	j, err := openJournal(state)
	if err != nil {
		t.Fatal(err)
	}
	if _, fs := everything(j); len(fs) == 0 || fs[0].Classes[0] != "forked log" {
		t.Errorf("journal failures %+v", fs)
	}
}
