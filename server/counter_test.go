package server

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/crypto"
	"github.com/hisoka-project/hisoka/matcher"
	"github.com/hisoka-project/hisoka/store"
)

// failingAppends is the real store with its board appends failing while
// fails > 0 (a store outage at the worst moment: counters taken, batch not
// written).
type failingAppends struct {
	Backend
	fails int
}

var errAppendOutage = errors.New("test: board append outage")

func (f *failingAppends) AppendBoard(ctx context.Context, tenant string, bb store.BoardBatch) error {
	if f.fails > 0 {
		f.fails--
		return errAppendOutage
	}
	return f.Backend.AppendBoard(ctx, tenant, bb)
}

// TestFailedAppendsKeepCounters: a detection whose batch fails to append
// several times (more than the tenant's lookahead of 4) and is then posted
// reuses the counter it took first, so the tenant still recognises it and
// the next occurrences of the same subscription in the hour; a different
// detection never gets a counter another entry used.
func TestFailedAppendsKeepCounters(t *testing.T) {
	s, _ := openService(t, nil)
	ctx := t.Context()
	const tenant = "tenant-a"
	putTenant(t, s, tenant)
	real := s.svc.st
	fa := &failingAppends{Backend: real}
	s.svc.st = fa
	defer func() { s.svc.st = real }()

	now := time.Now()
	s.svc.now = func() time.Time { return now } // one epoch throughout
	epoch := crypto.EpochAt(now)
	start := now.Add(-time.Minute).Truncate(time.Second)
	det := func(i int) matcher.Detection {
		return matcher.Detection{Kind: matcher.KindPattern, ID: "vm.create", DetectionID: fmt.Sprintf("det-%d", i),
			Resource: "vm-1", Start: start.Add(time.Duration(i) * time.Second), End: start.Add(time.Duration(i) * time.Second), Severity: 2, Count: 1}
	}
	// The first posting fails five times (the pipeline retries the same
	// detections), then goes through.
	fa.fails = 5
	for range 5 {
		if err := s.svc.boards.publish(ctx, tenant, []matcher.Detection{det(1)}, false); !errors.Is(err, errAppendOutage) {
			t.Fatalf("want the outage, got %v", err)
		}
	}
	if err := s.svc.boards.publish(ctx, tenant, []matcher.Detection{det(1)}, false); err != nil {
		t.Fatal(err)
	}
	// A failed batch with a new detection, which is then dropped (never
	// posted), and two more occurrences of the same subscription.
	fa.fails = 1
	if err := s.svc.boards.publish(ctx, tenant, []matcher.Detection{det(2)}, false); !errors.Is(err, errAppendOutage) {
		t.Fatalf("want the outage, got %v", err)
	}
	if err := s.svc.boards.publish(ctx, tenant, []matcher.Detection{det(3), det(4)}, false); err != nil {
		t.Fatal(err)
	}

	// The tenant's side: its token for the subscription, a chain verifier
	// and a matcher with the default lookahead.
	kr, minter := s.svc.keys.get()
	tok, err := minter.Mint(tenant, kr.Schedule().PeriodAt(now), descriptor(&matcher.Detection{ID: "vm.create", Resource: "vm-1"}, false))
	if err != nil {
		t.Fatal(err)
	}
	ck := tok.CounterKey(epoch)
	bs, err := s.svc.boards.served(ctx, tenant, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var wire [][]byte
	for _, b := range bs {
		wire = append(wire, b.Data)
	}
	v := &crypto.ChainVerifier{BoardKey: kr.BoardPublicKey(), Tenant: tenant}
	batches, err := v.Verify(wire...)
	if err != nil {
		t.Fatal(err)
	}
	m := crypto.NewMatcher(tenant, epoch, 0)
	if err := m.Subscribe("create", &tok, 0); err != nil {
		t.Fatal(err)
	}
	var starts []time.Time
	for _, b := range batches {
		ns, err := m.Match(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range ns {
			starts = append(starts, n.Payload.Start)
		}
	}
	want := []time.Time{det(1).Start, det(3).Start, det(4).Start}
	if len(starts) != len(want) {
		t.Fatalf("tenant recognised %d notifications %v, want %d", len(starts), starts, len(want))
	}
	seen := map[int64]bool{}
	for _, st := range starts {
		seen[st.UnixNano()] = true
	}
	for _, w := range want {
		if !seen[w.UnixNano()] {
			t.Fatalf("missing the notification starting %v (got %v)", w, starts)
		}
	}
	// Counters taken: 0 for det-1 (five failures, one counter), 1 for the
	// dropped det-2 (a hole within the lookahead), 2 and 3 for det-3 and
	// det-4: never one value for two different entries.
	n, err := real.AddCounter(ctx, tenant, "occ-"+fmt.Sprintf("%x", ck[:]), 0)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Fatalf("counter at %d, want 4", n)
	}
}
