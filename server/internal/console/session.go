package console

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Cookie names. The session cookie is scoped to /ui, HttpOnly,
// SameSite=Strict, and Secure when the request came over TLS or the
// console's public origin is https ([Config.Origin]).
const (
	sessionCookie = "hisoka_ui"
	// signinCookie carries the nonce that the sign-in form's CSRF token
	// is bound to (before there is a session).
	signinCookie = "hisoka_ui_signin"
)

// session is one signed-in operator. It is found by the SHA-256 of the
// cookie's value, so the value itself is kept nowhere.
type session struct {
	op      Operator
	csrf    string // per session, in every form
	expires time.Time
}

// sessions holds the signed-in operators in memory: a restart signs
// everybody out.
type sessions struct {
	mu  sync.Mutex
	m   map[[32]byte]*session
	max int
}

func newSessions(max int) *sessions {
	return &sessions{m: map[[32]byte]*session{}, max: max}
}

func randomString(rand io.Reader) (string, error) {
	var b [32]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", fmt.Errorf("console: randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// create starts a session for op that ends at expires; it returns the
// cookie value. Expired sessions are forgotten first; when still full, the
// one closest to its end goes.
func (s *sessions) create(rand io.Reader, op Operator, expires, now time.Time) (string, error) {
	id, err := randomString(rand)
	if err != nil {
		return "", err
	}
	csrf, err := randomString(rand)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.m {
		if !now.Before(v.expires) {
			delete(s.m, k)
		}
	}
	if len(s.m) >= s.max {
		var oldest [32]byte
		var at time.Time
		for k, v := range s.m {
			if at.IsZero() || v.expires.Before(at) {
				oldest, at = k, v.expires
			}
		}
		delete(s.m, oldest)
	}
	s.m[sha256.Sum256([]byte(id))] = &session{op: op, csrf: csrf, expires: expires}
	return id, nil
}

// get returns the live session of a cookie value, or nil.
func (s *sessions) get(id string, now time.Time) *session {
	if id == "" {
		return nil
	}
	k := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.m[k]
	if !ok {
		return nil
	}
	if !now.Before(ss.expires) {
		delete(s.m, k)
		return nil
	}
	return ss
}

func (s *sessions) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, sha256.Sum256([]byte(id)))
}

// equal compares two secrets in constant time.
func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// signinToken is the sign-in form's CSRF token: an HMAC of the nonce in
// the sign-in cookie under the console's key, so it needs no server state.
func signinToken(key []byte, nonce string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("hisoka console sign-in\x00"))
	m.Write([]byte(nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// cookie makes a console cookie: Path=/ui, HttpOnly, SameSite=Strict,
// Secure if secure. A zero expires deletes it.
func cookie(secure bool, name, value string, expires time.Time) *http.Cookie {
	c := &http.Cookie{Name: name, Value: value, Path: "/ui", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure}
	if expires.IsZero() {
		c.MaxAge = -1
	} else {
		c.Expires = expires.UTC()
	}
	return c
}
