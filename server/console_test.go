package server_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/internal/loggen"
	"github.com/hisoka-project/hisoka/server"
	"github.com/hisoka-project/hisoka/spec"
)

// consoleWorld fills a live server with generated platform logs ending
// now: the default catalogue published, one tenant owning the created VMs,
// faults that leave anomalies; it waits until the pipeline has written
// pattern detections and anomalies. It returns the generated log.
func consoleWorld(l *live, span time.Duration, vms int) *loggen.Log {
	t := l.t
	t.Helper()
	cat, err := os.ReadFile("../testdata/catalog/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l.must(201, "POST", "/v1/admin/catalogues", l.op, "application/yaml", cat, nil)
	l.must(204, "POST", "/v1/admin/catalogues/1/publish", l.op, "", nil, nil)
	start := time.Now().UTC().Add(-span).Truncate(time.Minute)
	gen := loggen.Generate(loggen.Config{Seed: 8, Start: start, Duration: span - time.Minute, VMs: vms, Projects: 2, Ops: true,
		Faults: loggen.Faults{BridgeDown: 2, IptablesFlush: 1, BruteForce: 1}})
	tn := l.register("tenant-a", "")
	seen := map[string]bool{}
	for _, tr := range gen.Truth {
		if tr.Resource != "" && !seen[tr.Resource] && tr.ID == "vm.create" {
			seen[tr.Resource] = true
			l.must(201, "POST", "/v1/admin/resources", l.op, "application/json", l.json(spec.Resource{ID: tr.Resource, Kind: "vm", Tenant: tn.id}), nil)
		}
	}
	ingest := l.mint("ingest", "")
	var body strings.Builder
	flush := func() {
		if body.Len() > 0 {
			l.must(200, "POST", "/v1/ingest?format=oslo", ingest, "text/plain", []byte(body.String()), nil)
			body.Reset()
		}
	}
	for _, ln := range gen.Lines {
		body.WriteString(ln.Text + "\n")
		if body.Len() > 4<<20 {
			flush()
		}
	}
	flush()
	l.waitStream(spec.TenantDetections, "field.kind=pattern", 1)
	l.waitStream(spec.TenantAnomalies, "", 1)
	// The pipeline has caught up, and saved its heatmap counts, once its
	// saved cursor is at the last line.
	deadline := time.Now().Add(60 * time.Second)
	for l.srv.SavedCursor(t.Context()) < uint64(len(gen.Lines)) {
		if time.Now().After(deadline) {
			t.Fatalf("pipeline saved at %d of %d lines", l.srv.SavedCursor(t.Context()), len(gen.Lines))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return gen
}

// consoleClient is a browser-like client of the console: it keeps the
// session cookie and the session's CSRF token, and follows no redirects.
type consoleClient struct {
	t       testing.TB
	base    string
	cookies map[string]*http.Cookie
	csrf    string
	c       *http.Client
	header  http.Header // sent with every request
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (l *live) console() *consoleClient {
	return &consoleClient{t: l.t, base: l.url, cookies: map[string]*http.Cookie{}, c: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (cc *consoleClient) do(method, path string, form url.Values, origin string) (int, string, *http.Response) {
	cc.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, cc.base+path, body)
	if err != nil {
		cc.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range cc.header {
		req.Header[k] = v
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	for _, c := range cc.cookies {
		req.AddCookie(c)
	}
	resp, err := cc.c.Do(req)
	if err != nil {
		cc.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		cc.t.Fatal(err)
	}
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			delete(cc.cookies, c.Name)
		} else {
			cc.cookies[c.Name] = c
		}
	}
	if m := csrfField.FindStringSubmatch(string(raw)); m != nil {
		cc.csrf = m[1]
	}
	return resp.StatusCode, string(raw), resp
}

func (cc *consoleClient) get(path string) (int, string, *http.Response) {
	cc.t.Helper()
	return cc.do(http.MethodGet, path, nil, "")
}

// post sends a form with the current CSRF token from the console's origin.
func (cc *consoleClient) post(path string, form url.Values) (int, string, *http.Response) {
	cc.t.Helper()
	form.Set("csrf", cc.csrf)
	return cc.do(http.MethodPost, path, form, cc.base)
}

// signIn pastes token into the sign-in form; it returns the answer's status.
func (cc *consoleClient) signIn(token string) int {
	cc.t.Helper()
	if st, _, _ := cc.get("/ui/signin"); st != http.StatusOK {
		cc.t.Fatalf("GET /ui/signin: %d", st)
	}
	st, _, _ := cc.post("/ui/signin", url.Values{"token": {token}})
	return st
}

// TestConsoleAccess: every console page, for every caller that is not a
// signed-in operator (no session, a forged or stale cookie, a tenant or
// ingest token as a bearer token or pasted into the sign-in form), shows
// nothing and sends to the sign-in page; a signed-in operator gets every
// page with the security headers; forms need the session's CSRF token and
// a same-origin Origin; bad input is a fixed 4xx page.
func TestConsoleAccess(t *testing.T) {
	l := startLive(t)
	consoleWorld(l, 20*time.Minute, 4)
	tn := l.register("tenant-b", "")
	tenantTok := l.token(tn)
	ingestTok := l.mint("ingest", "")
	tenantIngestTok := l.mint("ingest", tn.id)
	routes := server.ConsoleRoutes(l.srv)
	if len(routes) < 15 {
		t.Fatalf("console routes: %v", routes)
	}
	public := map[string]bool{"/ui": true, "/ui/signin": true, "/ui/static/:file": true}

	// The operator's session.
	op := l.console()
	if st := op.signIn(l.op); st != http.StatusSeeOther {
		t.Fatalf("operator sign-in: %d", st)
	}
	sess := op.cookies["hisoka_ui"]
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Path != "/ui" || sess.Secure || len(sess.Value) < 40 {
		t.Fatalf("session cookie %+v", sess)
	}
	if sess.Expires.After(time.Now().Add(time.Hour + time.Minute)) { // the operator token lives an hour
		t.Errorf("session outlives its token: %v", sess.Expires)
	}

	// Callers that must see nothing.
	forged := &http.Cookie{Name: "hisoka_ui", Value: strings.Repeat("A", len(sess.Value))}
	callers := map[string]func(method, path string) (int, string, *http.Response){
		"no session": func(m, p string) (int, string, *http.Response) { return l.console().do(m, p, url.Values{}, l.url) },
		"forged cookie": func(m, p string) (int, string, *http.Response) {
			cc := l.console()
			cc.cookies["hisoka_ui"] = forged
			return cc.do(m, p, url.Values{"csrf": {op.csrf}}, l.url)
		},
	}
	for name, tok := range map[string]string{"tenant token": tenantTok, "ingest token": ingestTok, "tenant ingest token": tenantIngestTok} {
		callers[name+" as bearer"] = func(m, p string) (int, string, *http.Response) {
			req, _ := http.NewRequest(m, l.url+p, strings.NewReader(url.Values{"csrf": {op.csrf}}.Encode()))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", l.url)
			resp, err := l.console().c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(raw), resp
		}
		// Pasted into the sign-in form, such a token is refused.
		cc := l.console()
		if st := cc.signIn(tok); st != http.StatusForbidden && st != http.StatusUnauthorized {
			t.Errorf("%s signs in: %d", name, st)
		}
		if cc.cookies["hisoka_ui"] != nil {
			t.Errorf("%s got a session cookie", name)
		}
		// A fresh tenant token is needed: the last one was claimed.
		if name == "tenant token" {
			tenantTok = l.token(tn)
		}
	}
	// Tokens a tenant cannot use either: a tenant token again, and garbage.
	for _, tok := range []string{l.token(tn), "not.a.token", strings.Repeat("x", 9000)} {
		if st := l.console().signIn(tok); st < 400 || st >= 500 {
			t.Errorf("sign-in with a bad token: %d", st)
		}
	}
	for _, r := range routes {
		method, path := r[0], strings.Replace(r[1], ":file", "console.css", 1)
		for name, call := range callers {
			st, body, resp := call(method, path)
			switch {
			case public[r[1]] && method == http.MethodGet:
				// Public pages show no data of any kind.
			case method == http.MethodGet:
				if st != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/signin" {
					t.Errorf("%s %s as %s: %d (Location %q), want 303 to the sign-in page", method, path, name, st, resp.Header.Get("Location"))
				}
			default:
				if st != http.StatusForbidden {
					t.Errorf("%s %s as %s: %d, want 403", method, path, name, st)
				}
			}
			for _, secret := range []string{"nova.compute", "vm.create", "tenant-a", "Instance spawned"} {
				if strings.Contains(body, secret) {
					t.Errorf("%s %s as %s shows %q", method, path, name, secret)
				}
			}
		}
	}

	// The operator sees every page, with the security headers.
	pages := map[string]string{
		"/ui/heatmap":              "nova.compute",
		"/ui/patterns":             "vm.create",
		"/ui/pattern?id=vm.create": "Instance spawned successfully",
		"/ui/anomalies":            "sample",
		"/ui/sources":              "Silence alerts",
		"/ui/tenants":              "tenant-a",
		"/ui/catalogues":           "version 1",
		"/ui/catalogue?v=1":        "vm.create",
	}
	for path, want := range pages {
		st, body, resp := op.get(path)
		if st != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET %s: %d, want 200 showing %q", path, st, want)
		}
		h := resp.Header
		if h.Get("Content-Security-Policy") != "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'" ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("GET %s: headers %v", path, h)
		}
		if strings.Contains(body, "style=") || strings.Contains(body, "<script") {
			t.Errorf("GET %s: inline style or script", path)
		}
	}
	// A window from the heatmap and an anomaly from the list.
	_, heat, _ := op.get("/ui/heatmap")
	m := regexp.MustCompile(`href="(/ui/window\?[^"]+)"`).FindStringSubmatch(heat)
	if m == nil {
		t.Fatal("heatmap links no window")
	}
	if st, body, _ := op.get(strings.ReplaceAll(m[1], "&amp;", "&")); st != http.StatusOK || !strings.Contains(body, "Templates per component") {
		t.Errorf("window %s: %d", m[1], st)
	}
	_, list, _ := op.get("/ui/anomalies")
	m = regexp.MustCompile(`href="(/ui/anomaly\?[^"]+)"`).FindStringSubmatch(list)
	if m == nil {
		t.Fatal("anomalies page links no anomaly")
	}
	if st, body, _ := op.get(strings.ReplaceAll(m[1], "&amp;", "&")); st != http.StatusOK || !strings.Contains(body, `id="samples"`) {
		t.Errorf("anomaly %s: %d", m[1], st)
	}

	// Bad input: a fixed message, 4xx, nothing echoed.
	for path, want := range map[string]int{
		"/ui/window":                    400,
		"/ui/window?from=<script>&to=x": 400,
		"/ui/window?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z":            400,
		"/ui/heatmap?window=forever":                                              400,
		"/ui/heatmap?window=1m&from=2026-01-01T00:00:00Z&to=2026-01-08T00:00:00Z": 400,
		"/ui/heatmap?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z":           400,
		"/ui/anomaly?d=x&at=yesterday":                                            400,
		"/ui/anomaly?d=x&at=2026-01-01T00:00:00Z":                                 404,
		"/ui/pattern":                400,
		"/ui/pattern?id=no.such":     404,
		"/ui/catalogue?v=abc":        400,
		"/ui/catalogue?v=999":        404,
		"/ui/static/nothing.css":     404,
		"/ui/static/..%2fconsole.go": 404,
	} {
		st, body, _ := op.get(path)
		if st != want || !strings.Contains(body, `id="message"`) || strings.Contains(body, "script>") {
			t.Errorf("GET %s: %d, want %d with a fixed message", path, st, want)
		}
	}

	// Odd but harmless windows are clamped, never a failure.
	// (a window under a minute is a minute: 1440 columns, too many for a day;
	// one longer than the range is the range).
	for w, want := range map[string]int{"2562047h": 200, "24h": 200, "-5m": 400, "0s": 400, "1ns": 400, "59s": 400} {
		if st, _, _ := op.get("/ui/heatmap?window=" + w); st != want {
			t.Errorf("heatmap with window %s: %d, want %d", w, st, want)
		}
	}

	// Forms: without the CSRF token, with another's, without or with a
	// foreign Origin: 403, and nothing done.
	vs := func() int {
		var v spec.CatalogVersions
		l.must(200, "GET", "/v1/admin/catalogues", l.op, "", nil, &v)
		return len(v.Versions)
	}
	before := vs()
	good := op.csrf
	for name, try := range map[string]func() int{
		"no token": func() int {
			st, _, _ := op.do("POST", "/ui/catalogues/learn", url.Values{"from": {"2026-01-01T00:00"}, "to": {"2026-01-02T00:00"}}, l.url)
			return st
		},
		"wrong token": func() int {
			st, _, _ := op.do("POST", "/ui/catalogues/learn", url.Values{"csrf": {good[:len(good)-1] + "x"}, "from": {"2026-01-01T00:00"}, "to": {"2026-01-02T00:00"}}, l.url)
			return st
		},
		"no origin": func() int {
			st, _, _ := op.do("POST", "/ui/catalogues/learn", url.Values{"csrf": {good}, "from": {"2026-01-01T00:00"}, "to": {"2026-01-02T00:00"}}, "")
			return st
		},
		"foreign origin": func() int {
			st, _, _ := op.do("POST", "/ui/catalogues/learn", url.Values{"csrf": {good}, "from": {"2026-01-01T00:00"}, "to": {"2026-01-02T00:00"}}, "http://evil.example")
			return st
		},
		"null origin": func() int {
			st, _, _ := op.do("POST", "/ui/catalogues/learn", url.Values{"csrf": {good}, "from": {"2026-01-01T00:00"}, "to": {"2026-01-02T00:00"}}, "null")
			return st
		},
		"cross-site fetch": func() int {
			op.header = http.Header{"Sec-Fetch-Site": {"cross-site"}}
			defer func() { op.header = nil }()
			st, _, _ := op.do("POST", "/ui/catalogues/learn", url.Values{"csrf": {good}, "from": {"2026-01-01T00:00"}, "to": {"2026-01-02T00:00"}}, l.url)
			return st
		},
		"null origin, same-site fetch": func() int {
			op.header = http.Header{"Sec-Fetch-Site": {"same-site"}}
			defer func() { op.header = nil }()
			st, _, _ := op.do("POST", "/ui/catalogues/learn", url.Values{"csrf": {good}, "from": {"2026-01-01T00:00"}, "to": {"2026-01-02T00:00"}}, "null")
			return st
		},
	} {
		if st := try(); st != http.StatusForbidden {
			t.Errorf("learn form with %s: %d, want 403", name, st)
		}
	}
	if after := vs(); after != before {
		t.Fatalf("a refused form stored a catalogue: %d versions, then %d", before, after)
	}
	op.csrf = good
	// Bad form input is 400; a bad catalogue is the API's 4xx.
	if st, _, _ := op.post("/ui/catalogues/learn", url.Values{"from": {"then"}, "to": {"now"}}); st != 400 {
		t.Errorf("learn with bad times: %d", st)
	}
	op.csrf = good
	if st, _, _ := op.post("/ui/catalogues/upload", url.Values{"catalogue": {"patterns: [{id: }"}}); st < 400 || st >= 500 {
		t.Errorf("upload of a bad catalogue: %d", st)
	}
	op.csrf = good
	if st, _, _ := op.post("/ui/catalogues/publish", url.Values{"v": {"-1"}}); st != 400 {
		t.Errorf("publish of a bad version: %d", st)
	}

	// A browser posting under Referrer-Policy: no-referrer sends
	// "Origin: null" and Sec-Fetch-Site: same-origin: accepted.
	op.header = http.Header{"Sec-Fetch-Site": {"same-origin"}}
	if st, _, _ := op.do("POST", "/ui/catalogues/publish", url.Values{"csrf": {good}, "v": {"1"}}, "null"); st != http.StatusSeeOther {
		t.Errorf("same-origin form with Origin null: %d", st)
	}
	op.header = nil

	// Sign out: the cookie no longer opens anything.
	op.csrf = good
	stale := op.cookies["hisoka_ui"]
	if st, _, _ := op.post("/ui/signout", url.Values{}); st != http.StatusSeeOther {
		t.Fatalf("sign out: %d", st)
	}
	cc := l.console()
	cc.cookies["hisoka_ui"] = stale
	if st, _, _ := cc.get("/ui/heatmap"); st != http.StatusSeeOther {
		t.Errorf("heatmap after sign-out: %d", st)
	}
}

// TestConsoleLearnAndPublish: an operator learns a catalogue from a time
// range, reviews it, uploads an edit and publishes it, all through the
// console's forms; the API sees the same versions.
func TestConsoleLearnAndPublish(t *testing.T) {
	l := startLive(t)
	gen := consoleWorld(l, 20*time.Minute, 6)
	op := l.console()
	if st := op.signIn(l.op); st != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", st)
	}
	op.get("/ui/catalogues")
	from, to := gen.Lines[0].Time.Add(-time.Minute), gen.Lines[len(gen.Lines)-1].Time.Add(time.Minute)
	st, _, resp := op.post("/ui/catalogues/learn", url.Values{"from": {from.Format("2006-01-02T15:04")}, "to": {to.Format("2006-01-02T15:04")}})
	if st != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/catalogue?v=2" {
		t.Fatalf("learn: %d, Location %q", st, resp.Header.Get("Location"))
	}
	st, body, _ := op.get("/ui/catalogue?v=2")
	if st != 200 || !strings.Contains(body, "Not published") || !strings.Contains(body, `id="publish"`) {
		t.Fatalf("review of the proposal: %d", st)
	}
	cat, err := os.ReadFile("../testdata/catalog/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	st, _, resp = op.post("/ui/catalogues/upload", url.Values{"catalogue": {string(cat)}})
	if st != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/catalogue?v=3" {
		t.Fatalf("upload: %d, Location %q", st, resp.Header.Get("Location"))
	}
	op.get("/ui/catalogue?v=3")
	if st, _, _ := op.post("/ui/catalogues/publish", url.Values{"v": {"3"}}); st != http.StatusSeeOther {
		t.Fatalf("publish: %d", st)
	}
	var v spec.CatalogVersions
	l.must(200, "GET", "/v1/admin/catalogues", l.op, "", nil, &v)
	if v.Published != 3 || len(v.Versions) != 3 {
		t.Fatalf("versions after the console: %+v", v)
	}
	// The learn read is in the access audit, under the operator's token.
	var rep spec.AccessReport
	l.must(200, "GET", "/v1/admin/access?tenant=platform", l.op, "", nil, &rep)
	found := false
	for _, a := range rep.Accesses {
		if a.Action == "learn" && strings.HasPrefix(a.Who, "operator:") && strings.HasPrefix(a.Query, "console ") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no console learn in the audit: %+v", rep.Accesses)
	}
}

