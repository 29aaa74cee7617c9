package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/internal/browser"
	"github.com/hisoka-project/hisoka/internal/loggen"
	"github.com/hisoka-project/hisoka/spec"
	"github.com/hisoka-project/hisoka/tenantclient"
)

// lockedBuffer is a bytes.Buffer safe for the ui's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// uiRun is a running "hisoka-tenant ui", started through the real entry
// point.
type uiRun struct {
	url    string // the printed address, with the access secret
	base   string // http://host:port
	stderr *lockedBuffer
	stop   func() error
}

// startUI runs "hisoka-tenant ui ARGS" with the session's environment until
// stop (or the test's end), and returns once it printed its address.
func startUI(t *testing.T, s *session, args ...string) *uiRun {
	t.Helper()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	u := &uiRun{stderr: &lockedBuffer{}}
	e := &env{stdin: strings.NewReader(""), stdout: pw, stderr: u.stderr, getenv: func(k string) string { return s.env[k] }, client: s.client}
	errc := make(chan error, 1)
	go func() {
		err := run(ctx, append([]string{"ui", "--listen", "127.0.0.1:0"}, args...), e)
		pw.Close()
		errc <- err
	}()
	var once sync.Once
	var err error
	u.stop = func() error {
		once.Do(func() {
			cancel()
			err = <-errc
		})
		return err
	}
	t.Cleanup(func() { u.stop() })
	br := bufio.NewReader(pr)
	addr := regexp.MustCompile(`^\s+(http://[^/\s]+)/\?access=\S+$`)
	for {
		line, rerr := br.ReadString('\n')
		if m := addr.FindStringSubmatch(strings.TrimRight(line, "\n")); m != nil {
			u.url, u.base = strings.TrimSpace(line), m[1]
			break
		}
		if rerr != nil {
			t.Fatalf("ui printed no address: %v (stderr %q, exit %v)", rerr, u.stderr.String(), u.stop())
		}
	}
	go io.Copy(io.Discard, br)
	return u
}

