package server

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/hisoka-project/hisoka/crypto"
	"github.com/hisoka-project/hisoka/matcher"
	"github.com/hisoka-project/hisoka/spec"
	"github.com/hisoka-project/hisoka/store"
)

// boardPad is the size every batch is padded to with dummies, so a batch's
// size says nothing about how many detections it carries (up to this many).
const boardPad = 16

// boards writes tenants' notification boards and wakes their long polls.
// One writer per process: batches of a tenant are appended in sequence
// under mu.
type boards struct {
	svc *service

	mu        sync.Mutex
	lastEpoch map[string]uint64 // tenant -> epoch of its last batch
	// taken holds the occurrence counters taken for entries whose batch was
	// not appended (under mu), so that posting the same detection again
	// reuses its counter instead of leaving a hole the tenant must skip.
	taken map[takenKey]takenCounter

	wmu     sync.Mutex
	waiters map[string]chan struct{} // closed when the tenant's board grows
	closing chan struct{}            // closed when the server shuts down: long polls answer at once
	closed  bool
}

func newBoards(svc *service) *boards {
	return &boards{svc: svc, lastEpoch: map[string]uint64{}, taken: map[takenKey]takenCounter{}, waiters: map[string]chan struct{}{}, closing: make(chan struct{})}
}

// shutdown ends every long poll (each answers with what it has).
func (b *boards) shutdown() {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	if !b.closed {
		b.closed = true
		close(b.closing)
	}
}

// wait returns a channel closed at the next append to tenant's board.
func (b *boards) wait(tenant string) <-chan struct{} {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	ch, ok := b.waiters[tenant]
	if !ok {
		ch = make(chan struct{})
		b.waiters[tenant] = ch
	}
	return ch
}

func (b *boards) wake(tenant string) {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	if ch, ok := b.waiters[tenant]; ok {
		close(ch)
		delete(b.waiters, tenant)
	}
}

// AnyResource is the resource id of descriptors for detections on a
// tenant's own log stream (whatever key the rule counted by, an attacker's
// address for instance), and of platform detections without a resource:
// "rule X fired on my logs".
const AnyResource = "*"

// descriptor is the subscription a detection fires: its pattern or rule id
// and resource; an incomplete occurrence carries its reason as the one
// parameter. Detections on a tenant's own stream use [AnyResource].
func descriptor(d *matcher.Detection, ownStream bool) crypto.Descriptor {
	res := d.Resource
	if res == "" || ownStream {
		res = AnyResource
	}
	desc := crypto.Descriptor{PatternID: d.ID, ResourceID: res}
	if d.Kind == matcher.KindIncomplete && d.Reason != "" {
		desc.Params = []crypto.Param{{Name: "reason", Value: d.Reason}}
	}
	return desc
}

// publish posts one entry per new detection (minted whether or not anybody
// subscribed) to tenant's board in one batch, with the detection ids, so
// that a detection seen again after a restart is skipped. With no
// detections it writes a batch of dummies only.
func (b *boards) publish(ctx context.Context, tenant string, dets []matcher.Detection, ownStream bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(dets) > maxBatchDetections {
		if err := b.publishLocked(ctx, tenant, dets[:maxBatchDetections], ownStream); err != nil {
			return err
		}
		dets = dets[maxBatchDetections:]
	}
	return b.publishLocked(ctx, tenant, dets, ownStream)
}

// maxBatchDetections bounds the entries of one batch (crypto allows 65,536).
const maxBatchDetections = 4096

// takenKey names an entry whose counter was taken but whose batch was not
// appended: the tenant, the detection, the counter key (which binds the
// token and the epoch) and the encoded payload. The entry at (tenant,
// token, epoch, counter) is a function of exactly these, so a counter
// reused under the same takenKey yields the very same entry bytes; a
// counter value is never reused for a different entry (spec/protocol.md
// section 6.3: the entry key and its fixed nonce are unique to the
// occurrence).
type takenKey struct {
	tenant, detection string
	counterKey        [16]byte
	payload           string
}

type takenCounter struct {
	epoch uint64
	n     uint64
}

// maxTaken bounds the counters kept for retries; beyond it a failed
// append leaves holes, as the tenant's lookahead allows (section 9).
const maxTaken = 1 << 16

// counter returns the occurrence counter of an entry: the one taken for
// the same entry by an earlier attempt whose batch was not appended, else
// a new one from the store. mu is held.
func (b *boards) counter(ctx context.Context, k takenKey, epoch uint64) (uint64, error) {
	if c, ok := b.taken[k]; ok {
		return c.n, nil
	}
	n, err := b.svc.st.AddCounter(ctx, k.tenant, "occ-"+hex.EncodeToString(k.counterKey[:]), 1)
	if err != nil {
		return 0, err
	}
	if n < 1 {
		return 0, fmt.Errorf("server: occurrence counter %d", n)
	}
	if len(b.taken) >= maxTaken {
		b.pruneTaken(epoch)
	}
	if len(b.taken) < maxTaken {
		b.taken[k] = takenCounter{epoch: epoch, n: uint64(n - 1)}
	}
	return uint64(n - 1), nil
}

// pruneTaken forgets counters of epochs before epoch: a batch of a later
// epoch takes new counters anyway.
func (b *boards) pruneTaken(epoch uint64) {
	for k, c := range b.taken {
		if c.epoch < epoch {
			delete(b.taken, k)
		}
	}
}

