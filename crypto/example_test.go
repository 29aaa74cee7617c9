package crypto_test

import (
	"crypto/rand"
	"fmt"
	"time"

	"github.com/hisoka-project/hisoka/crypto"
)

// The whole protocol between a server and one tenant.
func Example() {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	sched := crypto.Schedule{Origin: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Length: 30 * 24 * time.Hour, Overlap: 7 * 24 * time.Hour}

	// Server: keys, published directory.
	kr, _ := crypto.NewKeyring(rand.Reader, sched, now)
	dirBytes, _ := kr.Directory(now)
	pinned := kr.BoardPublicKey() // tenants get this out of band

	// Tenant: verify the directory, register a descriptor blindly.
	dir, _ := crypto.ParseDirectory(dirBytes, pinned)
	key, _ := dir.KeyAt(now)
	sub := crypto.Descriptor{PatternID: "nova.instance.live-migration", ResourceID: "vm-1"}
	reg, req, _ := crypto.Blind(rand.Reader, key, "tenant-a", []crypto.Descriptor{sub})

	// Server: the tenant id comes from the authenticated JWT, never the body.
	budget := crypto.DefaultEvaluationBudget()
	parsed, _ := crypto.ParseEvaluationRequest(req)
	// (counters from the store: this tenant under this key, all tenants under it)
	if err := budget.Allow(0, uint64(len(parsed.Elements))); err != nil {
		panic(err)
	}
	if err := budget.AllowAllTenants(0, uint64(len(parsed.Elements))); err != nil {
		panic(err)
	}
	resp, _ := kr.Evaluate(rand.Reader, "tenant-a", now, req)

	// Tenant: tokens, checked against the published key.
	toks, _ := reg.Finalize(resp)
	m := crypto.NewMatcher("tenant-a", crypto.EpochAt(now), 0)
	m.Subscribe("my-sub", &toks[0], 0)

	// Server: the detection fires; mint without the tenant, post to its board.
	tok, _ := crypto.NewMinter(kr, 1000).Mint("tenant-a", sched.PeriodAt(now), sub)
	entry, _ := crypto.NewEntry(&tok, "tenant-a", crypto.EpochAt(now), 0,
		crypto.Payload{Start: now.Add(-time.Minute), End: now, Severity: 2, Count: 1})
	batch, _ := kr.SealBatch(crypto.FirstHeader("tenant-a", crypto.EpochAt(now), now), []crypto.Entry{entry}, 16)
	stored, _ := batch.MarshalStored()
	served, _ := kr.OpenStored(stored)
	wire, _ := served.MarshalBinary()

	// Tenant: verify the chain and match locally.
	// Now is the SDK's clock (batches from its future are refused).
	v := &crypto.ChainVerifier{BoardKey: pinned, Tenant: "tenant-a", Now: func() time.Time { return now }}
	accepted, err := v.Verify(wire)
	if err != nil {
		panic(err)
	}
	// Nothing sent to the server may depend on ns (or m.Unopened()).
	ns, _ := m.Match(accepted[0])
	fmt.Println(len(accepted[0].Entries()), "entries,", len(ns), "for us:", ns[0].SubscriptionID, ns[0].Payload.Count)
	// Output: 16 entries, 1 for us: my-sub 1
}
