package server

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hisoka-project/hisoka/crypto"
	"github.com/hisoka-project/hisoka/matcher"
	"github.com/hisoka-project/hisoka/spec"
	"github.com/hisoka-project/hisoka/store"
)

func wireTenant(t store.Tenant) spec.Tenant {
	out := spec.Tenant{ID: t.ID, PublicKey: t.PublicKey, Created: t.Created, Settings: t.Settings}
	if t.Quota > 0 {
		out.Quota = &t.Quota
	}
	if t.Retention > 0 {
		out.Retention = t.Retention.String()
	}
	return out
}

// postTenant is POST /v1/admin/tenants: register (or update) a tenant with
// its Ed25519 public key. The answer carries the keys the tenant pins. An
// update keeps the tenant's retention, quota and settings unless the request
// sets them ("0s" keeps forever, a quota of 0 is none, "settings": {} clears
// them); a retention change is recorded in the tenant's access log.
func (s *Server) postTenant(c echo.Context) error {
	ctx := c.Request().Context()
	var in spec.Tenant
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if spec.Reserved(in.ID) {
		return ErrReservedID
	}
	if err := store.ValidTenant(in.ID); err != nil {
		return err
	}
	if len(in.ID) > crypto.MaxTenantIDLen { // tenant ids go into the POPRF info
		return store.ErrInvalidTenant
	}
	if len(in.PublicKey) != ed25519.PublicKeySize {
		return crypto.ErrPublicKey
	}
	if _, err := crypto.CheckPublicKey(ed25519.PublicKey(in.PublicKey)); err != nil {
		return err
	}
	ret, err := parseRetention(in.Retention)
	if err != nil {
		return err
	}
	t := store.Tenant{ID: in.ID, PublicKey: in.PublicKey, Created: s.svc.now().UTC(), Retention: ret, Settings: in.Settings}
	if in.Quota != nil {
		t.Quota = *in.Quota
	}
	isNew := false
	var oldRet time.Duration
	if old, err := s.svc.st.GetTenant(ctx, in.ID); err == nil {
		t.Created = old.Created
		oldRet = old.Retention
		// What the request does not set, an update keeps.
		if in.Retention == "" {
			t.Retention = old.Retention
		}
		if in.Quota == nil {
			t.Quota = old.Quota
		}
		if in.Settings == nil {
			t.Settings = old.Settings
		}
	} else if errors.Is(err, store.ErrNotFound) {
		isNew = true
	} else {
		return err
	}
	if err := s.svc.st.PutTenant(ctx, t); err != nil {
		return err
	}
	if !isNew && t.Retention != oldRet {
		if err := s.recordRetention(ctx, t.ID, oldRet, t.Retention); err != nil {
			return err
		}
	}
	if isNew {
		// A first batch (dummies) at once, so the tenant's board is fresh
		// from the start (crypto.ChainVerifier.CheckFresh).
		if err := s.svc.boards.publish(ctx, t.ID, nil, false); err != nil {
			return err
		}
	}
	if err := s.svc.refreshAddrs(ctx); err != nil {
		return err
	}
	kr, _ := s.svc.keys.get()
	return c.JSON(http.StatusCreated, spec.TenantRegistered{Tenant: wireTenant(t), BoardPublicKey: kr.BoardPublicKey(), LedgerKey: s.svc.ledger})
}

