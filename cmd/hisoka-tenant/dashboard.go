package main

import (
	"bytes"
	"crypto/subtle"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hisoka-project/hisoka/crypto"
	"github.com/hisoka-project/hisoka/spec"
	"github.com/hisoka-project/hisoka/tenantclient"
)

// The dashboard of "hisoka-tenant ui": server-rendered pages (html/template,
// assets embedded, no script at all) over the tenant's own state. It binds
// loopback only; since other users of the machine can reach loopback too,
// every request must carry the run's random access secret, handed over once
// in the printed address and kept in an HttpOnly SameSite=Strict cookie. The
// Host header must name loopback (a DNS-rebinding page cannot), and a
// strict Content-Security-Policy forbids scripts, frames and any origin but
// its own. It shows decrypted notification details but never a key or a
// token: none is ever passed to a template.
//
// A limit: browsers send cookies to every port of a host, so a page another
// local user serves on another loopback port, if the tenant's browser opens
// it, receives this run's cookie and could read this run's pages (never a
// key or token; the secret dies with the run). The cookie's name carries
// the port so that two dashboards do not overwrite each other's.

//go:embed ui
var uiFiles embed.FS

// dashboardCSP allows the page's own stylesheet and icon and nothing else:
// no script, no frame, no form, no other origin.
const dashboardCSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

// accessParam is the query parameter that carries the access secret in the
// printed address.
const accessParam = "access"

// maxShown bounds the notifications one page lists.
const maxShown = 500

// dashboardClient is what the dashboard reads from the tenant's client: all
// of it local state, nothing that talks to the server.
type dashboardClient interface {
	Tenant() string
	Subscriptions() []tenantclient.Subscription
	LastPoll() (time.Time, error)
	Board() (seq, epoch uint64)
	Unopened() uint64
}

var _ dashboardClient = (*tenantclient.Client)(nil)

// catalogNames caches the published catalogue's entries by id, so pages can
// name what a pattern id means. Empty until fetched.
type catalogNames struct {
	mu      sync.Mutex
	entries map[string]spec.CatalogEntry
}

func (c *catalogNames) set(cat spec.Catalog) {
	m := make(map[string]spec.CatalogEntry, len(cat.Entries))
	for _, e := range cat.Entries {
		m[e.ID] = e
	}
	c.mu.Lock()
	c.entries = m
	c.mu.Unlock()
}

func (c *catalogNames) get(id string) (spec.CatalogEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	return e, ok
}

// dashboard serves the pages. Build it with newDashboard.
type dashboard struct {
	client  dashboardClient
	journal *journal
	catalog *catalogNames
	polling bool          // a background poller runs (ui --poll)
	logs    *logCheck     // the own logs' checker (ui --verify-logs), or nil
	refresh time.Duration // pages reload themselves this often (0: never)
	log     *slog.Logger

	secret []byte          // the run's access secret
	cookie string          // its cookie's name (per port: cookies ignore ports)
	hosts  map[string]bool // Host headers that name this listener
	pages  map[string]*template.Template
	static http.Handler
}

// newDashboard returns the dashboard of a listener on loopback port port.
func newDashboard(c dashboardClient, j *journal, cat *catalogNames, secret string, port int, polling bool, refresh time.Duration, log *slog.Logger) (*dashboard, error) {
	p := strconv.Itoa(port)
	d := &dashboard{
		client: c, journal: j, catalog: cat, polling: polling, refresh: refresh, log: log,
		secret: []byte(secret),
		cookie: "hisoka_ui_" + p,
		hosts:  map[string]bool{"127.0.0.1:" + p: true, "localhost:" + p: true, "[::1]:" + p: true},
		pages:  map[string]*template.Template{},
	}
	funcs := template.FuncMap{"when": when, "ago": ago, "span": span, "plural": plural}
	for _, name := range []string{"notifications", "subscriptions", "failures"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(uiFiles, "ui/layout.html", "ui/"+name+".html")
		if err != nil {
			return nil, err
		}
		d.pages[name] = t
	}
	static, err := fs.Sub(uiFiles, "ui/static")
	if err != nil {
		return nil, err
	}
	d.static = http.StripPrefix("/static", http.FileServerFS(static))
	return d, nil
}

// routes returns the dashboard's handler: every route, behind guard.
func (d *dashboard) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", d.notificationsPage)
	mux.HandleFunc("GET /subscriptions", d.subscriptionsPage)
	mux.HandleFunc("GET /failures", d.failuresPage)
	mux.HandleFunc("GET /static/{file}", func(w http.ResponseWriter, r *http.Request) { d.static.ServeHTTP(w, r) })
	return d.guard(mux)
}

