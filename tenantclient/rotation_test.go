package tenantclient_test

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/crypto"
	"github.com/hisoka-project/hisoka/spec"
	"github.com/hisoka-project/hisoka/tenantclient"
)

// clockBoard is a board service on a real listener with a clock the test
// moves, built from the same crypto pieces as the server (keyring, minter,
// sealed batches), so that a key rotation happens within a test. It does
// not check tokens.
type clockBoard struct {
	mu       sync.Mutex
	now      time.Time
	tenant   string
	kr       *crypto.Keyring
	minter   *crypto.Minter
	last     *crypto.Batch
	wire     [][]byte
	counters map[[16]byte]uint64
	changed  chan struct{} // closed when a batch is published (long polls)
	reqs     []string      // method, path and query of every request
}

// requests returns the requests seen so far.
func (b *clockBoard) requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.reqs)
}

// waitRequest waits (up to a generous deadline, a liveness bound, not a
// timing assertion) until the board has seen a request equal to want.
func (b *clockBoard) waitRequest(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !slices.Contains(b.requests(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no request %q; saw %q", want, b.requests())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (b *clockBoard) clock() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.now
}

// advance moves the clock, rotates the keyring and writes the epoch's
// batch (dummies only), as the server's housekeeping does.
func (b *clockBoard) advance(t *testing.T, to time.Time) {
	b.mu.Lock()
	b.now = to
	if _, err := b.kr.Rotate(rand.Reader, to); err != nil {
		t.Fatal(err)
	}
	b.mu.Unlock()
	b.publish(t, nil)
}

// publish writes a batch created now with one entry per descriptor, minted
// with the key of the period containing now.
func (b *clockBoard) publish(t *testing.T, ds []crypto.Descriptor) {
	b.publishWith(t, ds, nil)
}

// publishWith is publish with extra entries made by the test.
func (b *clockBoard) publishWith(t *testing.T, ds []crypto.Descriptor, extra []crypto.Entry) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed != nil {
		close(b.changed)
	}
	b.changed = make(chan struct{})
	epoch := crypto.EpochAt(b.now)
	period := b.kr.Schedule().PeriodAt(b.now)
	var es []crypto.Entry
	for _, d := range ds {
		tok, err := b.minter.Mint(b.tenant, period, d)
		if err != nil {
			t.Fatal(err)
		}
		ck := tok.CounterKey(epoch)
		e, err := crypto.NewEntry(&tok, b.tenant, epoch, b.counters[ck], crypto.Payload{Start: b.now, End: b.now, Severity: 2, Count: 1})
		if err != nil {
			t.Fatal(err)
		}
		b.counters[ck]++
		es = append(es, e)
	}
	es = append(es, extra...)
	h := crypto.FirstHeader(b.tenant, epoch, b.now)
	if b.last != nil {
		h = b.last.Next(epoch, b.now)
	}
	batch, err := b.kr.SealBatch(h, es, 8)
	if err != nil {
		t.Fatal(err)
	}
	w, err := batch.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b.last = batch
	b.wire = append(b.wire, w)
}

func (b *clockBoard) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reqs = append(b.reqs, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/keys":
		dir, err := b.kr.Directory(b.now)
		if err != nil {
			http.Error(rw, "directory", 500)
			return
		}
		rw.Write(dir)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/subscriptions/evaluate":
		body, _ := io.ReadAll(r.Body)
		out, err := b.kr.Evaluate(rand.Reader, b.tenant, b.now, body)
		if err != nil {
			http.Error(rw, `{"error":"bad request"}`, 400)
			return
		}
		rw.Write(out)
	case r.Method == http.MethodGet && r.URL.Path == "/v1/tenants/"+b.tenant+"/notifications":
		after, _ := strconv.ParseUint(r.URL.Query().Get("after"), 10, 64)
		if wait, _ := time.ParseDuration(r.URL.Query().Get("wait")); wait > 0 && after >= uint64(len(b.wire)) {
			// Long poll: wait for a batch (or the wait, or the client).
			if b.changed == nil {
				b.changed = make(chan struct{})
			}
			ch := b.changed
			b.mu.Unlock()
			select {
			case <-ch:
			case <-r.Context().Done():
			case <-time.After(wait):
			}
			b.mu.Lock()
		}
		page := spec.Notifications{Batches: []spec.Batch{}}
		for i := after; i < uint64(len(b.wire)); i++ {
			page.Batches = append(page.Batches, spec.Batch{Seq: i + 1, Data: b.wire[i]})
		}
		json.NewEncoder(rw).Encode(page)
	default:
		http.NotFound(rw, r)
	}
}