// TestConsoleNewestFirst: where a page's read of the detections stream
// hits its cap, the page shows the newest detections and says it is
// truncated; each page view's read of the stream, which names tenants, is
// one entry of the access audit under the operator's token.
func TestConsoleNewestFirst(t *testing.T) {
	l := startLive(t)
	cat, err := os.ReadFile("../testdata/catalog/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l.must(201, "POST", "/v1/admin/catalogues", l.op, "application/yaml", cat, nil)
	l.must(204, "POST", "/v1/admin/catalogues/1/publish", l.op, "", nil, nil)
	now := time.Now().UTC()
	var ds []spec.DetectionRecord
	// 10,001 occurrences of vm.create over the last 20 hours, 201 silence
	// alerts; the newest of each is marked.
	for i := range 10001 {
		at := now.Add(-20 * time.Hour).Add(time.Duration(i) * 7 * time.Second)
		ds = append(ds, spec.DetectionRecord{DetectionID: fmt.Sprintf("p%d", i), Kind: "pattern", ID: "vm.create", Resource: fmt.Sprintf("vm-%d", i), Start: at, End: at.Add(time.Second)})
	}
	for i := range 201 {
		at := now.Add(-20 * time.Hour).Add(time.Duration(i) * time.Minute)
		ds = append(ds, spec.DetectionRecord{DetectionID: fmt.Sprintf("s%d", i), Kind: "rule", ID: "source.silent", Component: fmt.Sprintf("comp-%d", i), Start: at, End: at})
	}
	if err := server.AppendDetections(l.srv, ds); err != nil {
		t.Fatal(err)
	}
	op := l.console()
	if st := op.signIn(l.op); st != http.StatusSeeOther {
		t.Fatalf("operator sign-in: %d", st)
	}
	audited := func() int {
		var rep spec.AccessReport
		l.must(200, "GET", "/v1/admin/access?tenant="+spec.TenantDetections, l.op, "", nil, &rep)
		n := 0
		for _, a := range rep.Accesses {
			if strings.HasPrefix(a.Who, "operator:") && strings.HasPrefix(a.Query, "console detections ") {
				n++
			}
		}
		return n
	}
	for _, c := range []struct {
		path   string
		newest string // shown before any older one
		older  string
	}{
		{"/ui/pattern?id=vm.create", ">vm-10000<", ">vm-9999<"},
		{"/ui/sources", ">comp-200<", ">comp-199<"},
		{"/ui/patterns", "", ""},
		{"/ui/heatmap", "", ""},
	} {
		before := audited()
		st, body, _ := op.get(c.path)
		if st != http.StatusOK {
			t.Fatalf("GET %s: %d", c.path, st)
		}
		if !strings.Contains(body, `id="truncated"`) || !strings.Contains(body, "newest") {
			t.Errorf("GET %s does not say it is truncated", c.path)
		}
		if c.newest != "" {
			i, j := strings.Index(body, c.newest), strings.Index(body, c.older)
			if i < 0 || j < 0 || i > j {
				t.Errorf("GET %s: newest at %d, older at %d", c.path, i, j)
			}
		}
		if n := audited() - before; n != 1 {
			t.Errorf("GET %s: %d audit entries for the detections stream, want 1", c.path, n)
		}
	}
}

// TestConsoleBehindProxy: with console.origin set to the https origin a
// TLS-terminating proxy serves, the console, reached over plain HTTP,
// takes forms from that origin (and not from its own address), and its
// cookies are Secure. A form over the body limit is a 413 page, not a
// "sign in again".
func TestConsoleBehindProxy(t *testing.T) {
	const public = "https://ops.example.net"
	l := startLiveWith(t, t.TempDir(), func(c *server.Config) {
		c.Console.Origin = public
		c.Limits.MaxBodyBytes = 256 << 10
		c.Limits.MaxDecodedBytes = 256 << 10
	})
	op := l.console()
	if st, _, _ := op.get("/ui/signin"); st != http.StatusOK {
		t.Fatalf("GET /ui/signin: %d", st)
	}
	if ck := op.cookies["hisoka_ui_signin"]; ck == nil || !ck.Secure {
		t.Fatalf("sign-in cookie %+v, want Secure", ck)
	}
	form := url.Values{"token": {l.op}, "csrf": {op.csrf}}
	if st, body, _ := op.do(http.MethodPost, "/ui/signin", form, l.url); st != http.StatusForbidden || !strings.Contains(body, "sign in again") {
		t.Fatalf("sign-in from the backend's own origin: %d", st)
	}
	if st, _, resp := op.do(http.MethodPost, "/ui/signin", form, public); st != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/heatmap" {
		t.Fatalf("sign-in from the public origin: %d", st)
	}
	if ck := op.cookies["hisoka_ui"]; ck == nil || !ck.Secure || !ck.HttpOnly {
		t.Fatalf("session cookie %+v, want Secure", ck)
	}
	op.get("/ui/catalogues")
	upload := func(size int, origin string) (int, string) {
		st, body, _ := op.do(http.MethodPost, "/ui/catalogues/upload", url.Values{"csrf": {op.csrf}, "catalogue": {strings.Repeat("x", size)}}, origin)
		return st, body
	}
	if st, body := upload(10, public); st != http.StatusBadRequest && st != http.StatusUnprocessableEntity {
		t.Errorf("upload of a bad catalogue from the public origin: %d %s", st, body)
	}
	if st, _ := upload(10, l.url); st != http.StatusForbidden {
		t.Errorf("upload from the backend's own origin: %d, want 403", st)
	}
	for _, path := range []string{"/ui/catalogues/upload", "/ui/signin"} {
		st, body, _ := op.do(http.MethodPost, path, url.Values{"csrf": {op.csrf}, "catalogue": {strings.Repeat("x", 300<<10)}}, public)
		if st != http.StatusRequestEntityTooLarge || !strings.Contains(body, "request body too large") {
			t.Errorf("POST %s over the body limit: %d, want 413", path, st)
		}
	}
}

