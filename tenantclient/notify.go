package tenantclient

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hisoka-project/hisoka/crypto"
	"github.com/hisoka-project/hisoka/spec"
)

// Notification is one verified, decrypted occurrence of a subscription.
type Notification struct {
	// Subscription is the local subscription id; Pattern, Resource and
	// Params repeat what it names.
	Subscription string         `json:"subscription"`
	Pattern      string         `json:"pattern"`
	Resource     string         `json:"resource"`
	Params       []crypto.Param `json:"params,omitempty"`
	// Period is the key period of the token that recognised the entry.
	Period uint64 `json:"period"`
	// Seq is the board batch that carried it; Epoch and Counter place the
	// occurrence (unique per subscription and period).
	Seq     uint64 `json:"seq"`
	Epoch   uint64 `json:"epoch"`
	Counter uint64 `json:"counter"`
	// The sealed payload: when, how bad, how often.
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Severity uint8     `json:"severity"`
	Count    uint32    `json:"count"`
}

// pollLimit is the server's page size: a full page means more is waiting.
const pollLimit = 100

// maxWait is the server's bound on a long poll.
const maxWait = 60 * time.Second

// fetch long-polls the board once (up to wait), verifies what arrives,
// matches it and appends the notifications to the pending queue, then
// saves. Batches accepted before a verification error are kept. c.pollMu
// must be held (one poll at a time); c.mu is taken only around the state,
// not during the long poll.
func (c *Client) fetch(ctx context.Context, wait time.Duration) error {
	c.mu.Lock()
	if c.lastRefresh.IsZero() || c.cfg.Now().Sub(c.lastRefresh) >= c.cfg.RefreshInterval {
		if err := c.refresh(ctx); err != nil {
			c.mu.Unlock()
			return err
		}
	}
	pinned := c.verifier.BoardKey != nil
	c.mu.Unlock()
	if !pinned {
		return fmt.Errorf("%w: board key not pinned", ErrConfig)
	}
	for {
		c.mu.Lock()
		after := c.verifier.LastSeq
		c.mu.Unlock()
		q := url.Values{}
		q.Set("after", strconv.FormatUint(after, 10))
		if wait > 0 {
			q.Set("wait", min(wait, maxWait).String())
		}
		var page spec.Notifications
		if err := c.doJSON(ctx, http.MethodGet, c.tenantPath("/notifications"), q, nil, &page); err != nil {
			return err
		}
		wire := make([][]byte, len(page.Batches))
		for i, b := range page.Batches {
			wire[i] = b.Data
		}
		if err := c.accept(wire); err != nil {
			// A refused batch must not hide that the accepted head is
			// stale (a far-future batch would otherwise silence it).
			return errors.Join(err, c.checkFresh())
		}
		if len(page.Batches) < pollLimit {
			break
		}
		wait = 0
	}
	return c.checkFresh()
}

// checkFresh reports ErrWithheld when the last accepted batch is more than
// an epoch old by the client's clock, and ErrTampered (crypto.ErrBatchFuture)
// when it is from a later epoch than the clock allows: a state saved by a
// version that accepted such a batch, which would otherwise keep the
// freshness check quiet forever.
func (c *Client) checkFresh() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.verifier.LastSeq == 0 {
		return nil
	}
	now := c.cfg.Now()
	if c.verifier.LastEpoch > crypto.EpochAt(now)+1 {
		return classify(crypto.ErrBatchFuture, ErrTampered)
	}
	if err := c.verifier.CheckFresh(now); err != nil {
		return classify(err, ErrWithheld)
	}
	return nil
}

// accept verifies one page of batches, matches the accepted ones, queues
// their notifications and saves.
func (c *Client) accept(wire [][]byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	accepted, verr := c.verifier.Verify(wire...)
	var merr error
	for _, b := range accepted {
		if c.st.EpochFirstSeq == 0 || b.Epoch() != c.st.LastEpoch {
			c.st.EpochFirstSeq = b.Seq()
		}
		c.st.LastEpoch = b.Epoch()
		before := c.matcher.Unopened()
		ns, err := c.matcher.Match(b)
		c.st.Unopened += c.matcher.Unopened() - before
		if err != nil {
			// Only crypto.ErrEpoch, from the public batch header: no
			// error here depends on what the tenant's tokens recognised.
			merr = errors.Join(merr, classify(err, ErrTampered))
		}
		sortOccurrences(ns)
		for _, n := range ns {
			c.st.Pending = append(c.st.Pending, c.notification(b.Seq(), n))
		}
		c.st.LastCreated = b.Created()
	}
	c.dropExpired()
	if err := c.save(); err != nil {
		return err
	}
	if verr != nil {
		return errors.Join(verifyError(verr), merr)
	}
	return merr
}