func (b *boards) publishLocked(ctx context.Context, tenant string, dets []matcher.Detection, ownStream bool) error {
	st := b.svc.st
	var ids []string
	var fresh []*matcher.Detection
	for i := range dets {
		d := &dets[i]
		seen, err := st.HasDetection(ctx, tenant, d.DetectionID)
		if err != nil {
			return err
		}
		if !seen && !containsString(ids, d.DetectionID) {
			ids = append(ids, d.DetectionID)
			fresh = append(fresh, d)
		}
	}
	if len(dets) > 0 && len(fresh) == 0 {
		return nil
	}
	kr, minter := b.svc.keys.get()
	now := b.svc.now()
	epoch := crypto.EpochAt(now)
	var h crypto.BatchHeader
	last, err := st.LastBoard(ctx, tenant)
	switch {
	case errors.Is(err, store.ErrNotFound):
		h = crypto.FirstHeader(tenant, epoch, now)
	case err != nil:
		return err
	default:
		prev, err := kr.OpenStored(last.Data)
		if err != nil {
			return err
		}
		if prev.Epoch() > epoch { // the clock went back: epochs never decrease
			epoch = prev.Epoch()
		}
		h = prev.Next(epoch, now)
	}
	period := kr.Schedule().PeriodAt(now)
	entries := make([]crypto.Entry, 0, len(fresh))
	keys := make([]takenKey, 0, len(fresh))
	for _, d := range fresh {
		tok, err := minter.Mint(tenant, period, descriptor(d, ownStream))
		if err != nil {
			return err
		}
		end := d.End
		if end.Before(d.Start) {
			end = d.Start
		}
		sev := d.Severity
		if sev < 0 {
			sev = 0
		}
		p := crypto.Payload{Start: d.Start, End: end, Severity: crypto.Severity(min(sev, 255)), Count: uint32(max(d.Count, 1))}
		pb, err := p.MarshalBinary()
		if err != nil {
			return err
		}
		k := takenKey{tenant: tenant, detection: d.DetectionID, counterKey: tok.CounterKey(epoch), payload: string(pb)}
		n, err := b.counter(ctx, k, epoch)
		if err != nil {
			return err
		}
		e, err := crypto.NewEntry(&tok, tenant, epoch, n, p)
		if err != nil {
			return err
		}
		entries = append(entries, e)
		keys = append(keys, k)
	}
	batch, err := kr.SealBatch(h, entries, boardPad)
	if err != nil {
		return err
	}
	data, err := batch.MarshalStored()
	if err != nil {
		return err
	}
	start := time.Now()
	if err := st.AppendBoard(ctx, tenant, store.BoardBatch{Seq: h.Seq, Data: data, Detections: ids}); err != nil {
		return fmt.Errorf("server: board append: %w", err)
	}
	for _, k := range keys { // written: these counters are spent
		delete(b.taken, k)
	}
	if len(b.taken) > 0 {
		b.pruneTaken(epoch)
	}
	b.svc.s.metrics.ObserveStore("append_board", start)
	b.svc.s.metrics.BoardBatches.Inc()
	b.svc.s.metrics.BoardEntries.Add(float64(len(entries)))
	b.lastEpoch[tenant] = epoch
	b.wake(tenant)
	var hit []string
	for _, d := range fresh {
		hit = append(hit, d.ID)
	}
	if err := b.svc.countHits(ctx, tenant, hit, now); err != nil {
		return err
	}
	return nil
}

// heartbeat writes a dummy batch for every tenant whose board has no batch
// in the current epoch: tenants rely on one batch per epoch to detect
// withheld batches. A tenant whose batch cannot be written is logged and
// skipped, so it never keeps the tenants after it from their epoch batch;
// the error returned then only counts the failures.
func (b *boards) heartbeat(ctx context.Context, now time.Time) error {
	ts, err := b.svc.st.ListTenants(ctx)
	if err != nil {
		return err
	}
	epoch := crypto.EpochAt(now)
	failed := 0
	for _, t := range ts {
		if err := ctx.Err(); err != nil {
			return err
		}
		if spec.Reserved(t.ID) {
			continue
		}
		if err := b.heartbeatTenant(ctx, t.ID, epoch); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failed++
			b.svc.s.log.Error("epoch batch failed", "tenant", t.ID, "err", err)
		}
	}
	if failed > 0 {
		return fmt.Errorf("server: epoch batch failed for %d of %d tenants", failed, len(ts))
	}
	return nil
}

// heartbeatTenant writes tenant's dummy batch unless its board already has
// a batch in epoch.
func (b *boards) heartbeatTenant(ctx context.Context, tenant string, epoch uint64) error {
	b.mu.Lock()
	e, ok := b.lastEpoch[tenant]
	b.mu.Unlock()
	if !ok {
		last, err := b.svc.st.LastBoard(ctx, tenant)
		if err == nil {
			kr, _ := b.svc.keys.get()
			if prev, err := kr.OpenStored(last.Data); err == nil {
				e, ok = prev.Epoch(), true
				b.mu.Lock()
				b.lastEpoch[tenant] = e
				b.mu.Unlock()
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	if ok && e >= epoch {
		return nil
	}
	return b.publish(ctx, tenant, nil, false)
}

// served returns the batches after seq in their wire form.
func (b *boards) served(ctx context.Context, tenant string, after uint64, limit int) ([]spec.Batch, error) {
	bs, err := b.svc.st.BoardAfter(ctx, tenant, after, limit)
	if err != nil {
		return nil, err
	}
	kr, _ := b.svc.keys.get()
	out := make([]spec.Batch, 0, len(bs))
	for _, x := range bs {
		batch, err := kr.OpenStored(x.Data)
		if err != nil {
			return nil, err
		}
		wire, err := batch.MarshalBinary()
		if err != nil {
			return nil, err
		}
		out = append(out, spec.Batch{Seq: x.Seq, Data: wire})
	}
	return out, nil
}

func containsString(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func severityLabel(s int) string { return strconv.Itoa(s) }
