package httperr

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hisoka-project/hisoka/server/internal/limit"
	"github.com/hisoka-project/hisoka/server/internal/requestid"
)

// Rule maps errors matching Err to Status and the fixed Message.
type Rule struct {
	Err     error
	Status  int
	Message string
}

// Body is the JSON error response.
type Body struct {
	Error     string `json:"error"`
	RequestID string `json:"request_id"`
}

// Handler maps errors to responses; its Handle method is an
// echo.HTTPErrorHandler.
type Handler struct {
	rules []Rule
	log   *slog.Logger
}

// New returns a handler trying rules in order.
func New(log *slog.Logger, rules ...Rule) *Handler {
	return &Handler{rules: append([]Rule(nil), rules...), log: log}
}

// Add appends rules; call it before serving.
func (h *Handler) Add(rules ...Rule) { h.rules = append(h.rules, rules...) }

// Status returns the status code and fixed message for err.
func (h *Handler) Status(err error) (int, string) {
	for _, r := range h.rules {
		if errors.Is(err, r.Err) {
			return r.Status, r.Message
		}
	}
	var he *echo.HTTPError
	if errors.As(err, &he) && he.Code >= 400 && he.Code <= 599 {
		// Router and binder errors: their own message may echo input.
		return he.Code, message(he.Code)
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge, message(http.StatusRequestEntityTooLarge)
	}
	return http.StatusInternalServerError, "internal error"
}

func message(code int) string {
	if t := http.StatusText(code); t != "" {
		return lower(t)
	}
	return "error"
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Handle writes the response for err and logs it.
func (h *Handler) Handle(err error, c echo.Context) {
	req := c.Request()
	ctx := req.Context()
	status, msg := h.Status(err)
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		// The client went away; there is nobody to answer.
		h.log.DebugContext(ctx, "request cancelled", "method", req.Method, "path", c.Path())
		return
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	h.log.Log(ctx, level, "request failed", "method", req.Method, "route", c.Path(), "status", status, "err", err)
	if c.Response().Committed {
		return
	}
	hdr := c.Response().Header()
	if status == http.StatusUnauthorized {
		hdr.Set("WWW-Authenticate", `Bearer`)
	}
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		hdr.Set("Retry-After", strconv.Itoa(limit.RetryAfterSeconds(ra.RetryAfter())))
	}
	if req.Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	if werr := c.JSON(status, Body{Error: msg, RequestID: requestid.FromContext(ctx)}); werr != nil {
		h.log.DebugContext(ctx, "writing error response", "err", werr)
	}
}
