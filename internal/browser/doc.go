// Package browser drives a real headless Chromium from Go tests, so that the
// pages Hisoka serves (the operator console of hisoka serve, the tenant
// dashboard of hisoka-tenant ui) are checked the way a person sees them.
//
// It talks to Chromium over the Chrome DevTools Protocol through
// github.com/chromedp/chromedp: no chromedriver, Selenium or Node.js is needed,
// only the browser binary. [New] starts one browser for a test:
//
//	b := browser.New(t)
//	b.Open(url)                         // navigate and wait for the load event
//	b.Fill("#token", token)             // set a form field
//	b.Submit("#token")                  // submit its form, wait for the next page
//	got := b.Text("#banner")            // visible text of the first match
//	b.Screenshot("dashboard")           // full-page PNG, named after the test
//
// The browser is /usr/bin/chromium (the Debian package chromium) unless the
// environment variable CHROMIUM names another binary. When it is missing, [New]
// fails the test with a message naming the package: browser tests never skip.
// It runs with --headless --no-sandbox --disable-gpu --disable-quic
// --no-first-run --disable-background-networking --disable-component-update
// --disable-sync --disable-dev-shm-usage and a fresh --user-data-dir under
// t.TempDir(), so no profile, cookie or cache is shared between tests and the
// browser makes no connection of its own to the internet.
//
// Every console error, uncaught exception, failed resource load and Content
// Security Policy violation of any page is recorded as a [Problem]. When the
// test ends, any recorded problem fails it; a test that provokes one on
// purpose takes it with [Browser.TakeProblems] and checks it.
//
// Screenshots are written to the directory named by HISOKA_ARTIFACTS (CI keeps
// it as a test artefact), or to a t.TempDir() when it is unset; the path is
// logged. Each action has a time limit ([Timeout]) so that a page that never
// shows the expected element fails the test instead of hanging it.
package browser
