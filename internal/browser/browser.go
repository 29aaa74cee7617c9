package browser

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// DefaultPath is where the Debian package chromium installs the browser.
const DefaultPath = "/usr/bin/chromium"

// Timeout bounds every action of a [Browser]: a navigation, a query that waits
// for its element, a screenshot.
const Timeout = 30 * time.Second

// Problem is something a page did that a correct page does not: a console
// error, an uncaught exception, a failed resource load or a Content Security
// Policy violation.
type Problem struct {
	Kind ProblemKind
	URL  string // where the browser says it came from, when it says
	Text string // what the console shows
}

// ProblemKind classifies a [Problem].
type ProblemKind string

// The kinds of [Problem].
const (
	ConsoleError ProblemKind = "console error"
	Exception    ProblemKind = "uncaught exception"
	CSPViolation ProblemKind = "CSP violation"
)

func (p Problem) String() string {
	if p.URL == "" {
		return string(p.Kind) + ": " + p.Text
	}
	return string(p.Kind) + " at " + p.URL + ": " + p.Text
}

// Browser is one headless Chromium with one tab, owned by one test. Its
// methods fail the test (t.Fatalf) when an action fails, so a test reads as a
// list of steps. It is not safe for concurrent use.
type Browser struct {
	t         testing.TB
	ctx       context.Context // the tab; lives until the test's cleanup
	artifacts string

	mu       sync.Mutex
	problems []Problem
	marks    map[string]chan struct{} // sync marks the collector waits for
	nextMark int
}

// New starts a headless Chromium for t, with a fresh profile directory, and
// registers a cleanup that fails t if any page had a [Problem] still untaken,
// then stops the browser. The binary is $CHROMIUM or [DefaultPath]; if it is
// missing, New fails t naming the Debian package.
func New(t testing.TB) *Browser {
	t.Helper()
	exe := os.Getenv("CHROMIUM")
	if exe == "" {
		exe = DefaultPath
	}
	if info, err := os.Stat(exe); err != nil || info.IsDir() {
		t.Fatalf("browser: no Chromium at %s: install the Debian package chromium (apt-get install chromium), or set CHROMIUM to the browser's path", exe)
	}
	profile := t.TempDir() // removed after the cleanup below has stopped the browser
	artifacts := os.Getenv("HISOKA_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	} else if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatalf("browser: artefact directory: %v", err)
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("password-store", "basic"),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	b := &Browser{t: t, ctx: ctx, artifacts: artifacts, marks: map[string]chan struct{}{}}
	t.Cleanup(func() {
		b.checkProblems()
		cancelTab()
		cancelAlloc()
	})

	// The first action starts the browser and opens the tab; it must run on
	// a context without a deadline, which would stop the browser with it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("browser: starting %s: %v", exe, err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.record(m)
		}
	}()
	return b
}

// record files one console message: a sync mark, a problem, or nothing.
func (b *Browser) record(m chromedp.ConsoleMessage) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if done, ok := b.marks[m.Text]; ok && m.Type == chromedp.ConsoleDebug {
		delete(b.marks, m.Text)
		close(done)
		return
	}
	p := Problem{URL: m.URL, Text: m.Text}
	switch {
	case strings.Contains(m.Text, "Content Security Policy"):
		p.Kind = CSPViolation
	case m.IsException():
		p.Kind = Exception
	case m.Type == chromedp.ConsoleError:
		p.Kind = ConsoleError
	default:
		return
	}
	b.problems = append(b.problems, p)
}

// sync waits until every console message the page sent before now has been
// recorded: it logs a mark through the page and waits for it to come back, as
// messages arrive in order.
func (b *Browser) sync() {
	b.t.Helper()
	b.mu.Lock()
	b.nextMark++
	mark := "hisoka-browser-sync-" + strconv.Itoa(b.nextMark)
	done := make(chan struct{})
	b.marks[mark] = done
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void]("console.debug("+strconv.Quote(mark)+")")); err != nil {
		b.t.Fatalf("browser: reading the console: %v", err)
	}
	select {
	case <-done:
	case <-ctx.Done():
		b.t.Fatalf("browser: reading the console: %v", ctx.Err())
	}
}

