package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/internal/loggen"
	"github.com/hisoka-project/hisoka/server"
	"github.com/hisoka-project/hisoka/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// operator is the server side of a CLI test: a real server on a real
// listener and an operator token.
type operator struct {
	t   *testing.T
	cfg server.Config
	url string
	tok string
}

func startServer(t *testing.T) *operator {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Syslog.TCPAddr, cfg.Syslog.UDPAddr = "", ""
	s, err := server.Open(context.Background(), cfg, slog.New(slog.DiscardHandler), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		_ = s.Close()
	})
	o := &operator{t: t, cfg: cfg, url: "http://" + s.Addrs()[0].String()}
	o.tok = o.mint("operator", "")
	return o
}

func (o *operator) mint(role, tenant string) string {
	tok, err := server.MintToken(o.cfg, server.TokenOptions{Role: role, Tenant: tenant, TTL: time.Hour}, rand.Reader)
	if err != nil {
		o.t.Fatal(err)
	}
	return tok
}

func (o *operator) call(want int, method, path, token, ctype string, body []byte) []byte {
	o.t.Helper()
	req, err := http.NewRequest(method, o.url+path, bytes.NewReader(body))
	if err != nil {
		o.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		o.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		o.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	return raw
}

func (o *operator) jsonCall(want int, method, path string, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		o.t.Fatal(err)
	}
	return o.call(want, method, path, o.tok, "application/json", b)
}

// session runs CLI commands through the real entry point and keeps a
// transcript.
type session struct {
	t      *testing.T
	env    map[string]string
	out    strings.Builder
	stdin  string
	client *http.Client
}

func (s *session) run(args ...string) (string, error) {
	s.t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(s.stdin), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return s.env[k] }, client: s.client}
	ctx, cancel := context.WithTimeout(s.t.Context(), 30*time.Second)
	defer cancel()
	err := run(ctx, args, e)
	fmt.Fprintf(&s.out, "$ hisoka-tenant %s\n%s", strings.Join(args, " "), stdout.String())
	for _, ln := range strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n") {
		if ln != "" && !strings.HasPrefix(ln, "  -") && !strings.HasPrefix(ln, "    \t") {
			fmt.Fprintf(&s.out, "stderr: %s\n", ln)
		}
	}
	if err != nil {
		fmt.Fprintf(&s.out, "error: %v (exit %d)\n", err, exitCode(err))
	}
	s.out.WriteString("\n")
	return stdout.String(), err
}

