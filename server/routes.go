package server

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// routes registers every route of the API, in one place.
func (s *Server) routes() {
	e := s.echo
	// Public.
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(s.metrics.Handler()))
}

type status struct {
	Status string `json:"status"`
}

// healthz says the process is alive.
func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, status{"ok"})
}

// readyz says the server can take traffic: not draining and every
// readiness check passes.
func (s *Server) readyz(c echo.Context) error {
	if s.draining.Load() {
		return ErrNotReady
	}
	ctx := c.Request().Context()
	for _, r := range s.ready {
		if err := r.Ready(ctx); err != nil {
			s.log.WarnContext(ctx, "readiness check failed", "err", err)
			return ErrNotReady
		}
	}
	return c.JSON(http.StatusOK, status{"ready"})
}
