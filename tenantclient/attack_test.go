package tenantclient_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/crypto"
	"github.com/hisoka-project/hisoka/server"
	"github.com/hisoka-project/hisoka/spec"
	"github.com/hisoka-project/hisoka/tenantclient"
)

// attacker is a real HTTP proxy between the tenant and the server that may
// rewrite the board pages it forwards.
type attacker struct {
	mu     sync.Mutex
	seen   map[uint64][]byte // every batch forwarded, by seq
	board  func(after uint64, bs []spec.Batch, seen map[uint64][]byte) []spec.Batch
	server *httptest.Server
}

func newAttacker(t *testing.T, target string) *attacker {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	a := &attacker{seen: map[uint64][]byte{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		if !strings.HasSuffix(resp.Request.URL.Path, "/notifications") || resp.StatusCode != 200 {
			return nil
		}
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		resp.Body.Close()
		var page spec.Notifications
		if err := json.Unmarshal(raw, &page); err != nil {
			return err
		}
		after, _ := strconv.ParseUint(resp.Request.URL.Query().Get("after"), 10, 64)
		a.mu.Lock()
		for _, b := range page.Batches {
			a.seen[b.Seq] = bytes.Clone(b.Data)
		}
		if a.board != nil {
			page.Batches = a.board(after, page.Batches, a.seen)
		}
		a.mu.Unlock()
		out, err := json.Marshal(page)
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(out))
		resp.ContentLength = int64(len(out))
		resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
		return nil
	}
	a.server = httptest.NewServer(rp)
	t.Cleanup(a.server.Close)
	return a
}

func (a *attacker) set(f func(after uint64, bs []spec.Batch, seen map[uint64][]byte) []spec.Batch) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.board = f
}

// attackWorld is a world whose tenant holds a vm.create subscription for
// both VMs and whose board holds two batches (one per creation), and a
// client that talks through an attacker.
func attackWorld(t *testing.T, tune func(*server.Config), mod func(*tenantclient.Config)) (*world, *attacker, *tenantclient.Client) {
	w := newWorld(t, 2, tune)
	a := newAttacker(t, w.url)
	c := w.client(t, func(cfg *tenantclient.Config) {
		cfg.URL = a.server.URL
		if mod != nil {
			mod(cfg)
		}
	})
	var subs []tenantclient.Subscription
	for _, cr := range w.creates {
		subs = append(subs, tenantclient.Subscription{Pattern: "vm.create", Resource: cr.Resource})
	}
	if _, err := c.Subscribe(t.Context(), subs...); err != nil {
		t.Fatal(err)
	}
	w.feed(time.Time{}, w.creates[0].End.Add(time.Second))
	w.feed(w.creates[0].End.Add(time.Second), forever)
	w.waitBoard(t, 2)
	return w, a, c
}

