package server

import (
	"io"
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hisoka-project/hisoka/server/internal/config"
	"github.com/hisoka-project/hisoka/server/internal/requestid"
)

// NewLogger returns the structured logger cfg asks for (JSON or text, at
// its level), writing to w. Every record logged with a request's context
// carries that request's id.
func NewLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // Validate checked it
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if cfg.LogFormat == "text" {
		h = slog.NewTextHandler(w, opts)
	} else {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(requestid.NewHandler(h))
}

// accessLog writes one line per request once the response is written. It
// logs the route template, never the raw path or query (they may hold
// tenant or resource ids and search terms).
func accessLog(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			res := c.Response()
			log.InfoContext(c.Request().Context(), "request",
				"method", c.Request().Method, "route", c.Path(), "status", res.Status,
				"bytes", res.Size, "duration", time.Since(start))
			return nil
		}
	}
}
