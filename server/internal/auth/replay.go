package auth

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// ReplayCache is an in-memory [ReplayGuard] holding at most a fixed number
// of unexpired token ids, and at most a smaller number per tenant. Expired
// ids are dropped as time passes. Rather than forget an id that could then
// be replayed, Claim refuses: with a [*QuotaError] (HTTP 429) when the
// tenant holds its quota of unexpired ids, so one tenant minting tokens
// as fast as it can never locks the others out, and with
// [ErrReplayCacheFull] (HTTP 503) when the whole cache is full.
//
// It serves one process only; several replicas need a shared guard in
// front of it (the server's Redis guard).
type ReplayCache struct {
	mu        sync.Mutex
	max       int
	perTenant int
	now       func() time.Time
	expires   map[replayKey]time.Time
	tenants   map[string]int // unexpired ids per tenant
	queue     expiryHeap
}

type replayKey struct{ tenant, id string }

var _ ReplayGuard = (*ReplayCache)(nil)

// NewReplayCache returns a cache of at most max ids, at most perTenant of
// them for one tenant (perTenant <= 0 or above max means max); now nil
// means time.Now.
func NewReplayCache(max, perTenant int, now func() time.Time) *ReplayCache {
	if now == nil {
		now = time.Now
	}
	if perTenant <= 0 || perTenant > max {
		perTenant = max
	}
	return &ReplayCache{max: max, perTenant: perTenant, now: now,
		expires: make(map[replayKey]time.Time), tenants: make(map[string]int)}
}

// Claim implements [ReplayGuard].
func (r *ReplayCache) Claim(_ context.Context, tenant, id string, expires time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	for len(r.queue) > 0 && !r.queue[0].at.After(now) {
		e := heap.Pop(&r.queue).(expiry)
		if at, ok := r.expires[e.key]; ok && !at.After(now) {
			delete(r.expires, e.key)
			if r.tenants[e.key.tenant]--; r.tenants[e.key.tenant] <= 0 {
				delete(r.tenants, e.key.tenant)
			}
		}
	}
	k := replayKey{tenant, id}
	if at, ok := r.expires[k]; ok && at.After(now) {
		return ErrReplayed
	}
	if !expires.After(now) {
		return nil // already expired: the token check refuses it anyway
	}
	if r.perTenant < r.max && r.tenants[tenant] >= r.perTenant {
		// The oldest ids expire first; a second is a fair guess for when
		// one of this tenant's is gone at a steady rate.
		return &QuotaError{After: time.Second}
	}
	if len(r.expires) >= r.max {
		return ErrReplayCacheFull
	}
	r.expires[k] = expires
	r.tenants[tenant]++
	heap.Push(&r.queue, expiry{key: k, at: expires})
	return nil
}

// Len returns the number of ids held.
func (r *ReplayCache) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.expires)
}

type expiry struct {
	key replayKey
	at  time.Time
}

type expiryHeap []expiry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
