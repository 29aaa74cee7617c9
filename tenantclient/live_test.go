package tenantclient_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/internal/loggen"
	"github.com/hisoka-project/hisoka/server"
	"github.com/hisoka-project/hisoka/spec"
	"github.com/hisoka-project/hisoka/tenantclient"
)

// tb is what the helpers need of a test; examples pass their own.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Error(args ...any)
	TempDir() string
	Cleanup(func())
}

// live is a real Hisoka server started in-process on a real listener, and
// the operator's side of it.
type live struct {
	t   tb
	srv *server.Server
	cfg server.Config
	url string
	op  string // operator token
}

func startLive(t tb, tune func(*server.Config)) *live {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Syslog.TCPAddr = ""
	cfg.Syslog.UDPAddr = ""
	if tune != nil {
		tune(&cfg)
	}
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("HISOKA_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	s, err := server.Open(context.Background(), cfg, log, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	l := &live{t: t, srv: s, cfg: cfg, url: "http://" + s.Addrs()[0].String()}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	l.op = l.mint("operator", "")
	return l
}

func (l *live) mint(role, tenant string) string {
	tok, err := server.MintToken(l.cfg, server.TokenOptions{Role: role, Tenant: tenant, TTL: time.Hour}, rand.Reader)
	if err != nil {
		l.t.Fatal(err)
	}
	return tok
}

// must sends a request as the operator (or with token) and decodes a JSON
// answer into out.
func (l *live) must(want int, method, path, token, ctype string, body []byte, out any) {
	l.t.Helper()
	req, err := http.NewRequest(method, l.url+path, bytes.NewReader(body))
	if err != nil {
		l.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		l.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		l.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			l.t.Fatal(err)
		}
	}
}

func (l *live) jsonBody(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		l.t.Fatal(err)
	}
	return b
}

// register registers a tenant with its public key and project; the answer
// carries the keys to pin.
func (l *live) register(id string, pub ed25519.PublicKey, project string) spec.TenantRegistered {
	var reg spec.TenantRegistered
	l.must(201, "POST", "/v1/admin/tenants", l.op, "application/json",
		l.jsonBody(spec.Tenant{ID: id, PublicKey: pub, Settings: map[string]string{"project": project}}), &reg)
	return reg
}

func (l *live) resource(r spec.Resource) {
	l.must(201, "POST", "/v1/admin/resources", l.op, "application/json", l.jsonBody(r), nil)
}

// publishCatalog stores and publishes the default catalogue.
func (l *live) publishCatalog() {
	cat, err := os.ReadFile("../testdata/catalog/default.yaml")
	if err != nil {
		l.t.Fatal(err)
	}
	var vs spec.CatalogVersions
	l.must(201, "POST", "/v1/admin/catalogues", l.op, "application/yaml", cat, &vs)
	l.must(204, "POST", fmt.Sprintf("/v1/admin/catalogues/%d/publish", vs.Versions[0]), l.op, "", nil, nil)
}

// ingest sends lines as raw text with an ingest token (platform when
// tenant is empty, else that tenant's own logs).
func (l *live) ingest(tenant string, lines []string) {
	l.t.Helper()
	var b strings.Builder
	for _, ln := range lines {
		b.WriteString(ln + "\n")
	}
	l.must(200, "POST", "/v1/ingest", l.mint("ingest", tenant), "text/plain", []byte(b.String()), nil)
}

// world is a server with a published catalogue and one tenant owning the
// VMs of one generated project, ready for a client.
type world struct {
	*live
	gen     *loggen.Log
	creates []loggen.Truth // vm.create truths of the tenant's VMs, in time order
	reg     spec.TenantRegistered
	dir     string // the tenant's state directory
	tenant  string
}

// newWorld makes a world whose tenant owns vms VMs (each created once in
// the generated log).
func newWorld(t tb, vms int, tune func(*server.Config)) *world {
	t.Helper()
	l := startLive(t, tune)
	gen := loggen.Generate(loggen.Config{Seed: 7, Projects: 1, VMs: vms, NoBackground: true, Duration: 10 * time.Minute})
	w := &world{live: l, gen: gen, dir: t.TempDir(), tenant: "tenant-a"}
	for _, tr := range gen.Truth {
		if tr.ID == "vm.create" {
			w.creates = append(w.creates, tr)
		}
	}
	if len(w.creates) != vms {
		t.Fatalf("generator gave %d creations", len(w.creates))
	}
	id, err := tenantclient.Init(w.dir, w.tenant, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	w.reg = l.register(w.tenant, id.Public(), w.creates[0].Tenant)
	for _, c := range w.creates {
		l.resource(spec.Resource{ID: c.Resource, Kind: "vm", Tenant: w.tenant, Project: c.Tenant})
	}
	l.publishCatalog()
	return w
}

// client returns a client of the world's tenant with the keys pinned from
// the registration answer.
func (w *world) client(t tb, mod func(*tenantclient.Config)) *tenantclient.Client {
	t.Helper()
	cfg := tenantclient.Config{URL: w.url, StateDir: w.dir, BoardKey: w.reg.BoardPublicKey, LedgerKey: w.reg.LedgerKey}
	if mod != nil {
		mod(&cfg)
	}
	c, err := tenantclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// resource0 gives the first generated VM to tenant (an example's own
// tenant).
func (w *world) resource0(tenant string) {
	w.resource(spec.Resource{ID: w.creates[0].Resource, Kind: "vm", Tenant: tenant, Project: w.creates[0].Tenant})
}

// feed sends the generated platform lines in [from, to).
func (w *world) feed(from, to time.Time) {
	var lines []string
	for _, ln := range w.gen.Lines {
		if !ln.Time.Before(from) && ln.Time.Before(to) {
			lines = append(lines, ln.Text)
		}
	}
	w.ingest("", lines)
}

// pollUntil polls until n notifications arrived or the deadline passed.
func pollUntil(t testing.TB, c *tenantclient.Client, n int, d time.Duration) []tenantclient.Notification {
	t.Helper()
	var got []tenantclient.Notification
	deadline := time.Now().Add(d)
	for len(got) < n && time.Now().Before(deadline) {
		ns, err := c.Poll(t.Context(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ns...)
	}
	return got
}

var forever = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