// Problems returns the problems recorded so far, without taking them.
func (b *Browser) Problems() []Problem {
	b.t.Helper()
	b.sync()
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Problem(nil), b.problems...)
}

// TakeProblems returns the problems recorded so far and forgets them, for a
// test that provokes one on purpose.
func (b *Browser) TakeProblems() []Problem {
	b.t.Helper()
	b.sync()
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.problems
	b.problems = nil
	return p
}

func (b *Browser) checkProblems() {
	b.t.Helper()
	if b.ctx.Err() != nil || chromedp.FromContext(b.ctx).Target == nil {
		return // the browser never started; New has already failed the test
	}
	for _, p := range b.TakeProblems() {
		b.t.Errorf("browser: %s", p)
	}
}

// do runs actions on the tab within [Timeout], failing the test on error.
func (b *Browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
}

// run runs one action with a value on the tab within [Timeout].
func run[T any](b *Browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
	return v
}

// Open navigates to url, waits for the page to load and returns the HTTP
// status of the document (after redirects).
func (b *Browser) Open(url string) int {
	b.t.Helper()
	resp := run(b, "opening a page", chromedp.NavigateResponse(url))
	if resp == nil {
		b.t.Fatalf("browser: opening a page: no response")
	}
	return int(resp.Status)
}

// URL returns the address of the page the tab shows.
func (b *Browser) URL() string {
	b.t.Helper()
	return run(b, "reading the location", chromedp.Location())
}

// Fill sets the value of the form field that the CSS selector sel finds.
func (b *Browser) Fill(sel, value string) {
	b.t.Helper()
	b.do("filling "+sel, chromedp.SetValue(chromedp.CSS(sel), value))
}

// Submit submits the form of the element sel finds, waits for the page that
// answers to load, and returns its HTTP status.
func (b *Browser) Submit(sel string) int {
	b.t.Helper()
	return b.navigateBy("submitting "+sel, chromedp.Submit(chromedp.CSS(sel)))
}

// Click clicks the element sel finds (a link or a button) and waits for the
// page it leads to, returning its HTTP status.
func (b *Browser) Click(sel string) int {
	b.t.Helper()
	return b.navigateBy("clicking "+sel, chromedp.Click(chromedp.CSS(sel)))
}

func (b *Browser) navigateBy(what string, a chromedp.Action[chromedp.Void]) int {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, a)
	if err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
	if resp == nil {
		b.t.Fatalf("browser: %s: no response", what)
	}
	return int(resp.Status)
}

// Text returns the visible text of the first element the CSS selector sel
// finds, waiting (up to [Timeout]) for one to appear.
func (b *Browser) Text(sel string) string {
	b.t.Helper()
	return run(b, "reading "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// Count returns how many elements the CSS selector sel finds now, without
// waiting.
func (b *Browser) Count(sel string) int {
	b.t.Helper()
	return run(b, "counting "+sel, chromedp.Evaluate[int]("document.querySelectorAll("+strconv.Quote(sel)+").length"))
}

// HTML returns the serialized document the tab shows.
func (b *Browser) HTML() string {
	b.t.Helper()
	return run(b, "reading the document", chromedp.Evaluate[string]("document.documentElement.outerHTML"))
}

// Screenshot writes a full-page PNG of the tab to the artefact directory, as
// <test name>-<page>.png, logs its path and returns it.
func (b *Browser) Screenshot(page string) string {
	b.t.Helper()
	png := run(b, "taking a screenshot", chromedp.FullScreenshot(100))
	path := filepath.Join(b.artifacts, fileName(b.t.Name())+"-"+fileName(page)+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatalf("browser: writing the screenshot: %v", err)
	}
	b.t.Logf("browser: screenshot %s", path)
	return path
}

// fileName makes s safe as a file name: letters, digits, '-', '_' and '.'
// stay; anything else (the '/' of subtests) becomes '_'.
func fileName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}
