package server

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/hisoka-project/hisoka/server/internal/auth"
	"github.com/hisoka-project/hisoka/spec"
)

// routes registers every route of the API and of the operator console, in
// one place. spec/openapi.yaml lists the same API routes
// (TestOpenAPIAgreesWithRoutes; the console's /ui pages are not API).
func (s *Server) routes() {
	e := s.echo
	// Public.
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(s.metrics.Handler()))
	e.GET("/openapi.yaml", func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/yaml", spec.OpenAPI)
	})
	if s.svc == nil {
		return
	}
	e.GET("/v1/keys", s.getKeys)

	ingest := s.guard(auth.RoleIngest)
	tenant := s.guard(auth.RoleTenant)
	own := append(s.guard(auth.RoleTenant), ownTenant)
	op := s.guard(auth.RoleOperator)
	for _, r := range []struct {
		method, path string
		h            echo.HandlerFunc
		mw           []echo.MiddlewareFunc
	}{
		// Ingest (platform-ingest or tenant-ingest tokens).
		{http.MethodPost, "/v1/ingest", s.postIngest, ingest},
		{http.MethodPost, "/loki/api/v1/push", s.postLoki, ingest},
		// Tenants (self-signed tenant tokens); {tenant} must be the caller.
		{http.MethodGet, "/v1/catalog", s.getCatalog, tenant},
		{http.MethodPost, "/v1/subscriptions/evaluate", s.postEvaluate, tenant},
		{http.MethodGet, "/v1/tenants/:tenant/notifications", s.getNotifications, own},
		{http.MethodGet, "/v1/tenants/:tenant/logs", s.getLogs, own},
		{http.MethodGet, "/v1/tenants/:tenant/logs/export", s.getExport, own},
		{http.MethodGet, "/v1/tenants/:tenant/logs/verify", s.getVerify, own},
		{http.MethodGet, "/v1/tenants/:tenant/retention", s.getRetention, own},
		{http.MethodPut, "/v1/tenants/:tenant/retention", s.putRetention, own},
		{http.MethodGet, "/v1/tenants/:tenant/access", s.getAccess, own},
		{http.MethodGet, "/v1/tenants/:tenant/report", s.getReport, own},
		// Operators.
		{http.MethodGet, "/v1/admin/tenants", s.listTenants, op},
		{http.MethodPost, "/v1/admin/tenants", s.postTenant, op},
		{http.MethodGet, "/v1/admin/tenants/:tenant", s.getTenant, op},
		{http.MethodDelete, "/v1/admin/tenants/:tenant", s.deleteTenant, op},
		{http.MethodGet, "/v1/admin/tenants/:tenant/report", s.getReport, op},
		{http.MethodGet, "/v1/admin/sources", s.getSources, op},
		{http.MethodGet, "/v1/admin/resources", s.listResources, op},
		{http.MethodPost, "/v1/admin/resources", s.postResource, op},
		{http.MethodDelete, "/v1/admin/resources/:id", s.deleteResource, op},
		{http.MethodGet, "/v1/admin/catalogues", s.listCatalogues, op},
		{http.MethodPost, "/v1/admin/catalogues", s.postCatalogue, op},
		{http.MethodPost, "/v1/admin/catalogues/learn", s.postLearn, op},
		{http.MethodGet, "/v1/admin/catalogues/:version", s.getCatalogue, op},
		{http.MethodPost, "/v1/admin/catalogues/:version/publish", s.publishCatalogue, op},
		{http.MethodGet, "/v1/admin/streams/:stream/logs", s.getStreamLogs, op},
		{http.MethodGet, "/v1/admin/anomalies", s.getAnomalies, op},
		{http.MethodPost, "/v1/admin/keys/rotate", s.postRotate, op},
		{http.MethodGet, "/v1/admin/access", s.getAudit, op},
	} {
		e.Add(r.method, r.path, r.h, r.mw...)
	}
	// The operator console: HTML pages, not part of the JSON API (so not in
	// spec/openapi.yaml). It authenticates with its own session cookie,
	// made from an operator token at /ui/signin, and sets its own security
	// headers; see package console.
	for _, r := range s.console.Routes() {
		e.Add(r.Method, r.Path, echo.WrapHandler(r.Handler))
	}
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