func exitCode(err error) int {
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

// must runs a command that has to succeed.
func (s *session) must(args ...string) string {
	s.t.Helper()
	out, err := s.run(args...)
	if err != nil {
		s.t.Fatalf("hisoka-tenant %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// normalise replaces what changes from run to run.
func normalise(s string, repl map[string]string) string {
	keys := make([]string, 0, len(repl))
	for k := range repl {
		keys = append(keys, k)
	}
	// Longest first: the state directory lies inside the work directory.
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	for _, k := range keys {
		s = strings.ReplaceAll(s, k, repl[k])
	}
	for _, r := range []struct {
		re   *regexp.Regexp
		with string
	}{
		{regexp.MustCompile(`[A-Za-z0-9+/]{43}=`), "<KEY>"},
		{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`), "<TIME>"},
		{regexp.MustCompile(`"(seq|epoch|period|bytes)":\s?\d+`), `"$1":<N>`},
		{regexp.MustCompile(`key periods \d+`), "key periods <N>"},
		{regexp.MustCompile(`(?m)  \d+$`), "  <N>"},
		{regexp.MustCompile(`request [A-Za-z0-9-]+\)`), "request <ID>)"},
	} {
		s = r.re.ReplaceAllString(s, r.with)
	}
	return s
}

// TestSession runs the CLI end to end against a real server, from init to
// decrypted notifications, a tampered board, own logs, the access report and
// retention, and compares the transcript with testdata/session.golden.
func TestSession(t *testing.T) {
	o := startServer(t)
	gen := loggen.Generate(loggen.Config{Seed: 7, Projects: 1, VMs: 1, NoBackground: true, Duration: 10 * time.Minute})
	var create, del loggen.Truth
	for _, tr := range gen.Truth {
		switch tr.ID {
		case "vm.create":
			create = tr
		case "vm.delete":
			del = tr
		}
	}
	if create.Resource == "" || del.Resource != create.Resource {
		t.Fatalf("generator gave %+v", gen.Truth)
	}
	vm := create.Resource
	work := t.TempDir()
	state := filepath.Join(work, "state")
	s := &session{t: t, env: map[string]string{"HISOKA_URL": o.url, "HISOKA_TENANT": "acme", "HISOKA_STATE": state}}

	// The tenant makes its key and hands the public key to the operator.
	out := s.must("init")
	m := regexp.MustCompile(`public key: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("init printed %q", out)
	}
	pub, err := base64Decode(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(state, "identity.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("identity file: %v %v", fi, err)
	}
	s.run("init") // a second init refuses to overwrite the key
	reg := o.jsonCall(201, "POST", "/v1/admin/tenants", spec.Tenant{ID: "acme", PublicKey: pub, Settings: map[string]string{"project": create.Tenant}})
	o.jsonCall(201, "POST", "/v1/admin/resources", spec.Resource{ID: vm, Kind: "vm", Tenant: "acme", Project: create.Tenant})
	cat, err := os.ReadFile("../../testdata/catalog/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var vs spec.CatalogVersions
	if err := json.Unmarshal(o.call(201, "POST", "/v1/admin/catalogues", o.tok, "application/yaml", cat), &vs); err != nil {
		t.Fatal(err)
	}
	o.call(204, "POST", fmt.Sprintf("/v1/admin/catalogues/%d/publish", vs.Versions[0]), o.tok, "", nil)
	regFile := filepath.Join(work, "registration.json")
	if err := os.WriteFile(regFile, reg, 0o600); err != nil {
		t.Fatal(err)
	}
	s.must("pin", "--registration", regFile)

	s.must("catalog")
	s.must("subscribe", "--pattern", "vm.create", "--resource", vm)
	subsFile := filepath.Join(work, "subscriptions.txt")
	if err := os.WriteFile(subsFile, []byte("# pattern resource [name=value ...]\nvm.delete "+vm+"\nvm.migrate "+vm+"\n\nvm.create "+vm+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.must("subscribe", "--file", subsFile)
	s.must("subscriptions")
	s.run("subscribe", "--pattern", "vm.create")

	// The platform logs the VM's creation: one verified notification.
	feed := func(from, to time.Time) {
		var b strings.Builder
		for _, ln := range gen.Lines {
			if !ln.Time.Before(from) && ln.Time.Before(to) {
				b.WriteString(ln.Text + "\n")
			}
		}
		o.call(200, "POST", "/v1/ingest", o.mint("ingest", ""), "text/plain", []byte(b.String()))
	}
	cut := create.End.Add(time.Second)
	feed(time.Time{}, cut)
	if out := s.must("poll", "--follow", "--for", "3s", "--wait", "1s"); !strings.Contains(out, `"pattern":"vm.create"`) {
		t.Fatalf("poll: %q", out)
	}
	s.must("poll")

	// The deletion arrives through a proxy that alters the board: reported,
	// nothing delivered; then straight from the server it is delivered once.
	proxy := tamperingProxy(t, o.url)
	feed(cut, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
	if _, err := s.run("poll", "--url", proxy, "--wait", "10s"); err == nil {
		t.Fatal("a tampered board was accepted")
	}
	if out := s.must("poll", "--follow", "--for", "3s", "--wait", "1s"); !strings.Contains(out, `"pattern":"vm.delete"`) {
		t.Fatalf("poll: %q", out)
	}
	s.must("poll")

	// Own logs from the tenant's VM.
	var b strings.Builder
	for i, msg := range []string{"Accepted publickey for alice from 192.0.2.7 port 5022 ssh2", "Failed password for root from 192.0.2.8 port 5023 ssh2", "pam_unix(sshd:session): session opened for user alice"} {
		at := time.Now().UTC().Add(time.Duration(i-10) * time.Second).Format(time.RFC3339)
		fmt.Fprintf(&b, "<86>1 %s vm-a sshd 4242 - - %s\n", at, msg)
	}
	o.call(200, "POST", "/v1/ingest", o.mint("ingest", "acme"), "text/plain", []byte(b.String()))
	s.must("logs", "search", "--q", "alice")
	s.must("logs", "export")
	proofFile := filepath.Join(work, "proof.json")
	s.must("logs", "verify", "--save", proofFile)
	s.must("logs", "verify", "--proof", proofFile, "--url", "")
	raw, err := os.ReadFile(proofFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(proofFile, bytes.Replace(raw, []byte("for root"), []byte("for toor"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.run("logs", "verify", "--proof", proofFile); err == nil {
		t.Fatal("an altered record verified")
	}
	s.must("report")
	s.must("access-report")
	s.must("retention")
	s.must("retention", "--set", "2160h")
	s.must("retention")
	s.run("retention", "--set", "10m")
	s.run("frobnicate")

	// What poll and logs verify verified, or refused, is in the journal the
	// dashboard reads.
	j, err := openJournal(state)
	if err != nil {
		t.Fatal(err)
	}
	ns, fs := everything(j)
	if len(ns) != 2 || ns[0].Pattern != "vm.delete" || ns[1].Pattern != "vm.create" {
		t.Errorf("journal notifications %+v", ns)
	}
	if len(fs) != 2 || fs[0].Classes[0] != "log proof" || fs[1].Classes[0] != "tampered" {
		t.Errorf("journal failures %+v", fs)
	}

	if os.Getenv("HISOKA_TRANSCRIPT") != "" {
		t.Log("\n" + s.out.String())
	}
	got := normalise(s.out.String(), map[string]string{state: "$STATE", work: "$WORK", o.url: "$URL", proxy: "$PROXY"})
	golden := filepath.Join("testdata", "session.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("transcript differs from %s (go test -run TestSession -update to accept):\n%s", golden, diff(string(want), got))
	}
}

// diff shows the first differing lines.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\nwant: %s\ngot:  %s", i+1, a, b)
		}
	}
	return ""
}
