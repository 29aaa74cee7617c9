package console

import (
	"crypto/tls"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestSameOrigin: what makes a POST the console's own.
func TestSameOrigin(t *testing.T) {
	for _, c := range []struct {
		name         string
		origin, site string
		tls          bool
		want         bool
	}{
		{"same origin", "http://console.example:8080", "", false, true},
		{"same origin, fetch metadata agrees", "http://console.example:8080", "same-origin", false, true},
		{"host case differs", "http://CONSOLE.example:8080", "", false, true},
		{"Origin null under no-referrer, same-origin fetch", "null", "same-origin", false, true},
		{"no Origin, same-origin fetch", "", "same-origin", false, true},
		{"https origin, plain request", "https://console.example:8080", "", false, false},
		{"plain origin, TLS request", "http://console.example:8080", "", true, false},
		{"https origin, TLS request", "https://console.example:8080", "", true, true},
		{"another host", "http://evil.example", "", false, false},
		{"another port", "http://console.example:8081", "", false, false},
		{"origin with a path", "http://console.example:8080/x", "", false, false},
		{"origin with user info", "http://a@console.example:8080", "", false, false},
		{"unparsable origin", "http://[::1", "", false, false},
		{"Origin null alone", "null", "", false, false},
		{"nothing at all", "", "", false, false},
		{"cross-site fetch with a matching Origin", "http://console.example:8080", "cross-site", false, false},
		{"same-site (another origin) fetch", "null", "same-site", false, false},
		{"typed in the address bar (no POST does that)", "", "none", false, false},
	} {
		r := httptest.NewRequest(http.MethodPost, "http://console.example:8080/ui/signin", nil)
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		if c.site != "" {
			r.Header.Set("Sec-Fetch-Site", c.site)
		}
		if c.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if got := sameOrigin(r, nil); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// TestSameOriginBehindProxy: with a public origin configured (a console
// behind a TLS-terminating reverse proxy, reached over plain HTTP under
// another Host), forms must come from that origin and no other, and the
// cookies are Secure.
func TestSameOriginBehindProxy(t *testing.T) {
	public, err := ParseOrigin("https://ops.example.net")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		origin string
		want   bool
	}{
		{"the public origin", "https://ops.example.net", true},
		{"the public origin, host case differs", "https://OPS.example.net", true},
		{"the backend as the proxy reaches it", "http://10.0.0.5:8080", false},
		{"the public host over plain HTTP", "http://ops.example.net", false},
		{"another port of the public host", "https://ops.example.net:8443", false},
		{"another host", "https://evil.example", false},
	} {
		r := httptest.NewRequest(http.MethodPost, "http://10.0.0.5:8080/ui/signin", nil)
		r.Header.Set("Origin", c.origin)
		if got := sameOrigin(r, public); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	r := httptest.NewRequest(http.MethodGet, "http://10.0.0.5:8080/ui/signin", nil)
	if (&Console{origin: public}).secure(r) != true || (&Console{}).secure(r) != false {
		t.Error("cookies Secure only with an https public origin (or TLS)")
	}
	if (&Console{origin: &url.URL{Scheme: "http", Host: "ops.example.net"}}).secure(r) {
		t.Error("an http public origin makes Secure cookies")
	}
}

// TestParseOrigin: a public origin is a scheme and a host, nothing else.
func TestParseOrigin(t *testing.T) {
	for s, want := range map[string]string{
		"https://ops.example.net":       "https://ops.example.net",
		"https://ops.example.net/":      "https://ops.example.net",
		"http://ops.example.net:8080":   "http://ops.example.net:8080",
		"https://[::1]:8443":            "https://[::1]:8443",
		"":                              "",
		"ops.example.net":               "", // no scheme
		"ftp://ops.example.net":         "",
		"https://":                      "",
		"https://ops.example.net/ui":    "", // a path
		"https://ops.example.net?x=1":   "",
		"https://ops.example.net#x":     "",
		"https://a@ops.example.net":     "",
		"https:ops.example.net":         "", // opaque
		"https://ops.example.net:99999": "", // no such port
	} {
		u, err := ParseOrigin(s)
		switch {
		case want == "" && err == nil:
			t.Errorf("%q accepted as %v", s, u)
		case want != "" && (err != nil || u.String() != want):
			t.Errorf("%q: %v, %v; want %s", s, u, err, want)
		}
	}
}

// TestSessions: a session is found by its cookie value only, ends at its
// expiry, and the store stays within its bound.
func TestSessions(t *testing.T) {
	now := time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)
	s := newSessions(2)
	rnd := rand.NewChaCha8([32]byte{1})
	a, err := s.create(rnd, Operator{TokenID: "a"}, now.Add(time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	if ss := s.get(a, now); ss == nil || ss.op.TokenID != "a" || len(ss.csrf) < 40 {
		t.Fatalf("session a: %+v", ss)
	}
	for _, bad := range []string{"", a[:len(a)-1], a + "x", strings.ToUpper(a)} {
		if s.get(bad, now) != nil {
			t.Errorf("cookie %q opens a session", bad)
		}
	}
	if s.get(a, now.Add(time.Hour)) != nil {
		t.Error("session alive at its expiry")
	}
	b, _ := s.create(rnd, Operator{TokenID: "b"}, now.Add(2*time.Hour), now)
	c, _ := s.create(rnd, Operator{TokenID: "c"}, now.Add(3*time.Hour), now)
	d, _ := s.create(rnd, Operator{TokenID: "d"}, now.Add(4*time.Hour), now) // evicts b, the closest to its end
	if s.get(b, now) != nil || s.get(c, now) == nil || s.get(d, now) == nil {
		t.Error("eviction did not drop the session closest to its end")
	}
	s.remove(c)
	if s.get(c, now) != nil {
		t.Error("removed session still open")
	}
	if _, err := s.create(strings.NewReader("short"), Operator{}, now.Add(time.Hour), now); err == nil {
		t.Error("session made without enough randomness")
	}
}

// TestSigninToken: the sign-in form's token is bound to its nonce and key.
func TestSigninToken(t *testing.T) {
	k1, k2 := []byte("key one, 32 bytes long, exactly!"), []byte("key two, 32 bytes long, exactly!")
	tok := signinToken(k1, "nonce")
	if !equal(tok, signinToken(k1, "nonce")) {
		t.Fatal("not deterministic")
	}
	if equal(tok, signinToken(k1, "nonce2")) || equal(tok, signinToken(k2, "nonce")) || equal(tok, "") {
		t.Fatal("token not bound to its nonce and key")
	}
}

// FuzzTimeRange: the time parameters of every page never panic, and an
// accepted range is positive and within its bound.
func FuzzTimeRange(f *testing.F) {
	for _, s := range [][2]string{
		{"", ""},
		{"2026-11-21T06:00", "2026-11-22T06:00"},
		{"2026-11-21T06:00:00Z", "2026-11-21T06:15:00+09:00"},
		{"2026-11-21T06:00:00.123456789Z", ""},
		{"0001-01-01T00:00", "9999-12-31T23:59"},
		{"<script>", "x"},
		{"2026-02-30T00:00", "2026-13-01T00:00"},
	} {
		f.Add(s[0], s[1])
	}
	now := time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, from, to string) {
		r := httptest.NewRequest(http.MethodGet, "/ui/heatmap", nil)
		q := r.URL.Query()
		q.Set("from", from)
		q.Set("to", to)
		r.URL.RawQuery = q.Encode()
		f, tt, err := timeRange(r, now, 24*time.Hour, 8*24*time.Hour)
		if err != nil {
			return
		}
		if !tt.After(f) || tt.Sub(f) > 8*24*time.Hour {
			t.Fatalf("accepted %v .. %v", f, tt)
		}
	})
}