// TestKeyRotation: the client registers its subscriptions again with the
// next period's key as soon as it is published, matches entries minted with
// either key during the overlap, and drops the old tokens once the board is
// past the old period.
func TestKeyRotation(t *testing.T) {
	origin := time.Now().UTC().Truncate(time.Hour).Add(-30 * time.Minute)
	sched := crypto.Schedule{Origin: origin, Length: 4 * time.Hour, Overlap: time.Hour}
	start := origin.Add(40 * time.Minute)
	kr, err := crypto.NewKeyring(rand.Reader, sched, start)
	if err != nil {
		t.Fatal(err)
	}
	b := &clockBoard{now: start, tenant: "tenant-r", kr: kr, minter: crypto.NewMinter(kr, 100), counters: map[[16]byte]uint64{}}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	if _, err := tenantclient.Init(dir, b.tenant, rand.Reader); err != nil {
		t.Fatal(err)
	}
	c, err := tenantclient.New(tenantclient.Config{URL: srv.URL, StateDir: dir, BoardKey: kr.BoardPublicKey(), Now: b.clock, RefreshInterval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	sub := tenantclient.Subscription{ID: "created", Pattern: "vm.create", Resource: "vm-1"}
	desc := []crypto.Descriptor{{PatternID: "vm.create", ResourceID: "vm-1"}}
	periodsHeld := func() []uint64 { return c.Subscriptions()[0].Periods }
	if _, err := c.Subscribe(t.Context(), sub); err != nil {
		t.Fatal(err)
	}
	if got := periodsHeld(); !slices.Equal(got, []uint64{0}) {
		t.Fatalf("periods %v", got)
	}
	poll := func(wantPeriod uint64) {
		t.Helper()
		ns, err := c.Poll(t.Context(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ns) != 1 || ns[0].Period != wantPeriod || ns[0].Subscription != "created" {
			t.Fatalf("notifications %+v, want one of period %d", ns, wantPeriod)
		}
	}
	b.publish(t, desc)
	poll(0)

	// Inside the overlap before period 1: the next key is published and the
	// client registers with it on its next poll; the server still mints
	// with key 0.
	for at := start.Add(time.Hour); at.Before(origin.Add(3*time.Hour + 30*time.Minute)); at = at.Add(time.Hour) {
		b.advance(t, at)
	}
	b.advance(t, origin.Add(3*time.Hour+30*time.Minute))
	b.publish(t, desc)
	poll(0)
	if got := periodsHeld(); !slices.Equal(got, []uint64{0, 1}) {
		t.Fatalf("periods %v, want both keys during the overlap", got)
	}

	// Period 1: entries are minted with key 1; once a batch of period 1 was
	// verified, the old tokens are dropped.
	b.advance(t, origin.Add(4*time.Hour+20*time.Minute))
	b.publish(t, desc)
	poll(1)
	if got := periodsHeld(); !slices.Equal(got, []uint64{1}) {
		t.Fatalf("periods %v, want only the new key", got)
	}
	// The old key is still published (its evaluation window is open), but
	// the client does not register with it again.
	if err := c.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := periodsHeld(); !slices.Equal(got, []uint64{1}) {
		t.Fatalf("periods %v after a refresh", got)
	}
	// A restart keeps the position and the new tokens.
	c, err = tenantclient.New(tenantclient.Config{URL: srv.URL, StateDir: dir, Now: b.clock})
	if err != nil {
		t.Fatal(err)
	}
	b.publish(t, desc)
	poll(1)
}

func newClockWorld(t *testing.T) (*clockBoard, *tenantclient.Client, string, *httptest.Server) {
	origin := time.Now().UTC().Truncate(time.Hour).Add(-30 * time.Minute)
	sched := crypto.Schedule{Origin: origin, Length: 30 * 24 * time.Hour, Overlap: 24 * time.Hour}
	start := origin.Add(40 * time.Minute)
	kr, err := crypto.NewKeyring(rand.Reader, sched, start)
	if err != nil {
		t.Fatal(err)
	}
	b := &clockBoard{now: start, tenant: "tenant-c", kr: kr, minter: crypto.NewMinter(kr, 100), counters: map[[16]byte]uint64{}}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	if _, err := tenantclient.Init(dir, b.tenant, rand.Reader); err != nil {
		t.Fatal(err)
	}
	c, err := tenantclient.New(tenantclient.Config{URL: srv.URL, StateDir: dir, BoardKey: kr.BoardPublicKey(), Now: b.clock})
	if err != nil {
		t.Fatal(err)
	}
	return b, c, dir, srv
}

// TestSubscribeMidEpoch: a subscription added after its descriptor fired
// more often than the lookahead in the current epoch catches up on the
// epoch's batches (delivering those occurrences) and matches the next one.
func TestSubscribeMidEpoch(t *testing.T) {
	b, c, _, _ := newClockWorld(t)
	desc := []crypto.Descriptor{{PatternID: "ssh.bruteforce", ResourceID: "vm-9"}}
	b.publish(t, nil) // an epoch batch before anything happened
	for range 3 {
		b.publish(t, append(desc, desc...)) // two occurrences per batch
	}
	if ns, err := c.Poll(t.Context(), 0); err != nil || len(ns) != 0 {
		t.Fatalf("before subscribing: %+v, %v", ns, err)
	}
	if _, err := c.Subscribe(t.Context(), tenantclient.Subscription{ID: "brute", Pattern: "ssh.bruteforce", Resource: "vm-9"}); err != nil {
		t.Fatal(err)
	}
	b.publish(t, desc)
	ns, err := c.Poll(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var counters []uint64
	for _, n := range ns {
		counters = append(counters, n.Counter)
	}
	if !slices.Equal(counters, []uint64{0, 1, 2, 3, 4, 5, 6}) {
		t.Fatalf("counters %v, want the six earlier occurrences and the new one", counters)
	}
}

// TestCatchUpSeesRewrittenHistory: when a subscription reads the epoch
// again, a board whose history changed since it was accepted is an error.
func TestCatchUpSeesRewrittenHistory(t *testing.T) {
	b, c, _, _ := newClockWorld(t)
	desc := []crypto.Descriptor{{PatternID: "vm.create", ResourceID: "vm-1"}}
	b.publish(t, nil)
	b.publish(t, desc)
	if _, err := c.Poll(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	// Re-sign the newest batch with other entries: a valid signature, another hash.
	b.mu.Lock()
	first, err := crypto.ParseBatch(b.wire[0])
	if err != nil {
		t.Fatal(err)
	}
	forged, err := b.kr.SealBatch(first.Next(first.Epoch(), b.now), nil, 8)
	if err != nil {
		t.Fatal(err)
	}
	b.wire[1], _ = forged.MarshalBinary()
	b.mu.Unlock()
	_, err = c.Subscribe(t.Context(), tenantclient.Subscription{Pattern: "vm.create", Resource: "vm-1"})
	if !errors.Is(err, tenantclient.ErrTampered) || !errors.Is(err, crypto.ErrBatchChain) {
		t.Fatalf("err = %v, want a rewritten chain", err)
	}
	if len(c.Subscriptions()) != 0 {
		t.Fatal("subscription kept after a failed catch-up")
	}
}

// TestKeyChanged: a directory that publishes another key for a period the
// tenant already registered with (validly signed by the pinned board key)
// is refused: the server would be telling tenants apart.
func TestKeyChanged(t *testing.T) {
	b, c, _, _ := newClockWorld(t)
	if _, err := c.Subscribe(t.Context(), tenantclient.Subscription{Pattern: "vm.create", Resource: "vm-1"}); err != nil {
		t.Fatal(err)
	}
	// The same board key and dummy secret, another POPRF key for the period:
	// the keyring's encoding is version, schedule, board seed, dummy secret,
	// then the period keys.
	const head = 1 + 3*8 + 32 + 32
	other, err := crypto.NewKeyring(rand.Reader, b.kr.Schedule(), b.clock())
	if err != nil {
		t.Fatal(err)
	}
	mine, _ := b.kr.MarshalBinary()
	theirs, _ := other.MarshalBinary()
	swapped, err := crypto.ParseKeyring(append(mine[:head:head], theirs[head:]...))
	if err != nil {
		t.Fatal(err)
	}
	if !swapped.BoardPublicKey().Equal(b.kr.BoardPublicKey()) {
		t.Fatal("board key changed")
	}
	b.mu.Lock()
	b.kr = swapped
	b.mu.Unlock()
	if err := c.Refresh(t.Context()); !errors.Is(err, tenantclient.ErrKeyChanged) {
		t.Fatalf("err = %v, want a changed key", err)
	}
}
