package console

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config is what a [Console] is built from.
type Config struct {
	Source Source       // required
	Logger *slog.Logger // required
	// Status maps an error of the Source to a status code and a fixed
	// message (the server's error rules); nil: 500 "internal error".
	Status func(error) (int, string)
	// Rand makes session ids and CSRF tokens; nil means crypto/rand.
	Rand io.Reader
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// SessionTTL bounds a session (it also ends when its token expires);
	// zero means [DefaultSessionTTL].
	SessionTTL time.Duration
	// MaxSessions bounds the sessions held; zero means 1024.
	MaxSessions int
	// Origin is the console's public origin (scheme://host[:port]) as
	// browsers see it, for a console behind a TLS-terminating reverse
	// proxy: forms must come from it, and an https origin makes the
	// cookies Secure. Empty: the origin of each request as it reached the
	// server (its Host, https when it came over TLS).
	Origin string
}

// DefaultSessionTTL is the longest a session lasts unless configured.
const DefaultSessionTTL = 12 * time.Hour

// Console serves the operator console's pages.
type Console struct {
	cfg      Config
	origin   *url.URL // parsed Config.Origin; nil when unset
	sessions *sessions
	key      []byte // binds the sign-in form's CSRF token to its cookie
	pages    *pages
}

// Route is one console route for the server's route table.
type Route struct {
	Method, Path string
	Handler      http.Handler
}

// New builds a console.
func New(cfg Config) (*Console, error) {
	if cfg.Source == nil || cfg.Logger == nil {
		return nil, errors.New("console: Config.Source and Config.Logger are required")
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 1024
	}
	if cfg.Status == nil {
		cfg.Status = func(error) (int, string) { return http.StatusInternalServerError, "internal error" }
	}
	var origin *url.URL
	if cfg.Origin != "" {
		u, err := ParseOrigin(cfg.Origin)
		if err != nil {
			return nil, err
		}
		origin = u
	}
	key := make([]byte, 32)
	if _, err := io.ReadFull(cfg.Rand, key); err != nil {
		return nil, fmt.Errorf("console: randomness: %w", err)
	}
	p, err := newPages()
	if err != nil {
		return nil, err
	}
	return &Console{cfg: cfg, origin: origin, sessions: newSessions(cfg.MaxSessions), key: key, pages: p}, nil
}

// Routes lists every console route. Pages need a session (without one
// they redirect to the sign-in page); every POST also needs to come from
// the console's origin ([sameOrigin]) and carry the session's CSRF token.
func (c *Console) Routes() []Route {
	get, post := http.MethodGet, http.MethodPost
	return []Route{
		{get, "/ui", c.public(c.root)},
		{get, "/ui/static/:file", c.public(c.static)},
		{get, "/ui/signin", c.public(c.signinForm)},
		{post, "/ui/signin", c.public(c.signin)},
		{post, "/ui/signout", c.form(c.signout)},
		{get, "/ui/heatmap", c.page(c.heatmap)},
		{get, "/ui/window", c.page(c.window)},
		{get, "/ui/patterns", c.page(c.patterns)},
		{get, "/ui/pattern", c.page(c.pattern)},
		{get, "/ui/anomalies", c.page(c.anomalies)},
		{get, "/ui/anomaly", c.page(c.anomaly)},
		{get, "/ui/sources", c.page(c.sources)},
		{get, "/ui/tenants", c.page(c.tenants)},
		{get, "/ui/catalogues", c.page(c.catalogues)},
		{get, "/ui/catalogue", c.page(c.catalogue)},
		{post, "/ui/catalogues/learn", c.form(c.learn)},
		{post, "/ui/catalogues/upload", c.form(c.upload)},
		{post, "/ui/catalogues/publish", c.form(c.publish)},
	}
}

// csp is the Content-Security-Policy of every console response: nothing
// but the console's own stylesheet (and data: images) loads, no inline
// script or style, no framing, forms post only to the console.
const csp = "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func headers(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
}

// ErrBadOrigin is returned by [ParseOrigin] (and [New]) for an origin that
// is not an http or https scheme and host with nothing else.
var ErrBadOrigin = errors.New("console: origin must be http(s)://host[:port] and nothing else")

// ParseOrigin parses a public origin such as https://ops.example.net.
func ParseOrigin(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" ||
		u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return nil, ErrBadOrigin
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, ErrBadOrigin
		}
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