// waitBoard waits until the tenant's board holds n batches (read with the
// tenant's own key, outside the client under test).
func (w *world) waitBoard(t *testing.T, n int) {
	t.Helper()
	_, id, err := tenantclient.LoadIdentity(w.dir)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		tok, err := server.SignTenantToken(id.PrivateKey(), w.tenant, w.cfg.Auth.Audience, time.Now(), time.Minute, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		var page spec.Notifications
		w.must(200, "GET", "/v1/tenants/"+w.tenant+"/notifications", tok, "", nil, &page)
		if len(page.Batches) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("board has %d batches, want %d", len(page.Batches), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBoardAttacks: each way a server or network can lie about the board
// is reported as its own error, and nothing from the lie is delivered.
func TestBoardAttacks(t *testing.T) {
	for _, tc := range []struct {
		name   string
		attack func(after uint64, bs []spec.Batch, seen map[uint64][]byte) []spec.Batch
		class  error
		cause  error
	}{
		{"tampered: a byte of a sealed entry flipped", func(_ uint64, bs []spec.Batch, _ map[uint64][]byte) []spec.Batch {
			for i := range bs {
				bs[i].Data[len(bs[i].Data)-100] ^= 1
			}
			return bs
		}, tenantclient.ErrTampered, crypto.ErrBatchSignature},
		{"withheld: the first batch dropped", func(_ uint64, bs []spec.Batch, _ map[uint64][]byte) []spec.Batch {
			if len(bs) > 0 && bs[0].Seq == 1 {
				return bs[1:]
			}
			return bs
		}, tenantclient.ErrWithheld, crypto.ErrBatchGap},
		{"reordered: the batches served in reverse", func(_ uint64, bs []spec.Batch, _ map[uint64][]byte) []spec.Batch {
			for i, j := 0, len(bs)-1; i < j; i, j = i+1, j-1 {
				bs[i], bs[j] = bs[j], bs[i]
			}
			return bs
		}, tenantclient.ErrReordered, crypto.ErrBatchReordered},
		{"replayed: an accepted batch served again", func(after uint64, bs []spec.Batch, seen map[uint64][]byte) []spec.Batch {
			if after > 0 {
				return append([]spec.Batch{{Seq: after, Data: seen[after]}}, bs...)
			}
			return bs
		}, tenantclient.ErrReplayed, crypto.ErrBatchReplayed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, a, c := attackWorld(t, nil, nil)
			if strings.HasPrefix(tc.name, "replayed") {
				// Accept the board honestly first.
				if ns := pollUntil(t, c, 2, 10*time.Second); len(ns) != 2 {
					t.Fatalf("honest poll: %d notifications", len(ns))
				}
			}
			a.set(tc.attack)
			seq, _ := c.Board()
			ns, err := c.Poll(t.Context(), 0)
			if !errors.Is(err, tc.class) || !errors.Is(err, tc.cause) {
				t.Fatalf("err = %v, want %v and %v", err, tc.class, tc.cause)
			}
			for _, other := range []error{tenantclient.ErrTampered, tenantclient.ErrWithheld, tenantclient.ErrReplayed, tenantclient.ErrReordered} {
				if other != tc.class && errors.Is(err, other) {
					t.Fatalf("err = %v is also %v", err, other)
				}
			}
			if len(ns) != 0 {
				t.Fatalf("delivered %d notifications from a lying board", len(ns))
			}
			if at, lerr := c.LastPoll(); at.IsZero() || !errors.Is(lerr, tc.class) {
				t.Fatalf("LastPoll = %v, %v; want the poll's error", at, lerr)
			}
			if now, _ := c.Board(); now != seq {
				t.Fatalf("board position moved from %d to %d", seq, now)
			}
			// Once the proxy stops lying, the client catches up with nothing lost
			// or repeated.
			a.set(nil)
			want := 2
			if seq > 0 {
				want = 0 // the honest poll before the replay delivered both
			}
			ns = pollUntil(t, c, want, 10*time.Second)
			if more, err := c.Poll(t.Context(), 0); err != nil || len(ns)+len(more) != want {
				t.Fatalf("after the attack: %d+%d notifications, want %d (%v)", len(ns), len(more), want, err)
			}
			if _, lerr := c.LastPoll(); lerr != nil {
				t.Fatalf("LastPoll after an honest poll: %v", lerr)
			}
		})
	}
}

// TestStaleBoard: a proxy that withholds every new batch is noticed once
// the newest accepted batch is more than an epoch old.
func TestStaleBoard(t *testing.T) {
	var skew time.Duration
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(skew) }
	// The server tolerates the tenant's skewed clock in its tokens.
	_, a, c := attackWorld(t, func(cfg *server.Config) { cfg.Auth.Leeway = 4 * time.Hour }, func(cfg *tenantclient.Config) { cfg.Now = now })
	if _, err := c.Poll(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	a.set(func(uint64, []spec.Batch, map[uint64][]byte) []spec.Batch { return []spec.Batch{} })
	mu.Lock()
	skew = 150 * time.Minute
	mu.Unlock()
	_, err := c.Poll(t.Context(), 0)
	if !errors.Is(err, tenantclient.ErrWithheld) || !errors.Is(err, crypto.ErrBatchStale) {
		t.Fatalf("err = %v, want a stale board", err)
	}
}

// TestTenantSpecificKey: a server that evaluates one tenant's blind
// registration with a key of its own (to tell tenants apart) fails the
// proof against the published key; no token is kept.
func TestTenantSpecificKey(t *testing.T) {
	w := newWorld(t, 1, nil)
	var raw []byte
	{
		resp, err := http.Get(w.url + "/v1/keys")
		if err != nil {
			t.Fatal(err)
		}
		raw, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	dir, err := crypto.ParseDirectory(raw, w.reg.BoardPublicKey)
	if err != nil {
		t.Fatal(err)
	}
	own, err := crypto.NewKeyring(rand.Reader, dir.Schedule, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(w.url)
	rp := httputil.NewSingleHostReverseProxy(u)
	proxy := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/subscriptions/evaluate" {
			rp.ServeHTTP(rw, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		req, err := crypto.ParseEvaluationRequest(body)
		if err != nil {
			http.Error(rw, "bad", 400)
			return
		}
		published := req.KeyID
		pub, err := dir.Key(published)
		if err != nil {
			http.Error(rw, "bad", 400)
			return
		}
		k, err := own.KeyForPeriod(pub.Period)
		if err != nil {
			http.Error(rw, "bad", 500)
			return
		}
		req.KeyID = k.ID()
		rewritten, _ := req.MarshalBinary()
		out, err := own.Evaluate(rand.Reader, w.tenant, time.Now(), rewritten)
		if err != nil {
			http.Error(rw, "bad", 500)
			return
		}
		resp, _ := crypto.ParseEvaluationResponse(out)
		resp.KeyID = published // claim the published key
		out, _ = resp.MarshalBinary()
		rw.Write(out)
	}))
	t.Cleanup(proxy.Close)
	c := w.client(t, func(cfg *tenantclient.Config) { cfg.URL = proxy.URL })
	_, err = c.Subscribe(t.Context(), tenantclient.Subscription{Pattern: "vm.create", Resource: w.creates[0].Resource})
	if !errors.Is(err, tenantclient.ErrKeyMismatch) || !errors.Is(err, crypto.ErrProof) {
		t.Fatalf("err = %v, want a key mismatch", err)
	}
	for _, other := range []error{tenantclient.ErrTampered, tenantclient.ErrWithheld, tenantclient.ErrReplayed, tenantclient.ErrReordered} {
		if errors.Is(err, other) {
			t.Fatalf("err = %v is also %v", err, other)
		}
	}
	if subs := c.Subscriptions(); len(subs) != 0 {
		t.Fatalf("kept %+v", subs)
	}
	// Straight to the server, the same subscription works.
	c2 := w.client(t, nil)
	if _, err := c2.Subscribe(t.Context(), tenantclient.Subscription{Pattern: "vm.create", Resource: w.creates[0].Resource}); err != nil {
		t.Fatal(err)
	}
}

// TestBoardKeyPinned: the board key is pinned from the registration
// answer or on first use, and a directory signed by any other key is
// refused.
func TestBoardKeyPinned(t *testing.T) {
	w := newWorld(t, 1, nil)
	// Trust on first use pins the server's key.
	c := w.client(t, func(cfg *tenantclient.Config) { cfg.BoardKey, cfg.LedgerKey = nil, nil })
	if _, err := c.Subscribe(t.Context(), tenantclient.Subscription{Pattern: "vm.create", Resource: w.creates[0].Resource}); err != nil {
		t.Fatal(err)
	}
	if board, _ := c.PinnedKeys(); !bytes.Equal(board, w.reg.BoardPublicKey) {
		t.Fatal("first use did not pin the board key")
	}
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := tenantclient.New(tenantclient.Config{URL: w.url, StateDir: w.dir, BoardKey: other}); !errors.Is(err, tenantclient.ErrBoardKeyChanged) {
		t.Fatalf("re-pin: %v", err)
	}
	// A tenant pinned to another key refuses the server's directory.
	dirB := t.TempDir()
	idB, err := tenantclient.Init(dirB, "tenant-b", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	w.register("tenant-b", idB.Public(), "p-b")
	cB, err := tenantclient.New(tenantclient.Config{URL: w.url, StateDir: dirB, BoardKey: other})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cB.Subscribe(t.Context(), tenantclient.Subscription{Pattern: "vm.create", Resource: "x"})
	if !errors.Is(err, tenantclient.ErrBoardKeyChanged) {
		t.Fatalf("err = %v", err)
	}
}

// TestNotificationsIterator: the iterator reports a lying board as an
// error and keeps going; once the board is honest it yields every
// notification. A notification being handled when the process dies is
// still on disk, so a restarted client gets it again.
func TestNotificationsIterator(t *testing.T) {
	w, a, c := attackWorld(t, nil, nil)
	a.set(func(_ uint64, bs []spec.Batch, _ map[uint64][]byte) []spec.Batch {
		for i := range bs {
			bs[i].Data[len(bs[i].Data)-100] ^= 1
		}
		return bs
	})
	var errs []error
	var got []tenantclient.Notification
	for n, err := range c.Notifications(t.Context(), time.Second) {
		if err != nil {
			errs = append(errs, err)
			a.set(nil)
			continue
		}
		got = append(got, n)
		if len(got) == 1 {
			// The process dies while handling the first notification: a new
			// client on the same state gets both.
			crashed := w.client(t, nil)
			again, err := crashed.Poll(t.Context(), 0)
			if err != nil || len(again) != 2 || again[0].Counter != n.Counter || again[0].Resource != n.Resource {
				t.Fatalf("after a crash: %+v, %v", again, err)
			}
		}
		if len(got) == 2 {
			break
		}
	}
	if len(errs) != 1 || !errors.Is(errs[0], tenantclient.ErrTampered) {
		t.Fatalf("errors %v", errs)
	}
	if got[0].Resource == got[1].Resource {
		t.Fatalf("notifications %+v", got)
	}
}