// TestConsoleManyComponents: a platform whose lines name more components
// than a page shows rows (per-job app names) gets the largest as rows and
// the rest summed in one "(other)" row, in the heatmap and in the zoom.
func TestConsoleManyComponents(t *testing.T) {
	l := startLive(t)
	at := time.Now().UTC().Add(-5 * time.Minute).Truncate(time.Minute)
	const comps = 70
	var body strings.Builder
	n := 0
	for c := range comps {
		for i := range c + 1 {
			ts := at.Add(time.Duration(i) * 100 * time.Millisecond).Format("2006-01-02 15:04:05.000")
			fmt.Fprintf(&body, "%s 4242 INFO job.run%03d [-] step %d done\n", ts, c, i)
			n++
		}
	}
	ingest := l.mint("ingest", "")
	l.must(200, "POST", "/v1/ingest?format=oslo", ingest, "text/plain", []byte(body.String()), nil)
	deadline := time.Now().Add(30 * time.Second)
	for l.srv.SavedCursor(t.Context()) < uint64(n) {
		if time.Now().After(deadline) {
			t.Fatalf("pipeline saved at %d of %d lines", l.srv.SavedCursor(t.Context()), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	op := l.console()
	if st := op.signIn(l.op); st != http.StatusSeeOther {
		t.Fatalf("operator sign-in: %d", st)
	}
	window := "/ui/window?" + url.Values{"from": {at.Format(time.RFC3339)}, "to": {at.Add(5 * time.Minute).Format(time.RFC3339)}}.Encode()
	for _, path := range []string{"/ui/heatmap", window} {
		st, page, _ := op.get(path)
		if st != http.StatusOK {
			t.Fatalf("GET %s: %d", path, st)
		}
		if rows := strings.Count(page, `<th class="key" title="`); rows != 65 {
			t.Errorf("GET %s: %d component rows, want 64 and (other)", path, rows)
		}
		if !strings.Contains(page, `<tr class="other"><th class="key" title="(other: 6 more components)">`) {
			t.Errorf("GET %s: no (other) row for the 6 smallest components", path)
		}
		if !strings.Contains(page, `<th class="key" title="job.run069">`) || strings.Contains(page, `<th class="key" title="job.run005">`) {
			t.Errorf("GET %s: the largest components are not the rows", path)
		}
	}
}
