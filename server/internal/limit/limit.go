package limit

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"
)

// ErrBodyTooLarge is returned when a request body exceeds its limit.
var ErrBodyTooLarge = errors.New("limit: request body too large")

// ErrRateLimited is wrapped by every [*RetryError].
var ErrRateLimited = errors.New("limit: rate limited")

// RetryError is a refusal that may succeed after After.
type RetryError struct{ After time.Duration }

func (e *RetryError) Error() string {
	return fmt.Sprintf("limit: rate limited, retry after %v", e.After)
}

// Is makes errors.Is(err, ErrRateLimited) hold.
func (e *RetryError) Is(target error) bool { return target == ErrRateLimited }

// RetryAfter returns when to retry.
func (e *RetryError) RetryAfter() time.Duration { return e.After }

// Body refuses requests whose body is longer than max bytes: at once when
// Content-Length says so, otherwise when the handler reads past max (the
// read fails with an error wrapping [ErrBodyTooLarge]).
func Body(max int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.ContentLength > max {
				return ErrBodyTooLarge
			}
			if req.Body != nil && req.Body != http.NoBody {
				req.Body = &bodyReader{r: req.Body, left: max}
			}
			return next(c)
		}
	}
}

type bodyReader struct {
	r    io.ReadCloser
	left int64
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, ErrBodyTooLarge
	}
	// Read one byte past the limit to tell "exactly max" from "more".
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n + int(b.left), ErrBodyTooLarge
	}
	return n, err
}

func (b *bodyReader) Close() error { return b.r.Close() }

// Rates keeps one token bucket per key. Buckets that are full (idle) are
// forgotten when the table reaches its size bound; if every bucket is in use
// a new key is refused with a one-second retry rather than reset another's.
type Rates struct {
	mu      sync.Mutex
	limit   rate.Limit
	burst   int
	maxKeys int
	now     func() time.Time
	buckets map[string]*rate.Limiter
}

// NewRates returns per-key buckets refilling perSecond tokens a second up
// to burst, for at most maxKeys keys; now nil means time.Now.
func NewRates(perSecond float64, burst, maxKeys int, now func() time.Time) *Rates {
	if now == nil {
		now = time.Now
	}
	if burst < 1 {
		burst = 1
	}
	return &Rates{limit: rate.Limit(perSecond), burst: burst, maxKeys: maxKeys, now: now, buckets: make(map[string]*rate.Limiter)}
}

// Take takes n tokens from key's bucket, or returns a [*RetryError]. A
// request for more than the burst is charged the whole burst: it passes
// when the bucket is full and then empties it.
func (r *Rates) Take(key string, n int) error {
	if n <= 0 {
		return nil
	}
	n = min(n, r.burst)
	now := r.now()
	r.mu.Lock()
	lim, ok := r.buckets[key]
	if !ok {
		if len(r.buckets) >= r.maxKeys {
			for k, l := range r.buckets {
				if l.TokensAt(now) >= float64(r.burst) {
					delete(r.buckets, k)
				}
			}
		}
		if len(r.buckets) >= r.maxKeys {
			r.mu.Unlock()
			return &RetryError{After: time.Second}
		}
		lim = rate.NewLimiter(r.limit, r.burst)
		r.buckets[key] = lim
	}
	r.mu.Unlock()
	res := lim.ReserveN(now, n)
	if !res.OK() {
		return &RetryError{After: time.Second}
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return &RetryError{After: d}
	}
	return nil
}

// RetryAfterSeconds rounds d up to whole seconds, at least 1, for the
// Retry-After header.
func RetryAfterSeconds(d time.Duration) int {
	s := int(math.Ceil(d.Seconds()))
	return max(s, 1)
}

// Middleware charges one token per request to the key that key returns;
// requests for which key returns "" are not limited.
func Middleware(r *Rates, key func(echo.Context) string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if k := key(c); k != "" {
				if err := r.Take(k, 1); err != nil {
					return err
				}
			}
			return next(c)
		}
	}
}
