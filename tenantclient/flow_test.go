package tenantclient_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/internal/loggen"
	"github.com/hisoka-project/hisoka/store/ledger"
	"github.com/hisoka-project/hisoka/tenantclient"
)

// TestFlow is the whole path against a real server: a fresh identity, the
// operator's registration, the catalogue, a blind subscription, platform
// logs, a verified and decrypted notification, and nothing for a
// subscription that did not fire or for a VM the tenant did not subscribe to.
func TestFlow(t *testing.T) {
	w := newWorld(t, 2, nil)
	c := w.client(t, nil)
	cat, err := c.Catalog(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Entries) == 0 || cat.Entries[0].ID != "vm.create" {
		t.Fatalf("catalogue %+v", cat)
	}
	vm := w.creates[0].Resource
	subs, err := c.Subscribe(t.Context(),
		tenantclient.Subscription{Pattern: "vm.create", Resource: vm},
		tenantclient.Subscription{ID: "deleted", Pattern: "vm.delete", Resource: vm},
		tenantclient.Subscription{Pattern: "vm.migrate", Resource: vm},
		tenantclient.Subscription{Pattern: "vm.create", Resource: vm}, // a duplicate is skipped
	)
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 4 || subs[0].ID != "vm.create@"+vm || len(subs[0].Periods) == 0 || len(c.Subscriptions()) != 3 {
		t.Fatalf("subscriptions %+v", subs)
	}
	// The same descriptor under another name is the existing subscription;
	// an existing name for another descriptor is refused.
	again, err := c.Subscribe(t.Context(), tenantclient.Subscription{ID: "other-name", Pattern: "vm.create", Resource: vm})
	if err != nil || again[0].ID != subs[0].ID || len(c.Subscriptions()) != 3 {
		t.Fatalf("same descriptor: %+v, %v", again, err)
	}
	if _, err := c.Subscribe(t.Context(), tenantclient.Subscription{ID: "deleted", Pattern: "vm.stop", Resource: vm}); !errors.Is(err, tenantclient.ErrSubscription) {
		t.Fatalf("reused id: %v", err)
	}
	w.feed(time.Time{}, forever)
	got := pollUntil(t, c, 2, 20*time.Second)
	if len(got) != 2 {
		t.Fatalf("notifications %+v", got)
	}
	for _, n := range got {
		var truth *loggen.Truth
		for i, tr := range w.gen.Truth {
			if tr.ID == n.Pattern && tr.Resource == n.Resource {
				truth = &w.gen.Truth[i]
			}
		}
		want := map[string]string{"vm.create": subs[0].ID, "vm.delete": "deleted"}[n.Pattern]
		if truth == nil || n.Subscription != want || n.Resource != vm || n.Severity != 2 || n.Count < 1 ||
			n.Start.Before(truth.Start.Add(-time.Second)) || n.End.After(truth.End.Add(time.Second)) || n.Seq == 0 {
			t.Fatalf("notification %+v, truth %+v", n, truth)
		}
	}
	if got[0].Pattern == got[1].Pattern {
		t.Fatalf("notifications %+v", got)
	}
	// Nothing more: the other VM was not subscribed, vm.migrate never fired.
	if more, err := c.Poll(t.Context(), 300*time.Millisecond); err != nil || len(more) != 0 {
		t.Fatalf("more: %+v, %v", more, err)
	}
	// Keys and tokens stay in 0600 files.
	for _, f := range []string{tenantclient.IdentityFile, tenantclient.StateFile} {
		fi, err := os.Stat(filepath.Join(w.dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s has mode %v", f, fi.Mode())
		}
	}
	if h := c.DirectoryHash(); h == [32]byte{} {
		t.Fatal("no directory hash")
	}
}

// TestRestart: a client that stops and a new one on the same state
// directory deliver every notification exactly once, through Poll and
// through the Notifications iterator.
func TestRestart(t *testing.T) {
	w := newWorld(t, 3, nil)
	c := w.client(t, nil)
	var subs []tenantclient.Subscription
	for _, cr := range w.creates {
		subs = append(subs, tenantclient.Subscription{Pattern: "vm.create", Resource: cr.Resource})
	}
	if _, err := c.Subscribe(t.Context(), subs...); err != nil {
		t.Fatal(err)
	}
	cut1 := w.creates[0].End.Add(time.Second)
	cut2 := w.creates[1].End.Add(time.Second)
	w.feed(time.Time{}, cut1)
	first := pollUntil(t, c, 1, 20*time.Second)
	if len(first) != 1 || first[0].Resource != w.creates[0].Resource {
		t.Fatalf("first: %+v", first)
	}
	// Restart: a new client, the second creation arrives meanwhile.
	w.feed(cut1, cut2)
	w.waitBoard(t, 2)
	c = w.client(t, nil)
	var second []tenantclient.Notification
	for n, err := range c.Notifications(t.Context(), time.Second) {
		if err != nil {
			t.Fatal(err)
		}
		second = append(second, n)
		break // the process "stops" right after handling it
	}
	if len(second) != 1 || second[0].Resource != w.creates[1].Resource {
		t.Fatalf("second: %+v", second)
	}
	// Restart again: only the third creation is new.
	w.feed(cut2, forever)
	w.waitBoard(t, 3)
	c = w.client(t, nil)
	third := pollUntil(t, c, 1, 20*time.Second)
	if len(third) != 1 || third[0].Resource != w.creates[2].Resource {
		t.Fatalf("third: %+v", third)
	}
	if more, err := c.Poll(t.Context(), 200*time.Millisecond); err != nil || len(more) != 0 {
		t.Fatalf("repeated: %+v, %v", more, err)
	}
}

// TestOwnLogs: search, export, offline verification, access report and
// retention of the tenant's own VM logs.
func TestOwnLogs(t *testing.T) {
	w := newWorld(t, 1, nil)
	c := w.client(t, func(cfg *tenantclient.Config) { cfg.LedgerKey = nil })
	now := time.Now().UTC()
	var lines []string
	for i, msg := range []string{"Accepted publickey for alice from 192.0.2.7 port 5022 ssh2", "Failed password for root from 192.0.2.8 port 5023 ssh2", "session opened for user alice"} {
		lines = append(lines, "<86>1 "+now.Add(time.Duration(i)*time.Second).Format(time.RFC3339)+" vm-a sshd 4242 - - "+msg)
	}
	w.ingest(w.tenant, lines)
	page, err := c.Search(t.Context(), tenantclient.LogQuery{Terms: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != 2 {
		t.Fatalf("search: %+v", page)
	}
	var buf bytes.Buffer
	if _, err := c.Export(t.Context(), &buf, 0, 0); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "\n"); n != 3 {
		t.Fatalf("export: %d lines", n)
	}
	p, err := c.VerifyLogs(t.Context(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if p.From != 1 || p.To != 3 || len(p.Records) != 3 {
		t.Fatalf("proof range %d..%d, %d records", p.From, p.To, len(p.Records))
	}
	if _, ledgerKey := c.PinnedKeys(); !bytes.Equal(ledgerKey, w.reg.LedgerKey) {
		t.Fatal("ledger key not pinned on first use")
	}
	// Offline: an altered, a dropped or a foreign-keyed record is refused.
	alter := *p
	alter.Records = append(alter.Records[:0:0], p.Records...)
	alter.Records[1].Line = strings.Replace(alter.Records[1].Line, "root", "toor", 1)
	if err := c.VerifyProof(&alter); !errors.Is(err, tenantclient.ErrLogProof) || !errors.Is(err, ledger.ErrAltered) {
		t.Fatalf("altered: %v", err)
	}
	drop := *p
	drop.Records = p.Records[:2]
	if err := c.VerifyProof(&drop); !errors.Is(err, tenantclient.ErrLogProof) {
		t.Fatalf("dropped: %v", err)
	}
	foreign := *p
	foreign.LedgerKey = bytes.Repeat([]byte{1}, 32)
	if err := c.VerifyProof(&foreign); !errors.Is(err, tenantclient.ErrLedgerKeyChanged) {
		t.Fatalf("foreign key: %v", err)
	}
	sum, err := c.Report(t.Context(), time.Time{}, time.Time{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Tenant != w.tenant || sum.Records != 3 || sum.LastSeq != 3 || sum.Sources["vm-a"] == nil {
		t.Fatalf("report: %+v", sum)
	}
	rep, err := c.AccessReport(t.Context(), time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]bool{}
	for _, a := range rep.Accesses {
		if a.Who == "tenant:"+w.tenant {
			actions[a.Action] = true
		}
	}
	if !actions["query"] || !actions["export"] || !actions["verify"] || !actions["report"] {
		t.Fatalf("access report: %+v", rep)
	}
	if d, err := c.Retention(t.Context()); err != nil || d != 0 {
		t.Fatalf("retention %v, %v", d, err)
	}
	if d, err := c.SetRetention(t.Context(), 720*time.Hour); err != nil || d != 720*time.Hour {
		t.Fatalf("set retention %v, %v", d, err)
	}
	if d, err := c.Retention(t.Context()); err != nil || d != 720*time.Hour {
		t.Fatalf("retention %v, %v", d, err)
	}
	if _, err := c.SetRetention(t.Context(), time.Minute); !errors.Is(err, tenantclient.ErrServer) {
		t.Fatalf("retention of a minute: %v", err)
	}
}

// TestUnregisteredTenant: a tenant the operator has not registered is
// told so by name.
func TestUnregisteredTenant(t *testing.T) {
	w := newWorld(t, 1, nil)
	dir := t.TempDir()
	if _, err := tenantclient.Init(dir, "stranger", nil); err == nil {
		t.Fatal("Init without randomness")
	}
	if _, err := tenantclient.Init(dir, "stranger", strings.NewReader(strings.Repeat("k", 32))); err != nil {
		t.Fatal(err)
	}
	if _, err := tenantclient.Init(dir, "stranger", strings.NewReader(strings.Repeat("k", 32))); !errors.Is(err, tenantclient.ErrExists) {
		t.Fatalf("second Init: %v", err)
	}
	c, err := tenantclient.New(tenantclient.Config{URL: w.url, StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Catalog(t.Context()); !errors.Is(err, tenantclient.ErrUnauthenticated) {
		t.Fatalf("err = %v", err)
	}
}

// TestPollDoesNotBlock: a long poll in progress leaves the rest of the
// client usable, and a subscription added meanwhile matches what the poll
// brings.
func TestPollDoesNotBlock(t *testing.T) {
	w := newWorld(t, 1, nil)
	c := w.client(t, nil)
	if _, err := c.Poll(t.Context(), 0); err != nil { // pins, registers nothing
		t.Fatal(err)
	}
	type result struct {
		ns  []tenantclient.Notification
		err error
	}
	done := make(chan result, 1)
	go func() {
		ns, err := c.Poll(t.Context(), 30*time.Second)
		done <- result{ns, err}
	}()
	time.Sleep(100 * time.Millisecond) // let the poll reach the server (not an assertion)
	if _, err := c.Subscribe(t.Context(), tenantclient.Subscription{Pattern: "vm.create", Resource: w.creates[0].Resource}); err != nil {
		t.Fatal(err)
	}
	var early *result
	select {
	case r := <-done: // only a heartbeat batch may end the poll this early
		if r.err != nil || len(r.ns) != 0 {
			t.Fatalf("the poll ended before anything was sent: %+v", r)
		}
		early = &r
	default:
	}
	w.feed(time.Time{}, w.creates[0].End.Add(time.Second))
	var ns []tenantclient.Notification
	if early == nil {
		r := <-done
		if r.err != nil {
			t.Fatal(r.err)
		}
		ns = r.ns
	}
	if len(ns) == 0 {
		ns = pollUntil(t, c, 1, 10*time.Second)
	}
	if len(ns) != 1 || ns[0].Pattern != "vm.create" {
		t.Fatalf("notifications %+v", ns)
	}
}
