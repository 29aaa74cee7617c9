package console

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

//go:embed templates/*.html static/*
var assets embed.FS

// view is what every template gets: the page's title and navigation,
// whether an operator is signed in (and the session's CSRF token for its
// forms), and the page's own data.
type view struct {
	Title   string
	Nav     string
	Signed  bool
	CSRF    string
	Status  int
	Message string
	Data    any
}

// pages are the parsed templates: each page's file with the layout.
type pages struct {
	t map[string]*template.Template
}

var funcs = template.FuncMap{
	"ts":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") },
	"hm":    func(t time.Time) string { return t.UTC().Format("15:04") },
	"input": inputTime,
	"rfc":   func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) },
	"dur":   func(d time.Duration) string { return d.Round(time.Millisecond).String() },
	"windowURL": func(from, to time.Time) string {
		return "/ui/window?" + url.Values{"from": {from.UTC().Format(time.RFC3339)}, "to": {to.UTC().Format(time.RFC3339)}}.Encode()
	},
	"add": func(a, b int) int { return a + b },
}

func newPages() (*pages, error) {
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{t: map[string]*template.Template{}}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		p.t[name] = t
	}
	return p, nil
}

// render writes a page with status; the page is rendered in full before
// anything is sent, so a template failure is a clean 500.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	if ss := c.session(r); ss != nil {
		v.Signed, v.CSRF = true, ss.csrf
	}
	t := c.pages.t[name]
	var buf bytes.Buffer
	if t == nil {
		c.cfg.Logger.ErrorContext(r.Context(), "console template missing", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if err := t.Execute(&buf, v); err != nil {
		c.cfg.Logger.ErrorContext(r.Context(), "console template failed", "name", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// inputTime formats t for a datetime-local input (UTC, minutes).
func inputTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04") }

// parseTime reads a time parameter: RFC 3339, or a datetime-local value
// taken as UTC; empty gives def.
func parseTime(v string, def time.Time) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errBadInput
}

// timeRange reads ?from=&to=, by default the span before now (to rounded
// up to the minute); it must be positive and at most max.
func timeRange(r *http.Request, now time.Time, span, max time.Duration) (time.Time, time.Time, error) {
	q := r.URL.Query()
	to, err := parseTime(q.Get("to"), now.UTC().Truncate(time.Minute).Add(time.Minute))
	if err != nil {
		return to, to, err
	}
	from, err := parseTime(q.Get("from"), to.Add(-span))
	if err != nil {
		return from, to, err
	}
	if !to.After(from) || to.Sub(from) > max || from.Year() < 1970 || to.Year() > 9999 {
		return from, to, errBadInput
	}
	return from, to, nil
}

// shade is a cell's class: s0 for nothing, s1..s8 on a log scale of max.
func shade(v, max int) string {
	if v <= 0 || max <= 0 {
		return "s0"
	}
	l := int(math.Ceil(8 * math.Log1p(float64(v)) / math.Log1p(float64(max))))
	return fmt.Sprintf("s%d", min(max8(l), 8))
}

func max8(l int) int {
	if l < 1 {
		return 1
	}
	return l
}