// verifyError puts a ChainVerifier error in its class.
func verifyError(err error) error {
	switch {
	case errors.Is(err, crypto.ErrBatchGap), errors.Is(err, crypto.ErrBatchStale):
		return classify(err, ErrWithheld)
	case errors.Is(err, crypto.ErrBatchReplayed):
		return classify(err, ErrReplayed)
	case errors.Is(err, crypto.ErrBatchReordered):
		return classify(err, ErrReordered)
	}
	// ErrBatchFuture (a signed batch dated after the local clock allows)
	// is the server lying too.
	return classify(err, ErrTampered)
}

func (c *Client) notification(seq uint64, n crypto.Notification) Notification {
	out := Notification{Seq: seq, Epoch: n.Epoch, Counter: n.Counter,
		Start: n.Payload.Start.UTC(), End: n.Payload.End.UTC(), Severity: uint8(n.Payload.Severity), Count: n.Payload.Count}
	p, sub, _ := strings.Cut(n.SubscriptionID, "/")
	out.Period, _ = strconv.ParseUint(p, 10, 64)
	out.Subscription = sub
	if i := c.find(sub); i >= 0 {
		s := c.st.Subscriptions[i]
		out.Pattern, out.Resource, out.Params = s.Pattern, s.Resource, slices.Clone(s.Params)
	}
	return out
}

// Poll long-polls the board once, waiting up to wait (at most a minute) for
// a batch, and returns the notifications not yet delivered: every batch is
// verified (signature, tenant, sequence, hash chain, freshness) before its
// entries are matched locally and opened. The state (chain, counters) is
// saved before Poll returns, so a restarted client resumes from the last
// verified batch and never returns a notification twice.
//
// Verification failures are returned as ErrTampered, ErrWithheld,
// ErrReplayed or ErrReordered (wrapping the crypto sentinel); the
// notifications of batches verified before the failure are still returned.
func (c *Client) Poll(ctx context.Context, wait time.Duration) ([]Notification, error) {
	c.pollMu.Lock()
	defer c.pollMu.Unlock()
	err := c.fetch(ctx, wait)
	defer c.warnUnopened()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.polledAt, c.pollErr = c.cfg.Now(), err
	out := c.st.Pending
	if len(out) == 0 {
		return nil, err
	}
	c.st.Pending = nil
	if serr := c.save(); serr != nil {
		c.st.Pending = out
		return nil, errors.Join(err, serr)
	}
	return out, err
}

