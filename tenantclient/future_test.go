package tenantclient_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/crypto"
	"github.com/hisoka-project/hisoka/tenantclient"
)

// TestFutureBatch: batches are judged against the client's clock
// (Config.Now), not the machine's; a validly signed batch dated far in the
// future is refused without moving the client's position or dropping
// tokens; and a creation time from the future kept in an old state file
// does not make the client skip a key period.
func TestFutureBatch(t *testing.T) {
	b, c, dir, srv := newClockWorld(t)
	origin := b.kr.Schedule().Origin
	// The board's (and the client's) clock is days ahead of the machine's.
	b.advance(t, b.clock().Add(72*time.Hour))
	desc := []crypto.Descriptor{{PatternID: "vm.create", ResourceID: "vm-1"}}
	if _, err := c.Subscribe(t.Context(), tenantclient.Subscription{ID: "created", Pattern: "vm.create", Resource: "vm-1"}); err != nil {
		t.Fatal(err)
	}
	b.publish(t, desc)
	if ns, err := c.Poll(t.Context(), 0); err != nil || len(ns) != 1 {
		t.Fatalf("on the client's clock: %+v, %v", ns, err)
	}
	periods := func() []uint64 { return c.Subscriptions()[0].Periods }

	// A state written by a version that believed any creation time.
	raw, err := os.ReadFile(filepath.Join(dir, tenantclient.StateFile))
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	st["last_created"] = b.clock().AddDate(10, 0, 0)
	raw, _ = json.Marshal(st)
	if err := os.WriteFile(filepath.Join(dir, tenantclient.StateFile), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = tenantclient.New(tenantclient.Config{URL: srv.URL, StateDir: dir, Now: b.clock})
	if err != nil {
		t.Fatal(err)
	}
	// In the overlap before period 1: the client registers with the next key.
	b.advance(t, origin.Add(29*24*time.Hour+time.Hour))
	if err := c.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := periods(); !slices.Equal(got, []uint64{0, 1}) {
		t.Fatalf("periods %v, want both keys during the overlap", got)
	}
	if _, err := c.Poll(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	seq, epoch := c.Board()

	// A validly signed batch of a far-future epoch, created far ahead.
	b.mu.Lock()
	far := b.now.AddDate(100, 0, 0)
	batch, err := b.kr.SealBatch(b.last.Next(crypto.EpochAt(far), far), nil, 8)
	if err != nil {
		b.mu.Unlock()
		t.Fatal(err)
	}
	w, _ := batch.MarshalBinary()
	b.wire = append(b.wire, w)
	b.mu.Unlock()
	_, err = c.Poll(t.Context(), 0)
	if !errors.Is(err, tenantclient.ErrTampered) || !errors.Is(err, crypto.ErrBatchFuture) {
		t.Fatalf("err = %v, want a batch from the future", err)
	}
	if s, e := c.Board(); s != seq || e != epoch {
		t.Fatalf("position moved to %d/%d from %d/%d", s, e, seq, epoch)
	}
	if got := periods(); !slices.Equal(got, []uint64{0, 1}) {
		t.Fatalf("periods %v after a future batch", got)
	}
	// Freshness still works: two epochs later with nothing accepted since,
	// the board is withholding (the future batch stays refused).
	b.mu.Lock()
	b.now = b.now.Add(3 * crypto.EpochLength)
	b.mu.Unlock()
	_, err = c.Poll(t.Context(), 0)
	if !errors.Is(err, crypto.ErrBatchFuture) || !errors.Is(err, tenantclient.ErrWithheld) || !errors.Is(err, crypto.ErrBatchStale) {
		t.Fatalf("err = %v, want the future batch and a stale board", err)
	}

	// A state saved by a version that accepted a far-future batch: the
	// freshness check cannot be silenced by it either.
	raw, err = os.ReadFile(filepath.Join(dir, tenantclient.StateFile))
	if err != nil {
		t.Fatal(err)
	}
	st = nil
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	st["last_epoch"] = crypto.EpochAt(far)
	st["match_epoch"] = crypto.EpochAt(far)
	raw, _ = json.Marshal(st)
	if err := os.WriteFile(filepath.Join(dir, tenantclient.StateFile), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	b.wire = b.wire[:len(b.wire)-1] // the board now withholds everything new
	b.mu.Unlock()
	c, err = tenantclient.New(tenantclient.Config{URL: srv.URL, StateDir: dir, Now: b.clock})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Poll(t.Context(), 0); !errors.Is(err, tenantclient.ErrTampered) || !errors.Is(err, crypto.ErrBatchFuture) {
		t.Fatalf("err = %v, want the stored future epoch reported", err)
	}
}
