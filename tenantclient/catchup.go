package tenantclient

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/hisoka-project/hisoka/crypto"
	"github.com/hisoka-project/hisoka/spec"
)

// freshToken is a token just added to the matcher at counter 0.
type freshToken struct {
	id  string
	tok crypto.Token
}

// catchUp positions fresh tokens within the current epoch
// (spec/protocol.md section 9): it reads the epoch's batches the client has
// already accepted again, verifies them from a verifier positioned at
// (first.seq − 1, first.prev_hash) up to the accepted head, matches them
// with the fresh tokens only and moves each token's counter past what it
// found. What it finds is queued as notifications: occurrences of the new
// subscription earlier in this epoch. Without it a descriptor that fired
// more than the lookahead earlier in the epoch would not match until the
// next one. c.mu must be held.
func (c *Client) catchUp(ctx context.Context, fresh []freshToken) error {
	first, head := c.st.EpochFirstSeq, c.verifier.LastSeq
	if len(fresh) == 0 || first == 0 || head < first || c.matcher.Epoch() != c.verifier.LastEpoch {
		return nil
	}
	m := crypto.NewMatcher(c.tenant, c.verifier.LastEpoch, c.cfg.Window)
	for _, f := range fresh {
		if err := m.Subscribe(f.id, &f.tok, 0); err != nil {
			return fmt.Errorf("%w: %w", ErrSubscription, err)
		}
	}
	var v *crypto.ChainVerifier
	var found []Notification
	after := first - 1
	for after < head {
		q := url.Values{}
		q.Set("after", strconv.FormatUint(after, 10))
		var page spec.Notifications
		if err := c.doJSON(ctx, http.MethodGet, c.tenantPath("/notifications"), q, nil, &page); err != nil {
			return err
		}
		var wire [][]byte
		for _, b := range page.Batches {
			if b.Seq <= head {
				wire = append(wire, b.Data)
			}
		}
		if len(wire) == 0 {
			return classify(crypto.ErrBatchGap, ErrWithheld) // batches served before are gone
		}
		if v == nil {
			b, err := crypto.ParseBatch(wire[0])
			if err != nil {
				return classify(err, ErrTampered)
			}
			v = &crypto.ChainVerifier{BoardKey: c.verifier.BoardKey, Tenant: c.tenant, LastSeq: first - 1, LastHash: b.PrevHash(), LastEpoch: c.verifier.LastEpoch, Now: c.cfg.Now}
		}
		accepted, err := v.Verify(wire...)
		if err != nil {
			return verifyError(err)
		}
		for _, b := range accepted {
			ns, err := m.Match(b) // only crypto.ErrEpoch (public header)
			if err != nil {
				return classify(err, ErrTampered)
			}
			sortOccurrences(ns)
			for _, n := range ns {
				found = append(found, c.notification(b.Seq(), n))
			}
		}
		after = v.LastSeq
	}
	// The history served again must be the one accepted before.
	if v.LastSeq != head || v.LastHash != c.verifier.LastHash || v.LastEpoch != c.verifier.LastEpoch {
		return classify(crypto.ErrBatchChain, ErrTampered)
	}
	for _, f := range fresh {
		next, _ := m.Next(f.id)
		if next == 0 {
			continue
		}
		c.matcher.Unsubscribe(f.id)
		if err := c.matcher.Subscribe(f.id, &f.tok, next); err != nil {
			return fmt.Errorf("%w: %w", ErrSubscription, err)
		}
	}
	c.st.Pending = append(c.st.Pending, found...)
	c.st.Unopened += m.Unopened()
	return nil
}
