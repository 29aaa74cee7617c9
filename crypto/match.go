package crypto

import (
	"crypto/cipher"
	"log/slog"
)

// DefaultWindow is how many upcoming occurrence counters a [Matcher] keeps
// tags for per subscription: up to DefaultWindow-1 consecutive counters may
// be lost (a server crash between counting and writing) without losing sync.
const DefaultWindow = 4

// Notification is one entry the tenant recognised and opened.
type Notification struct {
	SubscriptionID string
	Epoch, Counter uint64
	Payload        Payload
}

type msub struct {
	id   string
	tags cipher.Block // keyed with the tag key
	pk   PayloadKey
	next uint64 // next expected counter in the matcher's epoch
}

type slot struct {
	sub     int32
	counter uint64
}

// Matcher is the tenant's local matching: for each subscription (token) it
// keeps the tags of its next Window expected occurrences in the current
// epoch, so matching a batch costs one map lookup per entry. Nothing about
// which entries matched ever leaves the tenant. It is not safe for
// concurrent use and redacts itself in logs.
//
// Match never tells its caller, through an error or control flow, that an
// entry's tag matched when its payload does not open: such an entry is a
// non-match, counted only in [Matcher.Unopened]. The server can compute any
// tenant's tag for any descriptor, so a reaction to "tag matched, payload
// bad" would let it test which tokens the tenant holds. Callers MUST NOT
// take network-visible actions (poll timing, retries, requests, errors sent
// to the server) that depend on what Match found.
type Matcher struct {
	tenant   string
	window   uint64
	epoch    uint64
	subs     []*msub
	ids      map[string]int32
	table    map[Tag]slot
	unopened uint64
}

// NewMatcher returns a matcher for tenantID positioned at epoch, keeping
// window tags per subscription (DefaultWindow if window < 1).
func NewMatcher(tenantID string, epoch uint64, window int) *Matcher {
	if window < 1 {
		window = DefaultWindow
	}
	return &Matcher{tenant: tenantID, window: uint64(window), epoch: epoch, ids: map[string]int32{}, table: map[Tag]slot{}}
}

// LogValue redacts the tokens.
func (m *Matcher) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("subscriptions", len(m.subs)), slog.Uint64("epoch", m.epoch))
}

// Epoch returns the epoch the matcher is positioned at.
func (m *Matcher) Epoch() uint64 { return m.epoch }

// Next returns the next expected occurrence counter of a subscription in the
// current epoch (persist it with Epoch to resume after a restart).
func (m *Matcher) Next(id string) (uint64, bool) {
	i, ok := m.ids[id]
	if !ok {
		return 0, false
	}
	return m.subs[i].next, true
}

// Subscribe adds a token under the tenant's own id for it, expecting
// occurrence counter next in the current epoch (0 for a fresh epoch). A
// subscription holding tokens of two key periods uses two ids.
func (m *Matcher) Subscribe(id string, tok *Token, next uint64) error {
	if _, dup := m.ids[id]; dup {
		return ErrMalformed
	}
	tk := tok.TagKey()
	s := &msub{id: id, tags: tk.cipher(), pk: tok.PayloadKey(), next: next}
	idx := int32(len(m.subs))
	m.subs = append(m.subs, s)
	m.ids[id] = idx
	m.fill(idx, next)
	return nil
}

// Unsubscribe forgets a subscription (for example a token of a key period
// that has ended). It reports whether the id was known.
func (m *Matcher) Unsubscribe(id string) bool {
	i, ok := m.ids[id]
	if !ok {
		return false
	}
	s := m.subs[i]
	m.drop(i, s.next, s.next+m.window)
	delete(m.ids, id)
	m.subs[i] = nil
	return true
}

// fill adds tags for counters [from, next+window) of subscription i.
func (m *Matcher) fill(i int32, from uint64) {
	s := m.subs[i]
	for c := from; c < s.next+m.window; c++ {
		m.table[tagWith(s.tags, m.epoch, c)] = slot{sub: i, counter: c}
	}
}

// drop removes tags for counters [from, to) of subscription i.
func (m *Matcher) drop(i int32, from, to uint64) {
	s := m.subs[i]
	for c := from; c < to; c++ {
		delete(m.table, tagWith(s.tags, m.epoch, c))
	}
}

// Advance moves the matcher to a later epoch: every counter restarts at 0.
func (m *Matcher) Advance(epoch uint64) error {
	if epoch < m.epoch {
		return ErrEpoch
	}
	if epoch == m.epoch {
		return nil
	}
	m.epoch = epoch
	clear(m.table)
	for i, s := range m.subs {
		if s == nil {
			continue
		}
		s.next = 0
		m.fill(int32(i), 0)
	}
	return nil
}

// Unopened returns how many entries so far carried one of the tenant's
// expected tags but a payload that did not open. Honest servers never
// produce them (a nonzero count means the board served forged entries); it
// is for local diagnostics only and MUST NOT drive anything the server can
// observe.
func (m *Matcher) Unopened() uint64 { return m.unopened }

// Match finds this tenant's entries in a verified batch and opens them. A
// batch of a later epoch advances the matcher first. Entries that are not
// the tenant's (other subscriptions, dummies) are skipped in constant work.
//
// An entry whose tag matches but whose payload does not open is treated as
// a non-match: it yields no notification, does not move the subscription's
// expected counter, and is only counted in [Matcher.Unopened]. The error is
// nil except for [ErrEpoch] (a batch of an earlier epoch than the matcher's),
// which depends only on the public batch header, never on the tenant's
// tokens.
func (m *Matcher) Match(b *Batch) ([]Notification, error) {
	if err := m.Advance(b.Epoch()); err != nil {
		return nil, err
	}
	pending := b.entries
	var out []Notification
	for len(pending) > 0 {
		var rest []Entry
		hit := map[int32]uint64{} // highest opened counter per subscription
		for i := range pending {
			e := &pending[i]
			sl, ok := m.table[e.Tag]
			if !ok {
				rest = append(rest, *e)
				continue
			}
			s := m.subs[sl.sub]
			p, err := s.pk.Open(m.tenant, m.epoch, sl.counter, e.Sealed[:])
			if err != nil {
				// Forged: drop it (not rescanned) and count it locally.
				m.unopened++
				continue
			}
			out = append(out, Notification{SubscriptionID: s.id, Epoch: m.epoch, Counter: sl.counter, Payload: p})
			if c, seen := hit[sl.sub]; !seen || sl.counter > c {
				hit[sl.sub] = sl.counter
			}
		}
		if len(hit) == 0 {
			break
		}
		for i, c := range hit {
			s := m.subs[i]
			old := s.next
			s.next = c + 1
			m.drop(i, old, s.next)
			m.fill(i, max(old+m.window, s.next))
		}
		pending = rest
	}
	return out, nil
}