// Notifications returns an iterator that long-polls the board (each poll
// waiting up to wait) and yields every verified notification once. A
// notification is marked delivered (and the state saved) when the loop body
// for it returns, so one being handled when the process dies is yielded
// again after a restart; none is yielded twice otherwise. Verification and
// transport errors are yielded with a zero Notification; the iterator keeps
// polling (after a pause) if the loop continues. It ends when ctx is done or
// the loop breaks.
//
// Polling runs on its own, apart from the loop body: the next long poll
// starts as soon as the previous one ended (or, after an error, after a
// pause that grows with consecutive errors), however long the loop body
// takes over a notification. So when the tenant polls never depends on
// what it recognised; the loop body must likewise not take actions the
// server can see per notification (crypto package doc). Errors found while
// the loop body is busy are queued (the oldest kept, at most
// maxQueuedErrors; the rest are dropped) rather than holding polling up.
func (c *Client) Notifications(ctx context.Context, wait time.Duration) iter.Seq2[Notification, error] {
	return func(yield func(Notification, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		p := &poller{wake: make(chan struct{}, 1)}
		done := make(chan struct{})
		go func() {
			defer close(done)
			c.pollLoop(ctx, wait, p)
		}()
		defer func() {
			cancel()
			<-done
		}()
		for ctx.Err() == nil {
			c.mu.Lock()
			if len(c.st.Pending) > 0 {
				n := c.st.Pending[0]
				c.mu.Unlock()
				more := yield(n, nil)
				c.mu.Lock()
				if len(c.st.Pending) > 0 && samePending(&c.st.Pending[0], &n) {
					c.st.Pending = c.st.Pending[1:]
				}
				err := c.save()
				c.mu.Unlock()
				if !more {
					return
				}
				if err != nil && !yield(Notification{}, err) {
					return
				}
				continue
			}
			c.mu.Unlock()
			if err := p.next(); err != nil {
				if !yield(Notification{}, err) {
					return
				}
				continue
			}
			select {
			case <-ctx.Done():
				return
			case <-p.wake:
			}
		}
	}
}

// maxQueuedErrors bounds the errors the iterator's poller queues while the
// loop body is busy.
const maxQueuedErrors = 16

// poller hands the iterator's background polling results to the loop: a
// wake-up after every poll and the errors found.
type poller struct {
	wake chan struct{} // capacity 1: "a poll ended"
	mu   sync.Mutex
	errs []error
}

// signal records a poll's outcome without ever blocking the poller.
func (p *poller) signal(err error) {
	if err != nil {
		p.mu.Lock()
		if len(p.errs) < maxQueuedErrors {
			p.errs = append(p.errs, err)
		}
		p.mu.Unlock()
	}
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// next takes the oldest queued error, if any.
func (p *poller) next() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.errs) == 0 {
		return nil
	}
	err := p.errs[0]
	p.errs = p.errs[1:]
	return err
}

// pollLoop long-polls until ctx ends. Its pace depends only on the poll
// outcomes (transport, verification, freshness errors back off), never on
// the loop body or on what matched.
func (c *Client) pollLoop(ctx context.Context, wait time.Duration, p *poller) {
	backoff := time.Second
	for ctx.Err() == nil {
		c.pollMu.Lock()
		err := c.fetch(ctx, wait)
		c.pollMu.Unlock()
		if ctx.Err() != nil {
			return
		}
		c.mu.Lock()
		c.polledAt, c.pollErr = c.cfg.Now(), err
		c.mu.Unlock()
		c.warnUnopened()
		p.signal(err)
		if err == nil {
			backoff = time.Second
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Minute)
	}
}

// Unopened returns how many board entries so far carried one of the
// tenant's expected tags with a payload that did not open (kept in the
// state across restarts). An honest server never produces one: a nonzero
// count means the board served forged entries, possibly probing which
// tokens the tenant holds. It is reported only here and in a warning logged
// after the poll that found it; nothing the client sends, and no error or
// polling pace, depends on it.
func (c *Client) Unopened() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.Unopened
}

// warnUnopened logs a warning when entries that did not open were found
// since the last warning. It runs after a poll, locally only.
func (c *Client) warnUnopened() {
	c.mu.Lock()
	n, seen := c.st.Unopened, c.warnedUnopened
	c.warnedUnopened = n
	c.mu.Unlock()
	if n > seen {
		c.log.Warn("tenantclient: board entries with one of the tenant's tags did not open (forged entries)", "new", n-seen, "total", n)
	}
}

// LastPoll returns when the last poll of the board (by [Client.Poll] or the
// iterator of [Client.Notifications]) ended, and its error: nil when every
// batch it received verified and the board was fresh. The time is zero
// before the first poll. A monitor shows from it whether a verification
// failure is still going on; it is local and changes nothing the server sees.
func (c *Client) LastPoll() (time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.polledAt, c.pollErr
}

// Board returns the chain position the client has verified up to: the
// last accepted batch's sequence number and epoch.
func (c *Client) Board() (seq, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.verifier.LastSeq, c.verifier.LastEpoch
}

// samePending reports whether two queued notifications are the same
// occurrence.
func samePending(a, b *Notification) bool {
	return a.Seq == b.Seq && a.Period == b.Period && a.Epoch == b.Epoch && a.Counter == b.Counter && a.Subscription == b.Subscription
}

// sortOccurrences orders a batch's notifications by occurrence (entries
// come sorted by tag, which says nothing).
func sortOccurrences(ns []crypto.Notification) {
	slices.SortStableFunc(ns, func(a, b crypto.Notification) int {
		return cmp.Or(cmp.Compare(a.Counter, b.Counter), strings.Compare(a.SubscriptionID, b.SubscriptionID))
	})
}