// guard sets the security headers of every answer, refuses a Host that is
// not this loopback listener, exchanges the access secret of the printed
// address for the cookie, and refuses any request without it.
func (d *dashboard) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", dashboardCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		if !d.hosts[r.Host] {
			deny(w, http.StatusMisdirectedRequest, "This dashboard answers only at 127.0.0.1, localhost or [::1] on its own port.")
			return
		}
		if r.URL.Query().Has(accessParam) {
			if !d.secretOK(r.URL.Query().Get(accessParam)) {
				deny(w, http.StatusForbidden, "This access secret is wrong or from an earlier run: open the address hisoka-tenant ui printed.")
				return
			}
			http.SetCookie(w, &http.Cookie{Name: d.cookie, Value: string(d.secret), Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
			// Drop the secret from the address bar; stay on this host.
			to := r.URL.Path
			if !strings.HasPrefix(to, "/") || strings.HasPrefix(to, "//") || strings.HasPrefix(to, "/\\") {
				to = "/"
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
		if c, err := r.Cookie(d.cookie); err != nil || !d.secretOK(c.Value) {
			deny(w, http.StatusUnauthorized, "Open the address hisoka-tenant ui printed: it holds this run's access secret.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (d *dashboard) secretOK(s string) bool {
	return subtle.ConstantTimeCompare([]byte(s), d.secret) == 1
}

// deny answers with a fixed message.
func deny(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}

// render executes a page into a buffer first, so a template error is a
// clean 500 with a fixed message (the detail goes to the log).
func (d *dashboard) render(w http.ResponseWriter, name string, v *view) {
	var b bytes.Buffer
	if err := d.pages[name].Execute(&b, v); err != nil {
		d.log.Error("rendering the dashboard", "page", name, "err", err)
		deny(w, http.StatusInternalServerError, "The page could not be rendered.")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b.Bytes())
}

// view is what every page shows: the header, the status and the alerts,
// then its own part.
type view struct {
	Page    string
	Tenant  string
	Refresh int // seconds; 0: no reload
	Polling bool
	Status  pollStatus
	Alerts  alerts

	Notifications []notificationView
	Hidden        int // notifications not listed (on the notifications page: beyond maxShown)
	Subscriptions []subscriptionView
	Failures      []failureView
}

// pollStatus is where verification stands.
type pollStatus struct {
	PolledAt   time.Time
	OK         bool
	Seq, Epoch uint64
	Received   int // notifications in the journal
	// Logs is the last check of the own logs (ui --verify-logs); nil when
	// the dashboard does not check them.
	Logs *logStatus
}

// logStatus is the outcome of the last check of the own logs.
type logStatus struct {
	At    time.Time
	Seq   uint64 // the history is verified up to this record
	Error string // the last check's error, when it is not a verification failure
}

// alerts are shown at the top of every page, most serious first.
type alerts struct {
	// Failing are the verification failures going on: the one the last
	// board poll met, the one the last check of the own logs met.
	Failing []*failureView
	// Recorded counts the verification failures in the journal; Latest is
	// the newest one, shown when it is not going on.
	Recorded int
	Latest   *failureView
	// Transport is the last poll's error when it is not a verification
	// failure (the server is unreachable or refused the request).
	Transport string
	// Unopened counts board entries with this tenant's tags that did not
	// open: forged entries, possibly probing what the tenant watches.
	Unopened uint64
}

type failureView struct {
	Where       string // "board" or "logs", for a failure going on
	Classes     string
	Explanation string
	Message     string
	First, Last time.Time
	Count       int
}

type notificationView struct {
	Subscription, Pattern, Name, Kind, Description, Resource, Params string
	Start, End, At                                                   time.Time
	Severity                                                         uint8
	SeverityLevel                                                    string
	Count                                                            uint32
	Period, Seq, Epoch, Counter                                      uint64
}

type subscriptionView struct {
	ID, Pattern, Name, Kind, Resource, Params, Periods string
	Received                                           int
}

// explanations say in plain words what each failure class means.
var explanations = map[string]string{
	"tampered":           "A board batch was altered, was not signed by the pinned board key, belonged to another tenant or rewrote the hash chain.",
	"withheld":           "A board batch was dropped, or the board published nothing for more than an epoch.",
	"replayed":           "A board batch that was already accepted was served again.",
	"reordered":          "Board batches were served out of order.",
	"key mismatch":       "The server evaluated a subscription with a key other than the one it publishes for everybody: it could single this tenant out.",
	"key changed":        "The key the server publishes for a key period changed.",
	"board key changed":  "The board is signed by a key other than the pinned one.",
	"ledger key changed": "Log proofs are signed by a key other than the pinned one.",
	"forked log":         "The service signed two different histories of this tenant's logs.",
	"log proof":          "A range of this tenant's logs did not verify against its proof.",
}

func viewFailure(f failure) *failureView {
	var ex []string
	for _, c := range f.Classes {
		ex = append(ex, explanations[c])
	}
	return &failureView{Classes: strings.Join(f.Classes, ", "), Explanation: strings.Join(ex, " "), Message: f.Message, First: f.First, Last: f.Last, Count: f.Count}
}

// base builds the common part of every page, with the newest shown
// notifications (newest first) and the failures (newest first).
func (d *dashboard) base(page string, shown int) (*view, []journaledNotification, []failure) {
	ns, total, fs := d.journal.recent(shown)
	v := &view{Page: page, Tenant: d.client.Tenant(), Refresh: int(d.refresh / time.Second), Polling: d.polling, Hidden: total - len(ns)}
	at, err := d.client.LastPoll()
	v.Status = pollStatus{PolledAt: at, OK: !at.IsZero() && err == nil, Received: total}
	v.Status.Seq, v.Status.Epoch = d.client.Board()
	v.Alerts.Unopened = d.client.Unopened()
	v.Alerts.Recorded = len(fs)
	// failing adds err as a failure going on, if it is a verification
	// failure, and reports whether it did.
	failing := func(where string, at time.Time, err error) bool {
		classes := failureClasses(err)
		if len(classes) == 0 {
			return false
		}
		cur := failure{failureRecord: failureRecord{Classes: classes, Message: truncate(err.Error(), maxFailureMessage)}, First: at, Last: at, Count: 1}
		for _, f := range fs {
			if f.Message == cur.Message {
				cur = f // the journal knows since when
				break
			}
		}
		fv := viewFailure(cur)
		fv.Where = where
		v.Alerts.Failing = append(v.Alerts.Failing, fv)
		return true
	}
	if err != nil && !failing("board", at, err) {
		v.Alerts.Transport = truncate(err.Error(), maxFailureMessage)
	}
	if d.logs != nil {
		lat, seq, lerr := d.logs.last()
		v.Status.Logs = &logStatus{At: lat, Seq: seq}
		if lerr != nil && !failing("logs", lat, lerr) {
			v.Status.Logs.Error = truncate(lerr.Error(), maxFailureMessage)
		}
	}
	if len(fs) > 0 && !slices.ContainsFunc(v.Alerts.Failing, func(f *failureView) bool { return f.Message == fs[0].Message }) {
		v.Alerts.Latest = viewFailure(fs[0])
	}
	return v, ns, fs
}

func (d *dashboard) notificationsPage(w http.ResponseWriter, r *http.Request) {
	v, ns, _ := d.base("notifications", maxShown)
	for _, n := range ns {
		nv := notificationView{
			Subscription: n.Subscription, Pattern: n.Pattern, Resource: n.Resource, Params: paramString(n.Params),
			Start: n.Start, End: n.End, At: n.At, Severity: n.Severity, SeverityLevel: severityLevel(int(n.Severity)),
			Count: n.Count, Period: n.Period, Seq: n.Seq, Epoch: n.Epoch, Counter: n.Counter,
		}
		if e, ok := d.catalog.get(n.Pattern); ok {
			nv.Name, nv.Kind, nv.Description = e.Name, e.Kind, e.Description
		}
		v.Notifications = append(v.Notifications, nv)
	}
	d.render(w, "notifications", v)
}

func (d *dashboard) subscriptionsPage(w http.ResponseWriter, r *http.Request) {
	v, _, _ := d.base("subscriptions", 0)
	received := d.journal.received()
	for _, s := range d.client.Subscriptions() {
		sv := subscriptionView{ID: s.ID, Pattern: s.Pattern, Resource: s.Resource, Params: paramString(s.Params), Periods: periods(s.Periods), Received: received[s.ID]}
		if e, ok := d.catalog.get(s.Pattern); ok {
			sv.Name, sv.Kind = e.Name, e.Kind
		}
		v.Subscriptions = append(v.Subscriptions, sv)
	}
	d.render(w, "subscriptions", v)
}

func (d *dashboard) failuresPage(w http.ResponseWriter, r *http.Request) {
	v, _, fs := d.base("failures", 0)
	for _, f := range fs {
		v.Failures = append(v.Failures, *viewFailure(f))
	}
	d.render(w, "failures", v)
}

func paramString(ps []crypto.Param) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.Name+"="+p.Value)
	}
	return strings.Join(s, " ")
}

// severityLevel names a catalogue severity (0..15, Wazuh's scale).
func severityLevel(s int) string {
	switch {
	case s >= 12:
		return "critical"
	case s >= 8:
		return "high"
	case s >= 4:
		return "medium"
	}
	return "low"
}

// when formats a time for the pages (UTC, to the second).
func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// ago says how long before now t was, roughly.
func ago(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := time.Since(t).Round(time.Second)
	if d < time.Second {
		return "just now"
	}
	return d.String() + " ago"
}

// plural counts n things: "1 notification", "2 notifications".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// span is the length of an occurrence.
func span(start, end time.Time) string {
	return end.Sub(start).Round(time.Millisecond).String()
}