func (s *Server) listTenants(c echo.Context) error {
	out, err := s.svc.wireTenants(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// wireTenants lists the registered tenants (API and console).
func (svc *service) wireTenants(ctx context.Context) ([]spec.Tenant, error) {
	ts, err := svc.st.ListTenants(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]spec.Tenant, 0, len(ts))
	for _, t := range ts {
		out = append(out, wireTenant(t))
	}
	return out, nil
}

func (s *Server) getTenant(c echo.Context) error {
	t, err := s.svc.st.GetTenant(c.Request().Context(), c.Param("tenant"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, wireTenant(t))
}

func (s *Server) deleteTenant(c echo.Context) error {
	ctx := c.Request().Context()
	if err := s.svc.st.DeleteTenant(ctx, c.Param("tenant")); err != nil {
		return err
	}
	if err := s.svc.refreshAddrs(ctx); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// postResource is POST /v1/admin/resources: a VM, volume or host and its
// owner (a tenant, or "platform" for the platform's own hosts), with the
// addresses its syslog comes from.
func (s *Server) postResource(c echo.Context) error {
	ctx := c.Request().Context()
	var in spec.Resource
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Tenant != spec.TenantPlatform {
		if spec.Reserved(in.Tenant) {
			return ErrReservedID
		}
		if _, err := s.svc.st.GetTenant(ctx, in.Tenant); err != nil {
			return err
		}
	}
	for _, a := range in.Addresses {
		if _, err := netip.ParseAddr(a); err != nil {
			return ErrBadBody
		}
	}
	r := store.Resource{ID: in.ID, Kind: in.Kind, Tenant: in.Tenant, Addresses: in.Addresses, Host: in.Host, Site: in.Site, Project: in.Project}
	if err := s.svc.st.PutResource(ctx, r); err != nil {
		return err
	}
	if err := s.svc.refreshAddrs(ctx); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, in)
}

func (s *Server) listResources(c echo.Context) error {
	out, err := s.svc.wireResources(c.Request().Context(), c.QueryParam("tenant"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// wireResources lists a tenant's resources, or with tenant "" those of the
// platform and every tenant (API and console).
func (svc *service) wireResources(ctx context.Context, tenant string) ([]spec.Resource, error) {
	tenants := []string{tenant}
	if tenant == "" {
		ts, err := svc.st.ListTenants(ctx)
		if err != nil {
			return nil, err
		}
		tenants = []string{spec.TenantPlatform}
		for _, t := range ts {
			tenants = append(tenants, t.ID)
		}
	}
	out := []spec.Resource{}
	for _, t := range tenants {
		rs, err := svc.st.ListResources(ctx, t)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			out = append(out, spec.Resource{ID: r.ID, Kind: r.Kind, Tenant: r.Tenant, Addresses: r.Addresses, Host: r.Host, Site: r.Site, Project: r.Project})
		}
	}
	return out, nil
}

func (s *Server) deleteResource(c echo.Context) error {
	ctx := c.Request().Context()
	if err := s.svc.st.DeleteResource(ctx, c.Param("id")); err != nil {
		return err
	}
	if err := s.svc.refreshAddrs(ctx); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// postCatalogue is POST /v1/admin/catalogues: upload a catalogue (YAML or
// JSON, spec/catalog.md); it is validated and stored as the next version,
// not yet published.
func (s *Server) postCatalogue(c echo.Context) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	next, err := s.svc.addCatalogue(c.Request().Context(), body)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, spec.CatalogVersions{Versions: []uint64{next}})
}

// addCatalogue validates a catalogue (YAML or JSON) and stores it as the
// next version (API and console).
func (svc *service) addCatalogue(ctx context.Context, body []byte) (uint64, error) {
	cat, err := matcher.ParseCatalog(body)
	if err != nil {
		return 0, err
	}
	data, err := cat.JSON()
	if err != nil {
		return 0, err
	}
	return svc.storeCatalogue(ctx, data)
}

// storeCatalogue stores a catalogue's JSON as the next version.
func (svc *service) storeCatalogue(ctx context.Context, data []byte) (uint64, error) {
	vs, err := svc.st.ListCatalogues(ctx)
	if err != nil {
		return 0, err
	}
	next := uint64(1)
	for _, v := range vs {
		next = max(next, v+1)
	}
	if err := svc.st.PutCatalogue(ctx, next, data); err != nil {
		return 0, err
	}
	return next, nil
}

func (s *Server) listCatalogues(c echo.Context) error {
	out, err := s.svc.catalogueVersions(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// catalogueVersions lists the stored versions and the published one.
func (svc *service) catalogueVersions(ctx context.Context) (spec.CatalogVersions, error) {
	vs, err := svc.st.ListCatalogues(ctx)
	if err != nil {
		return spec.CatalogVersions{}, err
	}
	out := spec.CatalogVersions{Versions: vs}
	if out.Versions == nil {
		out.Versions = []uint64{}
	}
	if v, _, err := svc.st.Published(ctx); err == nil {
		out.Published = v
	} else if !errors.Is(err, store.ErrNotFound) {
		return spec.CatalogVersions{}, err
	}
	return out, nil
}

func versionParam(c echo.Context) (uint64, error) {
	v, err := strconv.ParseUint(c.Param("version"), 10, 64)
	if err != nil {
		return 0, ErrBadParam
	}
	return v, nil
}

func (s *Server) getCatalogue(c echo.Context) error {
	v, err := versionParam(c)
	if err != nil {
		return err
	}
	data, err := s.svc.st.GetCatalogue(c.Request().Context(), v)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, data)
}

// publishCatalogue is POST /v1/admin/catalogues/{version}/publish: the
// pipeline switches to it.
func (s *Server) publishCatalogue(c echo.Context) error {
	v, err := versionParam(c)
	if err != nil {
		return err
	}
	if err := s.svc.publish(c.Request().Context(), v); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// publish makes a stored version the published one; every pipeline
// switches to it (API and console).
func (svc *service) publish(ctx context.Context, v uint64) error {
	if err := svc.st.Publish(ctx, v); err != nil {
		return err
	}
	for _, p := range svc.allPipes() {
		p.reload()
	}
	return nil
}

// getStreamLogs is GET /v1/admin/streams/{stream}/logs: search the platform
// logs, the quarantine or the anomalies (operators only).
func (s *Server) getStreamLogs(c echo.Context) error {
	st := c.Param("stream")
	if !spec.Reserved(st) {
		return ErrUnknownStream
	}
	return s.searchStream(c, st)
}

// getAnomalies is GET /v1/admin/anomalies: the matcher's anomalies, one
// JSON detection per record line.
func (s *Server) getAnomalies(c echo.Context) error { return s.searchStream(c, spec.TenantAnomalies) }

// postRotate is POST /v1/admin/keys/rotate: make sure the keys of the
// current (and, within the overlap, next) period exist; report the periods.
func (s *Server) postRotate(c echo.Context) error {
	ctx := c.Request().Context()
	now := s.svc.now()
	changed, err := s.svc.keys.rotate(ctx, now)
	if err != nil {
		return err
	}
	kr, _ := s.svc.keys.get()
	raw, err := kr.Directory(now)
	if err != nil {
		return err
	}
	dir, err := crypto.ParseDirectory(raw, kr.BoardPublicKey())
	if err != nil {
		return err
	}
	out := spec.KeyRotation{Changed: changed, Periods: []uint64{}}
	for _, k := range dir.Keys {
		out.Periods = append(out.Periods, k.Period)
	}
	return c.JSON(http.StatusOK, out)
}

// getAudit is GET /v1/admin/access?tenant=ID: the access audit of a tenant
// or stream.
func (s *Server) getAudit(c echo.Context) error {
	t := c.QueryParam("tenant")
	if t == "" {
		return ErrBadParam
	}
	return s.accessReport(c, t)
}

// maxLearnLines bounds how many stored lines one learn request reads.
const maxLearnLines = 5_000_000

// postLearn is POST /v1/admin/catalogues/learn?from=&to=: learn a proposed
// catalogue from the stored platform logs of a time range and store it as
// the next version (not published; the operator names its patterns,
// uploads the edit and publishes). The read is audited.
func (s *Server) postLearn(c echo.Context) error {
	from, err := timeParam(c, "from")
	if err != nil {
		return err
	}
	to, err := timeParam(c, "to")
	if err != nil {
		return err
	}
	out, err := s.learn(c.Request().Context(), from, to, c.Request().URL.RawQuery)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, out)
}

// learn proposes a catalogue from the stored platform logs of [from, to),
// records the read in the access audit (with query, the request's text)
// and stores the proposal as the next version (API and console).
func (s *Server) learn(ctx context.Context, from, to time.Time, query string) (spec.Learned, error) {
	l := matcher.NewLearner(matcher.LearnOptions{})
	var p matcher.Parser
	q := store.Query{From: from, To: to, Limit: store.MaxLimit}
	n := 0
	for n < maxLearnLines {
		page, err := s.svc.st.Query(ctx, spec.TenantPlatform, q)
		if err != nil {
			return spec.Learned{}, err
		}
		for _, r := range page.Records {
			mr, _ := p.ParseOrRaw([]byte(r.Line))
			if mr.Time.IsZero() {
				mr.Time = r.Time
			}
			l.Add(&mr)
			n++
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	if err := s.audit(ctx, spec.TenantPlatform, "learn", query, n); err != nil {
		return spec.Learned{}, err
	}
	cat := l.Catalog()
	data, err := cat.JSON()
	if err != nil {
		return spec.Learned{}, err
	}
	next, err := s.svc.storeCatalogue(ctx, data)
	if err != nil {
		return spec.Learned{}, err
	}
	return spec.Learned{Version: next, Lines: n, Patterns: len(cat.Patterns), Background: len(cat.Background)}, nil
}
