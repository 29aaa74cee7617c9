package requestid

import (
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"sync"

	"github.com/labstack/echo/v4"
)

// Header is the request and response header carrying the id.
const Header = "X-Request-Id"

// MaxLen is the longest client-supplied id kept; longer or otherwise
// malformed ids are replaced.
const MaxLen = 64

type key struct{}

// WithID returns a context carrying id.
func WithID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// FromContext returns the request id, or "".
func FromContext(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}

// Valid reports whether a client-supplied id is kept: 1 to [MaxLen] bytes of
// letters, digits, '-', '_' and '.'.
func Valid(id string) bool {
	if id == "" || len(id) > MaxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// Generator makes ids of 16 random bytes, hex encoded, from rand.
type Generator struct {
	mu   sync.Mutex
	rand io.Reader
}

// NewGenerator returns a generator reading rand.
func NewGenerator(rand io.Reader) *Generator { return &Generator{rand: rand} }

// New returns a fresh id.
func (g *Generator) New() string {
	var b [16]byte
	g.mu.Lock()
	_, err := io.ReadFull(g.rand, b[:])
	g.mu.Unlock()
	if err != nil {
		// A failing random source must not fail the request; the id is
		// only a correlation handle.
		return "00000000000000000000000000000000"
	}
	return hex.EncodeToString(b[:])
}

// Middleware sets the request id on the response header and the request
// context before anything else runs.
func Middleware(g *Generator) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			id := req.Header.Get(Header)
			if !Valid(id) {
				id = g.New()
			}
			c.Response().Header().Set(Header, id)
			c.SetRequest(req.WithContext(WithID(req.Context(), id)))
			return next(c)
		}
	}
}

// Handler adds request_id to every record whose context carries one.
type Handler struct{ slog.Handler }

var _ slog.Handler = Handler{}

// NewHandler wraps h.
func NewHandler(h slog.Handler) Handler { return Handler{h} }

// Handle implements slog.Handler.
func (h Handler) Handle(ctx context.Context, r slog.Record) error {
	if id := FromContext(ctx); id != "" {
		r = r.Clone()
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h Handler) WithAttrs(as []slog.Attr) slog.Handler { return Handler{h.Handler.WithAttrs(as)} }

// WithGroup implements slog.Handler.
func (h Handler) WithGroup(name string) slog.Handler { return Handler{h.Handler.WithGroup(name)} }