// Errors of the console itself, shown with fixed messages.
var (
	errBadInput  = errors.New("console: bad input")
	errNotFound  = errors.New("console: not found")
	errForbidden = errors.New("console: cross-site or unauthenticated form")
	errTooLarge  = errors.New("console: form too large")
)

// maxFormBytes bounds a console form's body (an uploaded catalogue is the
// largest); the server's own body limit may be lower.
const maxFormBytes = 8 << 20

// parseForm reads a POST's form, so that a body over a limit (the
// console's or the server's) is a 413 and any other unreadable body a
// 400, not a form without its CSRF token.
func (c *Console) parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	err := r.ParseForm()
	if err == nil {
		return nil
	}
	var mbe *http.MaxBytesError
	if status, _ := c.cfg.Status(err); errors.As(err, &mbe) || status == http.StatusRequestEntityTooLarge {
		return fmt.Errorf("%w: %w", errTooLarge, err)
	}
	return fmt.Errorf("%w: %w", errBadInput, err)
}

// handler is a console page: it writes its answer or returns an error,
// which becomes a fixed message page.
type handler func(w http.ResponseWriter, r *http.Request, ss *session) error

// public serves without a session.
func (c *Console) public(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		headers(w)
		if err := h(w, r, c.session(r)); err != nil {
			c.fail(w, r, err)
		}
	})
}

// page serves only within a session; without one it sends the browser to
// the sign-in page.
func (c *Console) page(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		headers(w)
		ss := c.session(r)
		if ss == nil {
			http.Redirect(w, r, "/ui/signin", http.StatusSeeOther)
			return
		}
		r = r.WithContext(WithOperator(r.Context(), ss.op))
		if err := h(w, r, ss); err != nil {
			c.fail(w, r, err)
		}
	})
}

// form serves a POST within a session, from a page of the console: same
// origin and the session's CSRF token, else 403.
func (c *Console) form(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		headers(w)
		if err := c.parseForm(w, r); err != nil {
			c.fail(w, r, err)
			return
		}
		ss := c.session(r)
		if ss == nil || !sameOrigin(r, c.origin) || !equal(r.PostFormValue("csrf"), ss.csrf) {
			c.fail(w, r, errForbidden)
			return
		}
		r = r.WithContext(WithOperator(r.Context(), ss.op))
		if err := h(w, r, ss); err != nil {
			c.fail(w, r, err)
		}
	})
}

func (c *Console) session(r *http.Request) *session {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	return c.sessions.get(ck.Value, c.cfg.Now())
}

// sameOrigin reports whether a POST comes from a page of this server: its
// Origin header names origin (when not nil: the configured public origin)
// or else this server as the request reached it, or, where the
// browser sends "Origin: null" (as Chromium does for a form posted under
// Referrer-Policy: no-referrer), its Sec-Fetch-Site is "same-origin".
// Without either header, or with any other value, it does not.
func sameOrigin(r *http.Request, origin *url.URL) bool {
	site := r.Header.Get("Sec-Fetch-Site")
	if site != "" && site != "same-origin" {
		return false
	}
	o := r.Header.Get("Origin")
	if o == "null" || o == "" {
		return site == "same-origin"
	}
	u, err := url.Parse(o)
	if err != nil {
		return false
	}
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if origin != nil {
		scheme, host = origin.Scheme, origin.Host
	}
	return u.Scheme == scheme && strings.EqualFold(u.Host, host) && u.Path == "" && u.RawQuery == "" && u.User == nil
}

// secure reports whether the console's cookies are Secure: the request
// came over TLS, or the configured public origin is https.
func (c *Console) secure(r *http.Request) bool {
	return r.TLS != nil || (c.origin != nil && c.origin.Scheme == "https")
}

// fail answers with a fixed message page; the error itself goes to the log.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	ctx := r.Context()
	var status int
	var msg string
	switch {
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return
	case errors.Is(err, errBadInput):
		status, msg = http.StatusBadRequest, "bad request"
	case errors.Is(err, errNotFound):
		status, msg = http.StatusNotFound, "not found"
	case errors.Is(err, errTooLarge):
		status, msg = http.StatusRequestEntityTooLarge, "request body too large"
	case errors.Is(err, errForbidden):
		status, msg = http.StatusForbidden, "forbidden: sign in again and use the console's own forms"
	default:
		status, msg = c.cfg.Status(err)
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	c.cfg.Logger.Log(ctx, level, "console request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	c.render(w, r, status, "error", view{Title: "Error", Message: msg, Status: status})
}
