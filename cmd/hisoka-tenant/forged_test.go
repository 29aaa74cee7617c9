package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/crypto"
	"github.com/hisoka-project/hisoka/spec"
)

// probeBoard is a board service built from the crypto pieces the server
// uses (keyring, minter, sealed batches), so a test can place entries of
// its own on a validly signed board, as a malicious server could.
type probeBoard struct {
	mu     sync.Mutex
	now    time.Time
	tenant string
	kr     *crypto.Keyring
	minter *crypto.Minter
	last   *crypto.Batch
	wire   [][]byte
	reqs   []string
}

func newProbeBoard(t *testing.T, tenant string) *probeBoard {
	now := time.Now().UTC()
	sched := crypto.Schedule{Origin: now.Truncate(time.Hour).Add(-time.Hour), Length: 30 * 24 * time.Hour, Overlap: 24 * time.Hour}
	kr, err := crypto.NewKeyring(rand.Reader, sched, now)
	if err != nil {
		t.Fatal(err)
	}
	return &probeBoard{now: now, tenant: tenant, kr: kr, minter: crypto.NewMinter(kr, 100)}
}

// publish writes a batch holding es.
func (b *probeBoard) publish(t *testing.T, es ...crypto.Entry) {
	b.mu.Lock()
	defer b.mu.Unlock()
	epoch := crypto.EpochAt(b.now)
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
	b.last, b.wire = batch, append(b.wire, w)
}

func (b *probeBoard) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
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
		var body bytes.Buffer
		body.ReadFrom(r.Body)
		out, err := b.kr.Evaluate(rand.Reader, b.tenant, b.now, body.Bytes())
		if err != nil {
			http.Error(rw, `{"error":"bad request"}`, 400)
			return
		}
		rw.Write(out)
	case r.Method == http.MethodGet && r.URL.Path == "/v1/tenants/"+b.tenant+"/notifications":
		after, _ := strconv.ParseUint(r.URL.Query().Get("after"), 10, 64)
		page := spec.Notifications{Batches: []spec.Batch{}}
		for i := after; i < uint64(len(b.wire)); i++ {
			page.Batches = append(page.Batches, spec.Batch{Seq: i + 1, Data: b.wire[i]})
		}
		json.NewEncoder(rw).Encode(page)
	default:
		http.NotFound(rw, r)
	}
}

// TestPollForgedTag: "poll" answers a board carrying one of the tenant's
// tags with a payload that does not open (a probe of which subscriptions
// the tenant holds) exactly as it answers an entry it does not recognise:
// the same requests, output and exit status. Only a warning on stderr, after
// the poll, tells the tenant.
func TestPollForgedTag(t *testing.T) {
	type outcome struct {
		stdout, errText string
		reqs            []string
	}
	run1 := func(t *testing.T, forged bool) (outcome, string) {
		b := newProbeBoard(t, "acme")
		srv := httptest.NewServer(b)
		t.Cleanup(srv.Close)
		state := filepath.Join(t.TempDir(), "state")
		vars := map[string]string{"HISOKA_URL": srv.URL, "HISOKA_TENANT": "acme", "HISOKA_STATE": state}
		cli := func(args ...string) (string, string, error) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), args, &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return vars[k] }})
			return stdout.String(), stderr.String(), err
		}
		must := func(args ...string) {
			if _, stderr, err := cli(args...); err != nil {
				t.Fatalf("%v: %v %s", args, err, stderr)
			}
		}
		must("init")
		must("pin", "--board-key", base64.StdEncoding.EncodeToString(b.kr.BoardPublicKey()))
		must("subscribe", "--pattern", "vm.create", "--resource", "vm-1")
		var e crypto.Entry
		rand.Read(e.Sealed[:])
		rand.Read(e.Tag[:])
		if forged {
			tok, err := b.minter.Mint("acme", b.kr.Schedule().PeriodAt(b.now), crypto.Descriptor{PatternID: "vm.create", ResourceID: "vm-1"})
			if err != nil {
				t.Fatal(err)
			}
			tk := tok.TagKey()
			e.Tag = tk.Tag(crypto.EpochAt(b.now), 0)
		}
		b.mu.Lock()
		b.reqs = nil
		b.mu.Unlock()
		b.publish(t, e)
		var o outcome
		stdout, stderr1, err := cli("poll")
		o.stdout = stdout
		if err != nil {
			o.errText = err.Error()
		}
		// Following: the same probe again; it stops after a fixed time.
		b.publish(t, e)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		var fout, ferr bytes.Buffer
		err = run(ctx, []string{"poll", "--follow", "--for", "300ms", "--wait", "100ms"}, &env{stdin: strings.NewReader(""), stdout: &fout, stderr: &ferr, getenv: func(k string) string { return vars[k] }})
		o.stdout += fout.String()
		if err != nil {
			o.errText += err.Error()
		}
		b.mu.Lock()
		// The follow loop's polls after the probe are only counted up to
		// the first one at the head (how many there are depends on time).
		for _, r := range b.reqs {
			o.reqs = append(o.reqs, r)
			if strings.Contains(r, "after=2&") {
				break
			}
		}
		b.mu.Unlock()
		return o, stderr1 + ferr.String()
	}
	plain, plainErr := run1(t, false)
	probed, probedErr := run1(t, true)
	if plain.stdout != probed.stdout || plain.errText != probed.errText || !slices.Equal(plain.reqs, probed.reqs) {
		t.Errorf("a forged tag is visible:\nunrecognised: %+v\nforged:       %+v", plain, probed)
	}
	if plainErr != "" {
		t.Errorf("stderr without a probe: %q", plainErr)
	}
	if !strings.Contains(probedErr, "did not open") || strings.Count(probedErr, "did not open") != 2 {
		t.Errorf("stderr with probes: %q, want a warning for each", probedErr)
	}
}
