package tenantclient_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/crypto"
	"github.com/hisoka-project/hisoka/tenantclient"
)

// TestForgedTagInvisible: a board that places one of the tenant's expected
// tags with a payload that does not open (the server can compute any
// tenant's tags, so this is how it would probe which tokens a tenant holds)
// sees exactly what it sees for an entry the tenant does not recognise: the
// same requests in the same order, the same errors, with Poll and with the
// iterator. Only the local counter differs.
func TestForgedTagInvisible(t *testing.T) {
	desc := crypto.Descriptor{PatternID: "vm.create", ResourceID: "vm-1"}
	run := func(t *testing.T, forged bool) ([]string, uint64) {
		b, c, _, _ := newClockWorld(t)
		if _, err := c.Subscribe(t.Context(), tenantclient.Subscription{ID: "created", Pattern: desc.PatternID, Resource: desc.ResourceID}); err != nil {
			t.Fatal(err)
		}
		// The entry: either the tag of the tenant's token for the next
		// occurrence, or a random tag; the payload is random either way.
		entry := func() crypto.Entry {
			var e crypto.Entry
			if _, err := rand.Read(e.Sealed[:]); err != nil {
				t.Fatal(err)
			}
			if !forged {
				if _, err := rand.Read(e.Tag[:]); err != nil {
					t.Fatal(err)
				}
				return e
			}
			now := b.clock()
			tok, err := b.minter.Mint(b.tenant, b.kr.Schedule().PeriodAt(now), desc)
			if err != nil {
				t.Fatal(err)
			}
			tk := tok.TagKey()
			e.Tag = tk.Tag(crypto.EpochAt(now), 0)
			return e
		}
		b.mu.Lock()
		b.reqs = nil
		b.mu.Unlock()
		var trace []string
		b.publishWith(t, nil, []crypto.Entry{entry()})
		for range 2 {
			ns, err := c.Poll(t.Context(), 0)
			trace = append(trace, fmt.Sprintf("poll: %d notifications, error %v", len(ns), err))
			b.publish(t, nil)
		}
		// The iterator: another probe; it must go straight on to the next
		// long poll after the batch carrying it.
		b.publishWith(t, nil, []crypto.Entry{entry()})
		seq, _ := c.Board()
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			b.waitRequest(t, "GET /v1/tenants/"+b.tenant+"/notifications?after="+strconv.FormatUint(seq+2, 10)+"&wait=5s")
			cancel()
		}()
		for n, err := range c.Notifications(ctx, 5*time.Second) {
			trace = append(trace, fmt.Sprintf("iterator: %+v, error %v", n, err))
		}
		cancel()
		return append(trace, b.requests()...), c.Unopened()
	}
	honest, none := run(t, false)
	probed, unopened := run(t, true)
	if !slices.Equal(honest, probed) {
		t.Errorf("the board tells a recognised forged tag apart:\nunrecognised: %q\nforged:       %q", honest, probed)
	}
	if none != 0 || unopened != 2 {
		t.Errorf("unopened = %d and %d, want 0 and 2", none, unopened)
	}
}

// TestNotificationsPollWhileBusy: the iterator's next long poll does not
// wait for the loop body to finish with a notification, so how long a
// tenant spends on what it recognised does not show in when it polls.
func TestNotificationsPollWhileBusy(t *testing.T) {
	b, c, _, _ := newClockWorld(t)
	desc := crypto.Descriptor{PatternID: "vm.create", ResourceID: "vm-1"}
	if _, err := c.Subscribe(t.Context(), tenantclient.Subscription{ID: "created", Pattern: desc.PatternID, Resource: desc.ResourceID}); err != nil {
		t.Fatal(err)
	}
	b.publish(t, []crypto.Descriptor{desc})
	next := "GET /v1/tenants/" + b.tenant + "/notifications?after=1&wait=5s"
	got := 0
	for n, err := range c.Notifications(t.Context(), 5*time.Second) {
		if err != nil {
			t.Fatal(err)
		}
		got++
		if n.Subscription != "created" {
			t.Fatalf("notification %+v", n)
		}
		// Busy with the notification: the board still gets the next poll.
		b.waitRequest(t, next)
		if got == 1 {
			b.publish(t, []crypto.Descriptor{desc})
			next = "GET /v1/tenants/" + b.tenant + "/notifications?after=2&wait=5s"
			continue
		}
		break
	}
	if got != 2 {
		t.Fatalf("got %d notifications", got)
	}
}
