package browser

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"
)

const strictCSP = "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// site serves a few pages with a strict CSP: a form, the page it posts to,
// a page that breaks the CSP and one that logs a console error.
func site(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	page := func(w http.ResponseWriter, body string) {
		w.Header().Set("Content-Security-Policy", strictCSP)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><html><head><title>t</title></head><body>%s</body></html>", body)
	}
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		page(w, `<h1 id="title">Form</h1><form method="post" action="/greet"><input id="name" name="name"><button id="go">Go</button></form><a id="link" href="/missing">missing</a>`)
	})
	mux.HandleFunc("POST /greet", func(w http.ResponseWriter, r *http.Request) {
		page(w, `<p id="greeting">Hello, `+template(r.FormValue("name"))+`</p><ul><li>a</li><li>b</li></ul>`)
	})
	mux.HandleFunc("GET /inline", func(w http.ResponseWriter, r *http.Request) {
		page(w, `<p id="p">inline</p><script>document.title = "ran"</script>`)
	})
	mux.HandleFunc("GET /error", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><p>err</p><script>console.error("boom")</script><script>throw new Error("thrown")</script>`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func template(s string) string {
	return strings.NewReplacer("<", "&lt;", ">", "&gt;", "&", "&amp;", `"`, "&quot;").Replace(s)
}

func TestFormTextAndScreenshot(t *testing.T) {
	t.Setenv("HISOKA_ARTIFACTS", t.TempDir())
	srv := site(t)
	b := New(t)
	if status := b.Open(srv.URL + "/"); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	if got := b.Text("#title"); got != "Form" {
		t.Errorf("title %q", got)
	}
	b.Fill("#name", "Ada <x>")
	if status := b.Submit("#name"); status != http.StatusOK {
		t.Fatalf("submit status %d", status)
	}
	if got := b.Text("#greeting"); got != "Hello, Ada <x>" {
		t.Errorf("greeting %q", got)
	}
	if n := b.Count("li"); n != 2 {
		t.Errorf("%d list items, want 2", n)
	}
	if !strings.HasSuffix(b.URL(), "/greet") {
		t.Errorf("location %q", b.URL())
	}
	path := b.Screenshot("greeting page")
	if want := os.Getenv("HISOKA_ARTIFACTS") + "/TestFormTextAndScreenshot-greeting_page.png"; path != want {
		t.Errorf("screenshot at %s, want %s", path, want)
	}
	png, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("screenshot is not a PNG (%v)", err)
	}
	if p := b.Problems(); len(p) != 0 {
		t.Errorf("problems on clean pages: %v", p)
	}
	b.Open(srv.URL + "/")
	if status := b.Click("#link"); status != http.StatusNotFound {
		t.Errorf("link status %d, want 404", status)
	}
	b.TakeProblems() // the 404 page's failed load is expected
}

func TestRecordsCSPViolations(t *testing.T) {
	srv := site(t)
	b := New(t)
	b.Open(srv.URL + "/inline")
	if got := b.Text("#p"); got != "inline" {
		t.Fatalf("text %q", got)
	}
	problems := b.TakeProblems()
	if len(problems) == 0 {
		t.Fatal("an inline script under script-src 'none' was not recorded")
	}
	for _, p := range problems {
		if p.Kind != CSPViolation {
			t.Errorf("unexpected problem %v", p)
		}
	}
	if p := b.TakeProblems(); len(p) != 0 {
		t.Errorf("problems taken twice: %v", p)
	}
}

func TestRecordsConsoleErrorsAndExceptions(t *testing.T) {
	srv := site(t)
	b := New(t)
	b.Open(srv.URL + "/error")
	kinds := map[ProblemKind]string{}
	for _, p := range b.TakeProblems() {
		kinds[p.Kind] += p.Text
	}
	if !strings.Contains(kinds[ConsoleError], "boom") {
		t.Errorf("console.error not recorded: %v", kinds)
	}
	if !strings.Contains(kinds[Exception], "thrown") {
		t.Errorf("exception not recorded: %v", kinds)
	}
}

func TestFileName(t *testing.T) {
	for in, want := range map[string]string{
		"TestX/sub case": "TestX_sub_case",
		"a.b-c_d":        "a.b-c_d",
		"../etc":         ".._etc",
	} {
		if got := fileName(in); got != want {
			t.Errorf("fileName(%q) = %q, want %q", in, got, want)
		}
	}
}

// recorder stands in for a test whose failure is the subject: it keeps the
// errors and cleanups instead of acting on them.
type recorder struct {
	testing.TB
	errs     []string
	cleanups []func()
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

func TestCleanupFailsOnUntakenProblems(t *testing.T) {
	srv := site(t)
	r := &recorder{TB: t}
	b := New(r)
	b.Open(srv.URL + "/inline")
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	if len(r.errs) == 0 || !strings.Contains(r.errs[0], "CSP violation") {
		t.Errorf("cleanup reported %q, want a CSP violation", r.errs)
	}
	for _, e := range r.errs {
		t.Log(e)
	}
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
	runtime.Goexit()
}

func TestMissingChromiumNamesThePackage(t *testing.T) {
	t.Setenv("CHROMIUM", t.TempDir()+"/no-such-browser")
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		New(r)
		t.Error("New returned without a browser")
	}()
	<-done
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], "Debian package chromium") {
		t.Errorf("New reported %q, want one failure naming the Debian package chromium", r.errs)
	}
}
