package tenantclient_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/spec"
	"github.com/hisoka-project/hisoka/store"
	"github.com/hisoka-project/hisoka/store/ledger"
	"github.com/hisoka-project/hisoka/tenantclient"
)

// ledgerHistory is a tenant's log history as the server's ledger keeps it,
// built with the ledger package and the service's checkpoint key.
type ledgerHistory struct {
	tenant string
	key    ed25519.PrivateKey
	recs   []store.Record
}

func (h *ledgerHistory) append(t *testing.T, lines ...string) {
	t.Helper()
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	for _, l := range lines {
		seq := uint64(len(h.recs) + 1)
		ts := at.Add(time.Duration(seq) * time.Second)
		h.recs = append(h.recs, store.Record{Seq: seq, Time: ts, Received: ts, Host: "vm-1", App: "sshd", Severity: 6, Line: l})
	}
}

// proof is what GET .../logs/verify answers for from..to with a checkpoint
// after record n.
func (h *ledgerHistory) proof(t *testing.T, from, to, n uint64) *spec.Proof {
	t.Helper()
	chain := []ledger.Hash{ledger.Genesis(h.tenant)}
	var leaves []ledger.Hash
	for i := range h.recs[:n] {
		enc, err := h.recs[i].AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		leaves = append(leaves, ledger.Leaf(enc))
		chain = append(chain, ledger.Next(chain[len(chain)-1], leaves[i]))
	}
	cp, err := ledger.Sign(h.key, ledger.Checkpoint{Tenant: h.tenant, Seq: n, Head: chain[n], Time: time.Date(2026, 11, 2, 0, 0, 0, int(n), time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	lp := ledger.Proof{Tenant: h.tenant, From: from, To: to, Prev: chain[from-1], Tail: leaves[to:n], Checkpoint: cp}
	raw, err := lp.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	p := &spec.Proof{From: from, To: to, Proof: raw, LedgerKey: h.key.Public().(ed25519.PublicKey)}
	for _, r := range h.recs[from-1 : to] {
		p.Records = append(p.Records, spec.LogRecord{Seq: r.Seq, Time: r.Time, Received: r.Received, Host: r.Host, App: r.App, Severity: r.Severity, Line: r.Line})
	}
	return p
}

// TestLogCheckpoints: the client keeps the checkpoints of the proofs it
// verified, across restarts, and a later proof of a rewritten history -
// validly signed by the same ledger key, so the proof alone verifies - is
// ErrLogForked wherever it covers a kept checkpoint's seq: through its
// checkpoint, its records, its tail or its Prev.
func TestLogCheckpoints(t *testing.T) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := tenantclient.Init(dir, "tenant-l", rand.Reader); err != nil {
		t.Fatal(err)
	}
	open := func() *tenantclient.Client {
		c, err := tenantclient.New(tenantclient.Config{URL: "http://127.0.0.1:1", StateDir: dir, LedgerKey: key.Public().(ed25519.PublicKey)})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	honest := &ledgerHistory{tenant: "tenant-l", key: key}
	for i := range 12 {
		honest.append(t, fmt.Sprintf("accepted publickey for admin from 10.0.0.%d", i))
	}
	c := open()
	for _, r := range [][3]uint64{{1, 3, 4}, {5, 6, 6}} {
		if err := c.VerifyProof(honest.proof(t, r[0], r[1], r[2])); err != nil {
			t.Fatalf("honest %v: %v", r, err)
		}
	}
	if cps := c.Checkpoints(); len(cps) != 2 || cps[0].Seq != 4 || cps[1].Seq != 6 {
		t.Fatalf("checkpoints %+v", cps)
	}

	// The service rewrites record 2 and re-signs everything after it.
	rewritten := &ledgerHistory{tenant: "tenant-l", key: key, recs: append([]store.Record(nil), honest.recs...)}
	rewritten.recs[1].Line = "nothing happened"
	for _, tc := range []struct {
		name         string
		from, to, cp uint64
		forked       bool
	}{
		{"checkpoint at a kept seq", 5, 5, 6, true},
		{"records over a kept seq", 3, 8, 9, true},
		{"tail over a kept seq", 1, 2, 5, true},
		{"prev at a kept seq", 7, 8, 8, true},
		{"before every kept seq", 1, 2, 3, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := open() // the checkpoints survive a restart
			p := rewritten.proof(t, tc.from, tc.to, tc.cp)
			err := c.VerifyProof(p)
			if tc.forked != errors.Is(err, tenantclient.ErrLogForked) || (!tc.forked && err != nil) {
				t.Fatalf("err = %v, forked %v", err, tc.forked)
			}
			// The same proof checked alone (a client that kept nothing) verifies.
			fresh := t.TempDir()
			if _, err := tenantclient.Init(fresh, "tenant-l", rand.Reader); err != nil {
				t.Fatal(err)
			}
			alone, err := tenantclient.New(tenantclient.Config{URL: "http://127.0.0.1:1", StateDir: fresh})
			if err != nil {
				t.Fatal(err)
			}
			if err := alone.VerifyProof(p); err != nil {
				t.Fatalf("the rewritten proof alone: %v", err)
			}
		})
	}
	// The honest history goes on verifying.
	c = open()
	if err := c.VerifyProof(honest.proof(t, 7, 12, 12)); err != nil {
		t.Fatal(err)
	}
}
