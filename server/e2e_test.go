package server_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hisoka-project/hisoka/crypto"
	"github.com/hisoka-project/hisoka/internal/loggen"
	"github.com/hisoka-project/hisoka/server"
	"github.com/hisoka-project/hisoka/server/internal/loki"
	"github.com/hisoka-project/hisoka/spec"
	"github.com/hisoka-project/hisoka/store"
	"github.com/hisoka-project/hisoka/store/ledger"
)

// live is a running server on real listeners and what a test needs to
// talk to it.
type live struct {
	t      testing.TB
	srv    *server.Server
	cfg    server.Config
	url    string
	syslog string
	op     string // operator token
}

func startLive(t testing.TB) *live { return startLiveIn(t, t.TempDir()) }

func startLiveIn(t testing.TB, dir string) *live { return startLiveWith(t, dir, nil) }

func startLiveWith(t testing.TB, dir string, tune func(*server.Config)) *live {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.DataDir = dir
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Syslog.TCPAddr = "127.0.0.1:0"
	cfg.Syslog.UDPAddr = ""
	if tune != nil {
		tune(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("HISOKA_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	s, err := server.Open(t.Context(), cfg, log, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	addrs := s.Addrs()
	l := &live{t: t, srv: s, cfg: cfg, url: "http://" + addrs[0].String(), syslog: addrs[1].String()}
	t.Cleanup(l.stop)
	l.op = l.mint("operator", "")
	return l
}

// stop shuts the server down gracefully (once).
func (l *live) stop() {
	if l.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.srv.Shutdown(ctx); err != nil {
		l.t.Error(err)
	}
	if err := l.srv.Close(); err != nil {
		l.t.Error(err)
	}
	l.srv = nil
}

func (l *live) mint(role, tenant string) string {
	tok, err := server.MintToken(l.cfg, server.TokenOptions{Role: role, Tenant: tenant, TTL: time.Hour}, rand.Reader)
	if err != nil {
		l.t.Fatal(err)
	}
	return tok
}

// do sends a request and decodes a JSON answer into out (if not nil); it
// returns the status.
func (l *live) do(method, path, token, ctype string, body []byte, out any) int {
	l.t.Helper()
	req, err := http.NewRequest(method, l.url+path, bytes.NewReader(body))
	if err != nil {
		l.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		l.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		l.t.Fatal(err)
	}
	if out != nil && resp.StatusCode < 300 {
		if b, ok := out.(*[]byte); ok {
			*b = raw
		} else if err := json.Unmarshal(raw, out); err != nil {
			l.t.Fatalf("%s %s: %v in %q", method, path, err, raw)
		}
	}
	return resp.StatusCode
}

func (l *live) must(want int, method, path, token, ctype string, body []byte, out any) {
	l.t.Helper()
	if got := l.do(method, path, token, ctype, body, out); got != want {
		l.t.Fatalf("%s %s: status %d, want %d", method, path, got, want)
	}
}

func (l *live) json(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		l.t.Fatal(err)
	}
	return b
}

// tenant is a tenant's side: its identity and pinned keys.
type tenant struct {
	id    string
	key   *crypto.Identity
	board ed25519.PublicKey
}

func (l *live) register(id, project string) *tenant {
	idn, err := crypto.NewIdentity(rand.Reader)
	if err != nil {
		l.t.Fatal(err)
	}
	var reg spec.TenantRegistered
	l.must(201, "POST", "/v1/admin/tenants", l.op, "application/json",
		l.json(spec.Tenant{ID: id, PublicKey: idn.Public(), Settings: map[string]string{"project": project}}), &reg)
	return &tenant{id: id, key: idn, board: reg.BoardPublicKey}
}

func (l *live) token(tn *tenant) string {
	tok, err := server.SignTenantToken(tn.key.PrivateKey(), tn.id, l.cfg.Auth.Audience, time.Now(), 5*time.Minute, rand.Reader)
	if err != nil {
		l.t.Fatal(err)
	}
	return tok
}

// subscribe registers descriptors blindly and returns a matcher holding
// them under the names given.
func (l *live) subscribe(tn *tenant, names []string, ds []crypto.Descriptor) *crypto.Matcher {
	var raw []byte
	l.must(200, "GET", "/v1/keys", "", "", nil, &raw)
	dir, err := crypto.ParseDirectory(raw, tn.board)
	if err != nil {
		l.t.Fatal(err)
	}
	now := time.Now()
	key, err := dir.KeyAt(now)
	if err != nil {
		l.t.Fatal(err)
	}
	reg, req, err := crypto.Blind(rand.Reader, key, tn.id, ds)
	if err != nil {
		l.t.Fatal(err)
	}
	var resp []byte
	l.must(200, "POST", "/v1/subscriptions/evaluate", l.token(tn), "application/octet-stream", req, &resp)
	toks, err := reg.Finalize(resp)
	if err != nil {
		l.t.Fatal(err)
	}
	m := crypto.NewMatcher(tn.id, crypto.EpochAt(now), 0)
	for i := range toks {
		if err := m.Subscribe(names[i], &toks[i], 0); err != nil {
			l.t.Fatal(err)
		}
	}
	return m
}

// poll long-polls the tenant's board after seq and verifies the chain.
func (l *live) poll(tn *tenant, v *crypto.ChainVerifier, wait time.Duration) []*crypto.Batch {
	var n spec.Notifications
	l.must(200, "GET", fmt.Sprintf("/v1/tenants/%s/notifications?after=%d&wait=%s", tn.id, v.LastSeq, wait), l.token(tn), "", nil, &n)
	var wire [][]byte
	for _, b := range n.Batches {
		wire = append(wire, b.Data)
	}
	bs, err := v.Verify(wire...)
	if err != nil {
		l.t.Fatalf("board of %s: %v", tn.id, err)
	}
	return bs
}

func matchAll(t testing.TB, m *crypto.Matcher, bs []*crypto.Batch) []crypto.Notification {
	t.Helper()
	var out []crypto.Notification
	for _, b := range bs {
		ns, err := m.Match(b)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ns...)
	}
	return out
}

func (l *live) sendSyslog(lines []string) {
	l.t.Helper()
	c, err := net.Dial("tcp", l.syslog)
	if err != nil {
		l.t.Fatal(err)
	}
	var b bytes.Buffer
	for _, line := range lines {
		if strings.HasPrefix(line, "<") {
			fmt.Fprintf(&b, "%d %s", len(line), line) // RFC 6587 octet counting
		} else {
			b.WriteString(line + "\n") // LF framing, as rsyslog forwards plain lines
		}
	}
	if _, err := c.Write(b.Bytes()); err != nil {
		l.t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		l.t.Fatal(err)
	}
}

// waitStream waits until an operator search of stream finds n records
// (syslog has no acknowledgement).
func (l *live) waitStream(stream, query string, n int) spec.LogPage {
	l.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var p spec.LogPage
		l.must(200, "GET", "/v1/admin/streams/"+stream+"/logs?limit=10000&"+query, l.op, "", nil, &p)
		if len(p.Records) >= n {
			return p
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("stream %s: %d records, want %d", stream, len(p.Records), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestEndToEnd is issue 5's acceptance: two tenants with keys and VMs, a
// blind subscription, platform logs over syslog TCP and the Loki push API,
// long polls, tenant isolation, tenant VM logs over syslog with an ingest
// token, and the access report.
func TestEndToEnd(t *testing.T) {
	l := startLive(t)
	gen := loggen.Generate(loggen.Config{Seed: 1, Projects: 2, VMs: 2, NoBackground: true, Duration: 10 * time.Minute})
	var creates []loggen.Truth
	for _, tr := range gen.Truth {
		if tr.ID == "vm.create" {
			creates = append(creates, tr)
		}
	}
	if len(creates) != 2 || creates[0].Tenant == creates[1].Tenant {
		t.Fatalf("generator gave %+v", creates)
	}
	vmA, vmB := creates[0].Resource, creates[1].Resource

	a := l.register("tenant-a", creates[0].Tenant)
	b := l.register("tenant-b", creates[1].Tenant)
	for _, r := range []spec.Resource{
		{ID: vmA, Kind: "vm", Tenant: a.id, Project: creates[0].Tenant},
		{ID: vmB, Kind: "vm", Tenant: b.id, Project: creates[1].Tenant},
		{ID: "compute-1", Kind: "host", Tenant: spec.TenantPlatform, Addresses: []string{"127.0.0.1"}},
	} {
		l.must(201, "POST", "/v1/admin/resources", l.op, "application/json", l.json(r), nil)
	}
	// Reserved ids are not tenants.
	l.must(400, "POST", "/v1/admin/tenants", l.op, "application/json", l.json(spec.Tenant{ID: "platform", PublicKey: a.key.Public()}), nil)

	cat, err := os.ReadFile("../testdata/catalog/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var vs spec.CatalogVersions
	l.must(201, "POST", "/v1/admin/catalogues", l.op, "application/yaml", cat, &vs)
	l.must(204, "POST", fmt.Sprintf("/v1/admin/catalogues/%d/publish", vs.Versions[0]), l.op, "", nil, nil)
	var tc spec.Catalog
	l.must(200, "GET", "/v1/catalog", l.token(a), "", nil, &tc)
	if len(tc.Entries) == 0 || tc.Entries[0].ID != "vm.create" {
		t.Fatalf("tenant catalogue %+v", tc)
	}

	// A subscribes blindly to vm.create for its VM, and (to show nothing
	// leaks) for B's VM too.
	create := func(vm string) crypto.Descriptor { return crypto.Descriptor{PatternID: "vm.create", ResourceID: vm} }
	mA := l.subscribe(a, []string{"own", "other"}, []crypto.Descriptor{create(vmA), create(vmB)})

	// Platform logs: the first half over syslog TCP (from a platform
	// host's address), the rest through the Loki push API (protobuf).
	half := len(gen.Lines) / 2
	var first []string
	for _, ln := range gen.Lines[:half] {
		first = append(first, ln.Text)
	}
	l.sendSyslog(first)
	l.waitStream(spec.TenantPlatform, "", half)
	var entries []loki.Entry
	for _, ln := range gen.Lines[half:] {
		entries = append(entries, loki.Entry{Time: ln.Time, Line: ln.Text})
	}
	push := loki.EncodeProtobuf([]loki.Stream{{Labels: map[string]string{"job": "nova", "host": "compute-1"}, Entries: entries}})
	platformIngest := l.mint("ingest", "")
	l.must(204, "POST", "/loki/api/v1/push", platformIngest, "application/x-protobuf", push, nil)
	l.waitStream(spec.TenantPlatform, "", len(gen.Lines))

	// A's long poll returns its notification, and nothing for B's VM.
	vA := &crypto.ChainVerifier{BoardKey: a.board, Tenant: a.id}
	var got []crypto.Notification
	deadline := time.Now().Add(20 * time.Second)
	for len(got) == 0 && time.Now().Before(deadline) {
		got = append(got, matchAll(t, mA, l.poll(a, vA, 5*time.Second))...)
	}
	if len(got) != 1 || got[0].SubscriptionID != "own" {
		t.Fatalf("A's notifications: %+v", got)
	}
	if p := got[0].Payload; p.Start.Before(creates[0].Start.Add(-time.Second)) || p.End.After(creates[0].End.Add(time.Second)) || p.Count < 1 {
		t.Fatalf("payload %+v, truth %+v", p, creates[0])
	}
	// Nothing more for A (B's creation went to B's board).
	if more := matchAll(t, mA, l.poll(a, vA, 300*time.Millisecond)); len(more) != 0 {
		t.Fatalf("A got more: %+v", more)
	}

	// B's board has batches, but B recognises nothing until it subscribes.
	vB := &crypto.ChainVerifier{BoardKey: b.board, Tenant: b.id}
	var bBatches []*crypto.Batch
	for len(bBatches) == 0 && time.Now().Before(deadline) {
		bBatches = append(bBatches, l.poll(b, vB, 5*time.Second)...)
	}
	empty := crypto.NewMatcher(b.id, crypto.EpochAt(time.Now()), 0)
	if ns := matchAll(t, empty, bBatches); len(ns) != 0 {
		t.Fatalf("B without subscriptions: %+v", ns)
	}
	mB := l.subscribe(b, []string{"mine"}, []crypto.Descriptor{create(vmB)})
	if ns := matchAll(t, mB, bBatches); len(ns) != 1 || ns[0].SubscriptionID != "mine" {
		t.Fatalf("B after subscribing: %+v", ns)
	}

	// Isolation: each tenant gets 403 on the other's logs and board; no
	// tenant reads the platform logs or the quarantine.
	for _, path := range []string{
		"/v1/tenants/tenant-b/logs", "/v1/tenants/tenant-b/notifications", "/v1/tenants/tenant-b/logs/export",
		"/v1/tenants/tenant-b/access", "/v1/tenants/platform/logs", "/v1/tenants/quarantine/logs",
		"/v1/admin/streams/platform/logs", "/v1/admin/streams/quarantine/logs", "/v1/admin/anomalies",
	} {
		l.must(403, "GET", path, l.token(a), "", nil, nil)
	}
	l.must(403, "GET", "/v1/tenants/tenant-a/notifications", l.token(b), "", nil, nil)
	l.must(403, "GET", "/v1/tenants/tenant-a/logs", l.token(b), "", nil, nil)
	// Ingest tokens read nothing.
	l.must(403, "GET", "/v1/tenants/tenant-a/logs", l.mint("ingest", a.id), "", nil, nil)

	// A's own VM logs over syslog with its tenant ingest token; a frame
	// with a forged token goes to the quarantine.
	ingestA := l.mint("ingest", a.id)
	vmLine := func(tok, msg string) string {
		return fmt.Sprintf(`<86>1 %s vm-a sshd 4242 - [hisoka@32473 token="%s"] %s`, time.Now().UTC().Format(time.RFC3339), tok, msg)
	}
	l.sendSyslog([]string{
		vmLine(ingestA, "Accepted publickey for alice from 192.0.2.7 port 5022 ssh2 zebracorn"),
		vmLine(ingestA[:len(ingestA)-4]+"AAAA", "Failed password for root from 192.0.2.8 port 5023 ssh2 quarantined-unicorn"),
	})
	q := l.waitStream(spec.TenantQuarantine, "q=quarantined-unicorn", 1)
	if strings.Contains(q.Records[0].Line, "token=") {
		t.Fatal("token kept in a stored line")
	}
	var page spec.LogPage
	deadline = time.Now().Add(10 * time.Second)
	for len(page.Records) == 0 && time.Now().Before(deadline) {
		l.must(200, "GET", "/v1/tenants/tenant-a/logs?q=zebracorn", l.token(a), "", nil, &page)
		time.Sleep(20 * time.Millisecond)
	}
	if len(page.Records) != 1 || strings.Contains(page.Records[0].Line, ingestA) || !strings.Contains(page.Records[0].Line, "alice") {
		t.Fatalf("A's search: %+v", page)
	}
	var bPage spec.LogPage
	l.must(200, "GET", "/v1/tenants/tenant-b/logs?q=zebracorn", l.token(b), "", nil, &bPage)
	if len(bPage.Records) != 0 {
		t.Fatalf("B sees A's line: %+v", bPage)
	}
	var plat spec.LogPage
	l.must(200, "GET", "/v1/admin/streams/platform/logs?q=zebracorn", l.op, "", nil, &plat)
	if len(plat.Records) != 0 {
		t.Fatal("A's VM line in the platform stream")
	}
	// The search shows in A's access report.
	var rep spec.AccessReport
	l.must(200, "GET", "/v1/tenants/tenant-a/access", l.token(a), "", nil, &rep)
	found := false
	for _, x := range rep.Accesses {
		if x.Action == "query" && strings.Contains(x.Query, "zebracorn") && x.Who == "tenant:tenant-a" && x.Count == 1 {
			found = true
		}
	}
	if !found {
		t.Fatalf("access report: %+v", rep)
	}

	// Export and verify A's log offline.
	var nd []byte
	l.must(200, "GET", "/v1/tenants/tenant-a/logs/export", l.token(a), "", nil, &nd)
	if n := bytes.Count(nd, []byte("\n")); n != 1 {
		t.Fatalf("export: %d lines", n)
	}
	var proof spec.Proof
	l.must(200, "GET", "/v1/tenants/tenant-a/logs/verify", l.token(a), "", nil, &proof)
	var p ledger.Proof
	if err := p.UnmarshalBinary(proof.Proof); err != nil {
		t.Fatal(err)
	}
	recs := make([]store.Record, len(proof.Records))
	for i, r := range proof.Records {
		recs[i] = server.RecordFromWire(r)
	}
	if err := store.VerifyRecords(ed25519.PublicKey(proof.LedgerKey), &p, recs); err != nil {
		t.Fatal(err)
	}
	recs[0].Line += "x"
	if err := store.VerifyRecords(ed25519.PublicKey(proof.LedgerKey), &p, recs); err == nil {
		t.Fatal("altered record verified")
	}

	// Retention set and read back.
	var ret spec.Retention
	l.must(200, "PUT", "/v1/tenants/tenant-a/retention", l.token(a), "application/json", l.json(spec.Retention{Retention: "720h"}), &ret)
	l.must(200, "GET", "/v1/tenants/tenant-a/retention", l.token(a), "", nil, &ret)
	if ret.Retention != "720h0m0s" {
		t.Fatalf("retention %q", ret.Retention)
	}
}

// TestAuthRejections: each rejection of issue 5 against real routes.
func TestAuthRejections(t *testing.T) {
	l := startLive(t)
	a := l.register("tenant-a", "p-a")
	priv := a.key.PrivateKey()
	now := time.Now()
	claims := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"sub": a.id, "aud": l.cfg.Auth.Audience, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "jti": fmt.Sprint(time.Now().UnixNano())}
		if mod != nil {
			mod(c)
		}
		return c
	}
	sign := func(m jwt.SigningMethod, key any, c jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	replayed := sign(jwt.SigningMethodEdDSA, priv, claims(nil))
	l.must(200, "GET", "/v1/tenants/tenant-a/access", replayed, "", nil, nil)
	for _, c := range []struct {
		name  string
		token string
		want  int
	}{
		{"missing", "", 401},
		{"alg none", sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(nil)), 401},
		{"HS256 keyed with the public key", sign(jwt.SigningMethodHS256, []byte(a.key.Public()), claims(nil)), 401},
		{"expired", sign(jwt.SigningMethodEdDSA, priv, claims(func(c jwt.MapClaims) {
			c["iat"], c["exp"] = now.Add(-10*time.Minute).Unix(), now.Add(-5*time.Minute).Unix()
		})), 401},
		{"not yet valid", sign(jwt.SigningMethodEdDSA, priv, claims(func(c jwt.MapClaims) { c["nbf"] = now.Add(3 * time.Minute).Unix() })), 401},
		{"wrong audience", sign(jwt.SigningMethodEdDSA, priv, claims(func(c jwt.MapClaims) { c["aud"] = "someone-else" })), 401},
		{"unknown key", sign(jwt.SigningMethodEdDSA, stranger, claims(nil)), 401},
		{"unknown tenant", sign(jwt.SigningMethodEdDSA, priv, claims(func(c jwt.MapClaims) { c["sub"] = "nobody" })), 401},
		{"lifetime over 10 minutes", sign(jwt.SigningMethodEdDSA, priv, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(30 * time.Minute).Unix() })), 401},
		{"replayed jti", replayed, 401},
		{"garbage", "not.a.token", 401},
	} {
		if got := l.do("GET", "/v1/tenants/tenant-a/access", c.token, "", nil, nil); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	// Valid callers outside their role: 403.
	l.must(403, "GET", "/v1/admin/tenants", l.token(a), "", nil, nil)
	l.must(403, "POST", "/v1/ingest", l.token(a), "text/plain", []byte("x\n"), nil)
	l.must(403, "GET", "/v1/tenants/tenant-a/logs", l.op, "", nil, nil)
	l.must(403, "GET", "/v1/admin/tenants", l.mint("ingest", ""), "", nil, nil)
}

// TestTenantStreamRules: a tenant's own VM logs run through the catalogue's
// rules too, and what fires lands on that tenant's board only.
func TestTenantStreamRules(t *testing.T) {
	l := startLive(t)
	a := l.register("tenant-a", "p-a")
	b := l.register("tenant-b", "p-b")
	cat, err := os.ReadFile("../testdata/catalog/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l.must(201, "POST", "/v1/admin/catalogues", l.op, "application/yaml", cat, nil)
	l.must(204, "POST", "/v1/admin/catalogues/1/publish", l.op, "", nil, nil)
	brute := crypto.Descriptor{PatternID: "ssh.bruteforce", ResourceID: "*"}
	mA := l.subscribe(a, []string{"brute"}, []crypto.Descriptor{brute})
	mB := l.subscribe(b, []string{"brute"}, []crypto.Descriptor{brute})

	var body strings.Builder
	now := time.Now().UTC()
	for i := range 10 {
		fmt.Fprintf(&body, "<38>1 %s vm-a sshd %d - - Failed password for root from 198.51.100.9 port %d ssh2\n",
			now.Add(time.Duration(i)*time.Second).Format(time.RFC3339), 4000+i, 50000+i)
	}
	var res spec.IngestResult
	l.must(200, "POST", "/v1/ingest", l.mint("ingest", a.id), "text/plain", []byte(body.String()), &res)
	if res.Stream != "tenant" || res.Accepted != 10 {
		t.Fatalf("ingest: %+v", res)
	}
	vA := &crypto.ChainVerifier{BoardKey: a.board, Tenant: a.id}
	var got []crypto.Notification
	deadline := time.Now().Add(20 * time.Second)
	for len(got) == 0 && time.Now().Before(deadline) {
		got = append(got, matchAll(t, mA, l.poll(a, vA, 5*time.Second))...)
	}
	if len(got) != 1 || got[0].Payload.Severity != 10 {
		t.Fatalf("A: %+v", got)
	}
	vB := &crypto.ChainVerifier{BoardKey: b.board, Tenant: b.id}
	if ns := matchAll(t, mB, l.poll(b, vB, 300*time.Millisecond)); len(ns) != 0 {
		t.Fatalf("B notified of A's logs: %+v", ns)
	}
	// A's report: its lines by source and severity, and the rule hit.
	var rep spec.Report
	to := url.QueryEscape(now.Add(time.Minute).Format(time.RFC3339)) // the lines are dated up to 9 s ahead
	l.must(200, "GET", "/v1/tenants/tenant-a/report?to="+to, l.token(a), "", nil, &rep)
	if rep.Lines != 10 || rep.Sources["vm-a"]["6"] != 10 || rep.RuleHits["ssh.bruteforce"] != 1 || rep.Records != 10 {
		t.Fatalf("report %+v", rep)
	}
	l.must(403, "GET", "/v1/tenants/tenant-a/report", l.token(b), "", nil, nil)
	var opRep spec.Report
	l.must(200, "GET", "/v1/admin/tenants/tenant-a/report?to="+to, l.op, "", nil, &opRep)
	if opRep.Lines != 10 {
		t.Fatalf("operator's view %+v", opRep)
	}
	var srcs []spec.SourceHealth
	l.must(200, "GET", "/v1/admin/sources?stream=tenant-a", l.op, "", nil, &srcs)
	if len(srcs) != 1 || srcs[0].Source != "vm-a" || srcs[0].Lines != 10 || srcs[0].Silent {
		t.Fatalf("sources %+v", srcs)
	}
	// Nothing of A's lines reaches the operators' anomaly stream.
	var an spec.LogPage
	l.must(200, "GET", "/v1/admin/anomalies?q=198.51.100.9", l.op, "", nil, &an)
	if len(an.Records) != 0 {
		t.Fatalf("tenant lines in anomalies: %+v", an)
	}
}

// TestLearnFromStoredLogs: an operator learns a proposed catalogue from a
// time range of stored platform logs.
func TestLearnFromStoredLogs(t *testing.T) {
	l := startLive(t)
	gen := loggen.Generate(loggen.Config{Seed: 2, Duration: time.Hour, VMs: 30})
	var body strings.Builder
	for _, ln := range gen.Lines {
		body.WriteString(ln.Text + "\n")
	}
	l.must(200, "POST", "/v1/ingest", l.mint("ingest", ""), "text/plain", []byte(body.String()), nil)
	var res spec.Learned
	from, to := gen.Lines[0].Time.Add(-time.Second), gen.Lines[len(gen.Lines)-1].Time.Add(time.Second)
	l.must(201, "POST", "/v1/admin/catalogues/learn?from="+from.Format(time.RFC3339)+"&to="+to.Format(time.RFC3339), l.op, "", nil, &res)
	if res.Lines != len(gen.Lines) || res.Patterns == 0 || res.Version != 1 {
		t.Fatalf("learned %+v from %d lines", res, len(gen.Lines))
	}
	var cat []byte
	l.must(200, "GET", "/v1/admin/catalogues/1", l.op, "", nil, &cat)
	if !bytes.Contains(cat, []byte(`"patterns"`)) {
		t.Fatalf("catalogue %s", cat)
	}
	// The read of platform logs is audited.
	var rep spec.AccessReport
	l.must(200, "GET", "/v1/admin/access?tenant=platform", l.op, "", nil, &rep)
	if len(rep.Accesses) == 0 || rep.Accesses[len(rep.Accesses)-1].Action != "learn" {
		t.Fatalf("audit %+v", rep)
	}
	l.must(403, "POST", "/v1/admin/catalogues/learn", l.mint("ingest", ""), "", nil, nil)
}

// TestQuota: a tenant's storage quota refuses lines beyond it with a clear
// error; lines within it are taken.
func TestQuota(t *testing.T) {
	l := startLive(t)
	idn, err := crypto.NewIdentity(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	l.must(201, "POST", "/v1/admin/tenants", l.op, "application/json", l.json(spec.Tenant{ID: "small", PublicKey: idn.Public(), Quota: ptr(uint64(300))}), nil)
	tok := l.mint("ingest", "small")
	l.must(200, "POST", "/v1/ingest", tok, "text/plain", []byte("a short line\n"), nil)
	big := strings.Repeat("a line that does not fit in the quota\n", 20)
	req, _ := http.NewRequest("POST", l.url+"/v1/ingest", strings.NewReader(big))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var eb struct{ Error string }
	json.NewDecoder(resp.Body).Decode(&eb)
	if resp.StatusCode != 413 || eb.Error != "tenant storage quota exceeded" {
		t.Fatalf("over quota: %d %q", resp.StatusCode, eb.Error)
	}
}

// TestShutdownEndsLongPolls: a graceful shutdown answers waiting long polls
// at once instead of waiting for them.
func TestShutdownEndsLongPolls(t *testing.T) {
	l := startLive(t)
	a := l.register("tenant-a", "p")
	done := make(chan int, 1)
	tok := l.token(a)
	go func() {
		done <- l.do("GET", "/v1/tenants/tenant-a/notifications?after=1000&wait=60s", tok, "", nil, nil)
	}()
	time.Sleep(200 * time.Millisecond)
	l.stop()
	select {
	case code := <-done:
		if code != 200 {
			t.Fatalf("long poll answered %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("long poll still waiting")
	}
}

// TestAnomaliesForOperators: residual anomalies of the platform stream
// reach the operators' anomaly stream, with their samples.
func TestAnomaliesForOperators(t *testing.T) {
	l := startLive(t)
	cat, err := os.ReadFile("../testdata/catalog/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l.must(201, "POST", "/v1/admin/catalogues", l.op, "application/yaml", cat, nil)
	l.must(204, "POST", "/v1/admin/catalogues/1/publish", l.op, "", nil, nil)
	gen := loggen.Generate(loggen.Config{Seed: 4, Duration: 20 * time.Minute, VMs: 5, Faults: loggen.Faults{BridgeDown: 1, IptablesFlush: 1}})
	var body strings.Builder
	for _, ln := range gen.Lines {
		body.WriteString(ln.Text + "\n")
	}
	l.must(200, "POST", "/v1/ingest", l.mint("ingest", ""), "text/plain", []byte(body.String()), nil)
	var page spec.LogPage
	deadline := time.Now().Add(20 * time.Second)
	for len(page.Records) == 0 && time.Now().Before(deadline) {
		l.must(200, "GET", "/v1/admin/anomalies", l.op, "", nil, &page)
		time.Sleep(50 * time.Millisecond)
	}
	if len(page.Records) == 0 {
		t.Fatal("no anomalies")
	}
	var d struct {
		Kind    string
		Samples []string
	}
	if err := json.Unmarshal([]byte(page.Records[0].Line), &d); err != nil || d.Kind != "anomaly" || len(d.Samples) == 0 {
		t.Fatalf("anomaly record %q: %v", page.Records[0].Line, err)
	}
}

// TestEvaluationRate: blind evaluations are limited per tenant (protocol
// 5.4: about one request per second, after a small burst), and malformed
// requests are refused with a fixed message.
func TestEvaluationRate(t *testing.T) {
	l := startLive(t)
	a := l.register("tenant-a", "p")
	var raw []byte
	l.must(200, "GET", "/v1/keys", "", "", nil, &raw)
	dir, err := crypto.ParseDirectory(raw, a.board)
	if err != nil {
		t.Fatal(err)
	}
	key, err := dir.KeyAt(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, req, err := crypto.Blind(rand.Reader, key, a.id, []crypto.Descriptor{{PatternID: "vm.create", ResourceID: "vm-1"}})
	if err != nil {
		t.Fatal(err)
	}
	l.must(400, "POST", "/v1/subscriptions/evaluate", l.token(a), "application/octet-stream", req[:len(req)-1], nil)
	codes := map[int]int{}
	for range 8 {
		codes[l.do("POST", "/v1/subscriptions/evaluate", l.token(a), "application/octet-stream", req, nil)]++
	}
	if codes[200] == 0 || codes[429] == 0 || codes[200]+codes[429] != 8 {
		t.Fatalf("status counts %v", codes)
	}
}

// TestFreshBoard: a new tenant's board has a batch at once (dummies only),
// so the tenant can check from the start that nothing is withheld.
func TestFreshBoard(t *testing.T) {
	l := startLive(t)
	a := l.register("tenant-a", "p")
	v := &crypto.ChainVerifier{BoardKey: a.board, Tenant: a.id}
	bs := l.poll(a, v, 0)
	if len(bs) != 1 || len(bs[0].Entries()) == 0 {
		t.Fatalf("batches %d", len(bs))
	}
	if err := v.CheckFresh(time.Now()); err != nil {
		t.Fatal(err)
	}
	if ns := matchAll(t, crypto.NewMatcher(a.id, crypto.EpochAt(time.Now()), 0), bs); len(ns) != 0 {
		t.Fatalf("dummies matched: %+v", ns)
	}
}

// TestAPIErrors: bad input gets a clear status and fixed message.
func TestAPIErrors(t *testing.T) {
	l := startLive(t)
	a := l.register("tenant-a", "p")
	ta := func() string { return l.token(a) }
	for _, c := range []struct {
		name, method, path, token, ctype, body string
		want                                   int
	}{
		{"no catalogue yet", "GET", "/v1/catalog", ta(), "", "", 404},
		{"invalid catalogue", "POST", "/v1/admin/catalogues", l.op, "application/yaml", "version: 99\n", 400},
		{"unknown stream", "GET", "/v1/admin/streams/nope/logs", l.op, "", "", 404},
		{"bad time", "GET", "/v1/tenants/tenant-a/logs?from=yesterday", ta(), "", "", 400},
		{"bad cursor", "GET", "/v1/tenants/tenant-a/logs?cursor=zzz", ta(), "", "", 400},
		{"bad wait", "GET", "/v1/tenants/tenant-a/notifications?wait=forever", ta(), "", "", 400},
		{"bad after", "GET", "/v1/tenants/tenant-a/notifications?after=-1", ta(), "", "", 400},
		{"short retention", "PUT", "/v1/tenants/tenant-a/retention", ta(), "application/json", `{"retention":"1m"}`, 400},
		{"unknown field", "PUT", "/v1/tenants/tenant-a/retention", ta(), "application/json", `{"retention":"","x":1}`, 400},
		{"bad public key", "POST", "/v1/admin/tenants", l.op, "application/json", `{"id":"t2","public_key":"AAAA"}`, 400},
		{"tenant id too long", "POST", "/v1/admin/tenants", l.op, "application/json", `{"id":"` + strings.Repeat("x", 256) + `","public_key":"` + base64.StdEncoding.EncodeToString(a.key.Public()) + `"}`, 400},
		{"resource of unknown tenant", "POST", "/v1/admin/resources", l.op, "application/json", `{"id":"vm","kind":"vm","tenant":"nobody"}`, 404},
		{"bad address", "POST", "/v1/admin/resources", l.op, "application/json", `{"id":"vm","kind":"vm","tenant":"tenant-a","addresses":["x"]}`, 400},
		{"unknown catalogue version", "POST", "/v1/admin/catalogues/9/publish", l.op, "", "", 404},
		{"unknown format", "POST", "/v1/ingest?format=xml", l.mint("ingest", ""), "text/plain", "x\n", 400},
		{"unknown content type", "POST", "/v1/ingest", l.mint("ingest", ""), "image/png", "x", 415},
		{"audit without tenant", "GET", "/v1/admin/access", l.op, "", "", 400},
		{"ingest token of an unregistered tenant", "POST", "/v1/ingest", l.mint("ingest", "ghost"), "text/plain", "x\n", 403},
	} {
		if got := l.do(c.method, c.path, c.token, c.ctype, []byte(c.body), nil); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}
