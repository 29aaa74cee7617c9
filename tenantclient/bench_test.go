package tenantclient

import (
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/crypto"
)

// BenchmarkMatchBatch is the target: matching a batch of 1,000
// entries (100 of them the tenant's, the rest other subscriptions' or
// dummies) against 10,000 subscriptions, opening the hits and naming their
// subscriptions, in under 20 ms.
func BenchmarkMatchBatch(b *testing.B) {
	const subs, entries, hits = 10000, 1000, 100
	now := time.Now()
	epoch := crypto.EpochAt(now)
	c := &Client{cfg: Config{Window: crypto.DefaultWindow}, tenant: "tenant-bench", st: &state{Version: stateVersion, Tenant: "tenant-bench", MatchEpoch: epoch}}
	toks := make([]crypto.Token, subs)
	for i := range toks {
		if _, err := rand.Read(toks[i][:]); err != nil {
			b.Fatal(err)
		}
		c.st.Subscriptions = append(c.st.Subscriptions, subscription{
			Subscription: Subscription{ID: fmt.Sprintf("vm.create@vm-%05d", i), Pattern: "vm.create", Resource: fmt.Sprintf("vm-%05d", i)},
			Tokens:       []heldToken{{Period: 1, Token: toks[i][:]}},
		})
	}
	var es []crypto.Entry
	for i := range hits {
		e, err := crypto.NewEntry(&toks[i*(subs/hits)], c.tenant, epoch, 0, crypto.Payload{Start: now, End: now, Severity: 2, Count: 1})
		if err != nil {
			b.Fatal(err)
		}
		es = append(es, e)
	}
	kr, err := crypto.NewKeyring(rand.Reader, crypto.Schedule{Origin: now.Add(-time.Hour), Length: 720 * time.Hour, Overlap: 24 * time.Hour}, now)
	if err != nil {
		b.Fatal(err)
	}
	batch, err := kr.SealBatch(crypto.FirstHeader(c.tenant, epoch, now), es, entries)
	if err != nil {
		b.Fatal(err)
	}
	if len(batch.Entries()) != entries {
		b.Fatalf("%d entries", len(batch.Entries()))
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		if err := c.restore(); err != nil { // fresh counters each round
			b.Fatal(err)
		}
		b.StartTimer()
		ns, err := c.matcher.Match(batch)
		if err != nil {
			b.Fatal(err)
		}
		out := make([]Notification, 0, len(ns))
		for _, n := range ns {
			out = append(out, c.notification(batch.Seq(), n))
		}
		if len(out) != hits {
			b.Fatalf("%d notifications", len(out))
		}
	}
}