// signedIn returns an HTTP client holding the dashboard's cookie, got by
// opening the printed address.
func (u *uiRun) signedIn(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.Get(u.url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.RawQuery != "" {
		t.Fatalf("opening the printed address: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	return c
}

func get(t *testing.T, c *http.Client, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// waitPage reads url until its body contains want.
func waitPage(t *testing.T, c *http.Client, url, want string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, _, body := get(t, c, url)
		if strings.Contains(body, want) {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never showed %q; last:\n%s", url, want, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tenantWorld is a real server with a registered tenant "acme" whose VM is
// created and deleted in generated platform logs, a published catalogue,
// and the tenant's state directory with the keys pinned and a vm.create and
// vm.delete subscription.
type tenantWorld struct {
	o       *operator
	s       *session
	state   string
	gen     *loggen.Log
	created time.Time // end of the VM's creation burst
	vm      string
}

func newTenantWorld(t *testing.T) *tenantWorld {
	t.Helper()
	o := startServer(t)
	gen := loggen.Generate(loggen.Config{Seed: 7, Projects: 1, VMs: 1, NoBackground: true, Duration: 10 * time.Minute})
	var create loggen.Truth
	for _, tr := range gen.Truth {
		if tr.ID == "vm.create" {
			create = tr
		}
	}
	if create.Resource == "" {
		t.Fatalf("generator gave %+v", gen.Truth)
	}
	work := t.TempDir()
	state := filepath.Join(work, "state")
	s := &session{t: t, env: map[string]string{"HISOKA_URL": o.url, "HISOKA_TENANT": "acme", "HISOKA_STATE": state}}
	out := s.must("init")
	m := regexp.MustCompile(`public key: (\S+)`).FindStringSubmatch(out)
	pub, err := base64Decode(m[1])
	if err != nil {
		t.Fatal(err)
	}
	reg := o.jsonCall(201, "POST", "/v1/admin/tenants", spec.Tenant{ID: "acme", PublicKey: pub, Settings: map[string]string{"project": create.Tenant}})
	o.jsonCall(201, "POST", "/v1/admin/resources", spec.Resource{ID: create.Resource, Kind: "vm", Tenant: "acme", Project: create.Tenant})
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
	s.must("subscribe", "--pattern", "vm.create", "--resource", create.Resource)
	s.must("subscribe", "--pattern", "vm.delete", "--resource", create.Resource)
	return &tenantWorld{o: o, s: s, state: state, gen: gen, created: create.End.Add(time.Second), vm: create.Resource}
}

// feed ingests the generated platform lines of [from, to).
func (w *tenantWorld) feed(from, to time.Time) {
	var b strings.Builder
	for _, ln := range w.gen.Lines {
		if !ln.Time.Before(from) && (to.IsZero() || ln.Time.Before(to)) {
			b.WriteString(ln.Text + "\n")
		}
	}
	w.o.call(200, "POST", "/v1/ingest", w.o.mint("ingest", ""), "text/plain", []byte(b.String()))
}

// tamperingProxy forwards to target and flips a byte of every board batch.
func tamperingProxy(t *testing.T, target string) string {
	u, _ := url.Parse(target)
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
		for i := range page.Batches {
			d := page.Batches[i].Data
			d[len(d)-80] ^= 0x40
		}
		raw, _ = json.Marshal(page)
		resp.Body = io.NopCloser(bytes.NewReader(raw))
		resp.ContentLength = int64(len(raw))
		resp.Header.Set("Content-Length", strconv.Itoa(len(raw)))
		return nil
	}
	p := httptest.NewServer(rp)
	t.Cleanup(p.Close)
	return p.URL
}

// TestUI runs "hisoka-tenant ui" end to end against a real server: a VM's
// creation becomes a verified notification the dashboard shows with its
// decrypted details; after a restart the board is served through a proxy
// that alters it, and the dashboard puts the failure at the top while still
// showing what was verified before. A headless Chromium opens the pages,
// checks the notification and the failure banner, finds no console error
// or CSP violation, and writes screenshots ($HISOKA_ARTIFACTS).
func TestUI(t *testing.T) {
	w := newTenantWorld(t)
	w.feed(time.Time{}, w.created)

	// An honest board: the creation is verified and shown.
	u := startUI(t, w.s, "--wait", "1s", "--refresh", "0")
	c := u.signedIn(t)
	body := waitPage(t, c, u.base+"/", `class="pattern">vm.create<`)
	body = waitPage(t, c, u.base+"/", "VM created") // the catalogue's name, read in the background
	// The notification can be shown a moment before the poll that brought
	// it is recorded as ended.
	body = waitPage(t, c, u.base+"/", `<span class="ok">verified</span>`)
	for _, want := range []string{w.vm, "Last poll", "vm.create@" + w.vm} {
		if !strings.Contains(body, want) {
			t.Errorf("notifications page lacks %q", want)
		}
	}
	if strings.Contains(body, `id="failure-board"`) || strings.Contains(body, `id="recorded-banner"`) {
		t.Errorf("an honest board shows a failure:\n%s", body)
	}
	_, _, subs := get(t, c, u.base+"/subscriptions")
	if !strings.Contains(subs, "vm.delete@"+w.vm) || !strings.Contains(subs, "vm.create@"+w.vm) {
		t.Errorf("subscriptions page:\n%s", subs)
	}
	if err := u.stop(); err != nil {
		t.Fatalf("ui stopped with %v (stderr %q)", err, u.stderr.String())
	}
	// The ui polled through the same state as poll: nothing is delivered twice.
	if out := w.s.must("poll"); out != "" {
		t.Errorf("poll after ui delivered again: %q", out)
	}

	// The deletion arrives on a board altered on its way.
	w.feed(w.created, time.Time{})
	proxy := tamperingProxy(t, w.o.url)
	u = startUI(t, w.s, "--url", proxy, "--wait", "1s", "--refresh", "0")
	c = u.signedIn(t)
	body = waitPage(t, c, u.base+"/", `id="failure-board"`)
	for _, want := range []string{"Board verification failing: tampered", "not signed by the pinned board key", "batch tampered", `class="pattern">vm.create<`} {
		if !strings.Contains(body, want) {
			t.Errorf("page under attack lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, `class="pattern">vm.delete<`) {
		t.Error("a notification from the altered board is shown")
	}
	if i, j := strings.Index(body, `id="failure-board"`), strings.Index(body, `id="notifications"`); i < 0 || j < 0 || i > j {
		t.Error("the failure banner is not above the notifications")
	}
	_, _, failures := get(t, c, u.base+"/failures")
	if !strings.Contains(failures, "tampered") || strings.Contains(failures, `id="no-failures"`) {
		t.Errorf("failures page:\n%s", failures)
	}

	b := browser.New(t)
	if status := b.Open(u.url); status != 200 {
		t.Fatalf("dashboard status %d", status)
	}
	if got := b.Text("#failure-board h2"); got != "Board verification failing: tampered" {
		t.Errorf("banner %q", got)
	}
	if got := b.Text("#notifications .pattern"); got != "vm.create" {
		t.Errorf("first notification %q", got)
	}
	if got := b.Text("#notifications .resource"); !strings.Contains(got, w.vm) {
		t.Errorf("notification resource %q", got)
	}
	if n := b.Count("#notifications tr.notification"); n != 1 {
		t.Errorf("%d notifications shown, want 1", n)
	}
	b.Screenshot("notifications")
	if status := b.Click(`nav a[href="/subscriptions"]`); status != 200 {
		t.Fatalf("subscriptions status %d", status)
	}
	if n := b.Count("#subscriptions tr.subscription"); n != 2 {
		t.Errorf("%d subscriptions shown, want 2", n)
	}
	b.Screenshot("subscriptions")
	b.Click(`nav a[href="/failures"]`)
	if got := b.Text("#failures .failure strong"); got != "tampered" {
		t.Errorf("failures page shows %q", got)
	}
	b.Screenshot("failures")
	if err := u.stop(); err != nil {
		t.Fatal(err)
	}

	// Straight from the server again the deletion is delivered; the
	// failure stays recorded at the top, marked as verified since.
	u = startUI(t, w.s, "--wait", "1s", "--refresh", "0")
	c = u.signedIn(t)
	waitPage(t, c, u.base+"/", `class="pattern">vm.delete<`)
	body = waitPage(t, c, u.base+"/", "Polls have verified again since")
	if !strings.Contains(body, `id="recorded-banner"`) || !strings.Contains(body, "Polls have verified again since") || strings.Contains(body, `id="failure-board"`) {
		t.Errorf("after recovery:\n%s", body)
	}
	if err := u.stop(); err != nil {
		t.Fatal(err)
	}

	// Without polling (and without a server address) it shows what is stored.
	offline := &session{t: t, env: map[string]string{"HISOKA_TENANT": "acme", "HISOKA_STATE": w.state}}
	u = startUI(t, offline, "--poll=false")
	_, _, body = get(t, u.signedIn(t), u.base+"/")
	for _, want := range []string{"Not polling", `class="pattern">vm.delete<`, `class="pattern">vm.create<`, `id="recorded-banner"`} {
		if !strings.Contains(body, want) {
			t.Errorf("offline page lacks %q", want)
		}
	}
}

// secrets returns every key and token of a state directory, in the
// encodings a page could leak them in.
func secrets(t *testing.T, state string) []string {
	t.Helper()
	var raw [][]byte
	var id struct{ Seed []byte }
	b, err := os.ReadFile(filepath.Join(state, tenantclient.IdentityFile))
	if err != nil || json.Unmarshal(b, &id) != nil || len(id.Seed) != 32 {
		t.Fatalf("identity: %v", err)
	}
	raw = append(raw, id.Seed)
	var st struct {
		BoardKey      []byte `json:"board_public_key"`
		LedgerKey     []byte `json:"ledger_public_key"`
		Subscriptions []struct {
			Tokens []struct{ Token []byte }
		}
	}
	if b, err = os.ReadFile(filepath.Join(state, tenantclient.StateFile)); err != nil || json.Unmarshal(b, &st) != nil {
		t.Fatalf("state: %v", err)
	}
	raw = append(raw, st.BoardKey, st.LedgerKey)
	tokens := 0
	for _, s := range st.Subscriptions {
		for _, tk := range s.Tokens {
			raw = append(raw, tk.Token)
			tokens++
		}
	}
	if tokens == 0 || len(st.BoardKey) == 0 {
		t.Fatal("the state holds no token or no pinned key: the test would prove nothing")
	}
	var out []string
	for _, r := range raw {
		b64, hx := base64.StdEncoding.EncodeToString(r), hex.EncodeToString(r)
		// Prefixes too, in case a page shortened one.
		for _, s := range []string{string(r), b64, b64[:16], base64.RawURLEncoding.EncodeToString(r), hx, hx[:16]} {
			// html/template writes "+" as "&#43;".
			out = append(out, s, template.HTMLEscapeString(s))
		}
	}
	return out
}

// TestDashboardHandler checks the handler's guard on a real listener: the
// Host check, the access secret and its cookie, the security headers on
// every answer, and that no key or token of the state is in any answer.
func TestDashboardHandler(t *testing.T) {
	w := newTenantWorld(t)
	w.feed(time.Time{}, w.created)
	// The server matches ingested lines in the background: poll until the
	// creation's batch is there.
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(w.s.must("poll", "--wait", "2s"), "vm.create"); {
		if time.Now().After(deadline) {
			t.Fatal("the VM's creation never reached the board")
		}
	}

	srv := httptest.NewUnstartedServer(nil)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	cl, err := tenantclient.New(tenantclient.Config{URL: "http://offline.invalid", StateDir: w.state})
	if err != nil {
		t.Fatal(err)
	}
	j, err := openJournal(w.state)
	if err != nil {
		t.Fatal(err)
	}
	const secret = "s3cret-of-this-run-s3cret-of-this-run-xx"
	d, err := newDashboard(cl, j, &catalogNames{}, secret, port, true, 30*time.Second, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = d.routes()
	srv.Start()
	defer srv.Close()
	base := srv.URL
	cookie := &http.Cookie{Name: "hisoka_ui_" + strconv.Itoa(port), Value: secret}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	var bodies []string
	do := func(method, path, host string, c *http.Cookie) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if host != "" {
			req.Host = host
		}
		if c != nil {
			req.AddCookie(c)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var h strings.Builder
		resp.Header.Write(&h)
		bodies = append(bodies, h.String()+string(b))
		for k, want := range map[string]string{
			"Content-Security-Policy": dashboardCSP,
			"X-Frame-Options":         "DENY",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"Cache-Control":           "no-store",
		} {
			if got := resp.Header.Get(k); got != want {
				t.Errorf("%s %s (host %q): %s = %q, want %q", method, path, host, k, got, want)
			}
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		return resp
	}
	p := strconv.Itoa(port)
	for _, tc := range []struct {
		name, method, path, host string
		cookie                   *http.Cookie
		want                     int
	}{
		{"no cookie", "GET", "/", "", nil, 401},
		{"no cookie, static file", "GET", "/static/style.css", "", nil, 401},
		{"wrong cookie", "GET", "/", "", &http.Cookie{Name: cookie.Name, Value: secret[:len(secret)-1] + "y"}, 401},
		{"cookie of another port", "GET", "/", "", &http.Cookie{Name: "hisoka_ui_1", Value: secret}, 401},
		{"wrong access secret", "GET", "/?access=guess", "", nil, 403},
		{"empty access secret", "GET", "/?access=", "", nil, 403},
		{"rebinding host", "GET", "/", "evil.example:" + p, cookie, 421},
		{"rebinding host with the secret", "GET", "/?access=" + secret, "evil.example:" + p, nil, 421},
		{"loopback host, other port", "GET", "/", "127.0.0.1:1", cookie, 421},
		{"host without port", "GET", "/", "localhost", cookie, 421},
		{"POST", "POST", "/", "", cookie, 405},
		{"unknown page", "GET", "/admin", "", cookie, 404},
		{"directory listing", "GET", "/static/", "", cookie, 404},
		{"notifications", "GET", "/", "", cookie, 200},
		{"notifications by localhost", "GET", "/", "localhost:" + p, cookie, 200},
		{"notifications by [::1]", "GET", "/", "[::1]:" + p, cookie, 200},
		{"subscriptions", "GET", "/subscriptions", "", cookie, 200},
		{"failures", "GET", "/failures", "", cookie, 200},
		{"stylesheet", "GET", "/static/style.css", "", cookie, 200},
		{"icon", "GET", "/static/icon.svg", "", cookie, 200},
		{"HEAD", "HEAD", "/", "", cookie, 200},
	} {
		if resp := do(tc.method, tc.path, tc.host, tc.cookie); resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}

	// The printed address sets the cookie and drops the secret from the
	// address bar.
	resp := do("GET", "/subscriptions?access="+secret, "", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/subscriptions" {
		t.Fatalf("access: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, path := range []string{"//evil.example/", "/\\evil.example/"} {
		req, _ := http.NewRequest("GET", base+"/?access="+secret, nil)
		req.URL.Path = path
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/" {
			t.Errorf("access at %q redirects %d to %q, want /", path, resp.StatusCode, loc)
		}
	}
	var set *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == cookie.Name {
			set = c
		}
	}
	if set == nil || set.Value != secret || !set.HttpOnly || set.SameSite != http.SameSiteStrictMode || set.Path != "/" {
		t.Fatalf("cookie %+v", set)
	}

	// The pages show the decrypted details...
	page, _ := io.ReadAll(do("GET", "/", "", cookie).Body)
	for _, want := range []string{`class="pattern">vm.create<`, w.vm, "vm.create@" + w.vm, `<meta http-equiv="refresh" content="30">`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("notifications page lacks %q", want)
		}
	}
	// ...and nothing secret, in any answer, the refused ones included. The
	// access secret itself is only ever in Set-Cookie.
	all := strings.Join(bodies, "\n")
	for _, s := range secrets(t, w.state) {
		if strings.Contains(all, s) {
			t.Errorf("an answer holds key or token bytes %q", s)
		}
	}
	for _, b := range bodies {
		if strings.Contains(b, secret) && !strings.Contains(b, "Set-Cookie: "+cookie.Name+"="+secret) {
			t.Errorf("the access secret is in an answer:\n%s", b)
		}
	}
}

func TestLoopbackAddr(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:7480": "127.0.0.1:7480",
		"localhost:0":    "127.0.0.1:0",
		"[::1]:8080":     "[::1]:8080",
		"127.1.2.3:80":   "127.1.2.3:80",
	} {
		if got, err := loopbackAddr(in); err != nil || got != want {
			t.Errorf("loopbackAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"0.0.0.0:7480",   // every interface
		":7480",          // every interface
		"[::]:7480",      // every interface
		"192.0.2.1:7480", // another machine can reach it
		"example.com:80", // a name could resolve anywhere
		"127.0.0.1",      // no port
		"127.0.0.1:http", // a service name
		"127.0.0.1:70000",
		"127.0.0.1:+80",
		"127.0.0.1:0080",
	} {
		if got, err := loopbackAddr(in); !errors.Is(err, errUsage) {
			t.Errorf("loopbackAddr(%q) = %q, %v; want a usage error", in, got, err)
		}
	}
}

// FuzzLoopbackAddr: no panic; an accepted address is a loopback IP with a
// numeric port, and accepting it again gives it back unchanged.
func FuzzLoopbackAddr(f *testing.F) {
	for _, s := range []string{"127.0.0.1:7480", "localhost:0", "[::1]:1", "0.0.0.0:80", "[::ffff:127.0.0.1]:80", "127.0.0.1:65536"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := loopbackAddr(s)
		if err != nil {
			if got != "" || !errors.Is(err, errUsage) {
				t.Fatalf("%q: %q, %v", s, got, err)
			}
			return
		}
		host, port, err := net.SplitHostPort(got)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			t.Fatalf("%q accepted as %q", s, got)
		}
		if p, err := strconv.ParseUint(port, 10, 16); err != nil || strconv.FormatUint(p, 10) != port {
			t.Fatalf("%q accepted with port %q", s, port)
		}
		if again, err := loopbackAddr(got); err != nil || again != got {
			t.Fatalf("%q -> %q -> %q, %v", s, got, again, err)
		}
	})
}
