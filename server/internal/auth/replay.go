package auth

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// ReplayCache is an in-memory [ReplayGuard] holding at most a fixed number
// of unexpired token ids. Expired ids are dropped as time passes; when the
// cache is full of unexpired ids, Claim refuses with [ErrReplayCacheFull]
// rather than forget an id that could then be replayed.
//
// It serves one process only; several replicas need a shared guard.
type ReplayCache struct {
	mu      sync.Mutex
	max     int
	now     func() time.Time
	expires map[string]time.Time
	queue   expiryHeap
}

var _ ReplayGuard = (*ReplayCache)(nil)

// NewReplayCache returns a cache of at most max ids; now nil means time.Now.
func NewReplayCache(max int, now func() time.Time) *ReplayCache {
	if now == nil {
		now = time.Now
	}
	return &ReplayCache{max: max, now: now, expires: make(map[string]time.Time)}
}

// Claim implements [ReplayGuard].
func (r *ReplayCache) Claim(_ context.Context, key string, expires time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	for len(r.queue) > 0 && !r.queue[0].at.After(now) {
		e := heap.Pop(&r.queue).(expiry)
		if at, ok := r.expires[e.key]; ok && !at.After(now) {
			delete(r.expires, e.key)
		}
	}
	if at, ok := r.expires[key]; ok && at.After(now) {
		return ErrReplayed
	}
	if !expires.After(now) {
		return nil // already expired: the token check refuses it anyway
	}
	if len(r.expires) >= r.max {
		return ErrReplayCacheFull
	}
	r.expires[key] = expires
	heap.Push(&r.queue, expiry{key: key, at: expires})
	return nil
}

// Len returns the number of ids held.
func (r *ReplayCache) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.expires)
}

type expiry struct {
	key string
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
