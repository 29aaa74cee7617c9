package server

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hisoka-project/hisoka/crypto"
	"github.com/hisoka-project/hisoka/matcher"
	"github.com/hisoka-project/hisoka/server/internal/auth"
	"github.com/hisoka-project/hisoka/server/internal/limit"
	"github.com/hisoka-project/hisoka/spec"
	"github.com/hisoka-project/hisoka/store"
)

// Errors of the API's own checks.
var (
	ErrBadParam      = errors.New("server: bad query parameter")
	ErrBadBody       = errors.New("server: bad request body")
	ErrReservedID    = errors.New("server: reserved tenant id")
	ErrNoCatalog     = errors.New("server: no catalogue published")
	ErrUnknownStream = errors.New("server: unknown stream")
)

// maxWait bounds a long poll.
const maxWait = 60 * time.Second

// ownTenant lets a request through only when the tenant token's subject is
// the :tenant of the path (403 otherwise: other tenants and the reserved
// streams are never a tenant's).
func ownTenant(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p, _ := auth.FromContext(c.Request().Context())
		if err := p.CheckTenant(c.Param("tenant")); err != nil {
			return err
		}
		if spec.Reserved(c.Param("tenant")) {
			return auth.ErrForbidden
		}
		return next(c)
	}
}

func principalName(p auth.Principal) string {
	if p.Tenant != "" && p.Role == auth.RoleTenant {
		return "tenant:" + p.Tenant
	}
	return string(p.Role) + ":" + p.TokenID
}

// audit records one read of a tenant's logs.
func (s *Server) audit(ctx context.Context, tenant, action, query string, n int) error {
	p, _ := auth.FromContext(ctx)
	return s.svc.st.AppendAccess(ctx, store.Access{Who: principalName(p), When: s.svc.now(), Tenant: tenant, Action: action, Query: query, Count: int64(n)})
}

// getKeys is GET /v1/keys: the signed key directory (crypto.ParseDirectory).
func (s *Server) getKeys(c echo.Context) error {
	kr, _ := s.svc.keys.get()
	dir, err := kr.Directory(s.svc.now())
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "application/octet-stream", dir)
}

// getCatalog is GET /v1/catalog: ids and names of the published patterns
// and rules.
func (s *Server) getCatalog(c echo.Context) error {
	v, data, err := s.svc.st.Published(c.Request().Context())
	if errors.Is(err, store.ErrNotFound) {
		return ErrNoCatalog
	}
	if err != nil {
		return err
	}
	cat, err := matcher.ParseCatalog(data)
	if err != nil {
		return err
	}
	out := spec.Catalog{Version: v, Entries: []spec.CatalogEntry{}}
	for _, p := range cat.Patterns {
		out.Entries = append(out.Entries, spec.CatalogEntry{ID: p.ID, Kind: "pattern", Name: p.Name, Description: p.Description, Resource: p.Resource, Severity: p.Severity, Compliance: p.Compliance})
	}
	for _, r := range cat.Rules {
		out.Entries = append(out.Entries, spec.CatalogEntry{ID: r.ID, Kind: "rule", Name: r.Name, Description: r.Description, Resource: r.Resource, Severity: r.Severity, Compliance: r.Compliance})
	}
	return c.JSON(http.StatusOK, out)
}

// postEvaluate is POST /v1/subscriptions/evaluate: blind evaluation for
// the authenticated tenant, within its budget per key.
func (s *Server) postEvaluate(c echo.Context) error {
	ctx := c.Request().Context()
	p, _ := auth.FromContext(ctx)
	body, err := readBody(c)
	if err != nil {
		return err
	}
	req, err := crypto.ParseEvaluationRequest(body)
	if err != nil {
		return err
	}
	if err := s.evals.Take("eval/"+p.Tenant, 1); err != nil {
		return err
	}
	n := int64(len(req.Elements))
	kid := hex.EncodeToString(req.KeyID[:])
	budget := crypto.DefaultEvaluationBudget()
	// Two counters per key: the tenant's, and all tenants' together (kept
	// under the reserved platform id); both are refunded on refusal.
	counters := []struct {
		tenant, name string
		allow        func(used, requested uint64) error
	}{
		{p.Tenant, "eval-" + kid, budget.Allow},
		{spec.TenantPlatform, "eval-all-" + kid, budget.AllowAllTenants},
	}
	var charged []int
	refund := func() {
		for _, i := range charged {
			if _, err := s.svc.st.AddCounter(context.WithoutCancel(ctx), counters[i].tenant, counters[i].name, -n); err != nil {
				s.log.ErrorContext(ctx, "budget refund failed", "err", err)
			}
		}
	}
	for i, ct := range counters {
		total, err := s.svc.st.AddCounter(ctx, ct.tenant, ct.name, n)
		if err != nil {
			refund()
			return err
		}
		charged = append(charged, i)
		if err := ct.allow(uint64(total-n), uint64(n)); err != nil {
			refund()
			return err
		}
	}
	kr, _ := s.svc.keys.get()
	resp, err := kr.Evaluate(s.svc.rnd, p.Tenant, s.svc.now(), body)
	if err != nil {
		refund()
		return err
	}
	return c.Blob(http.StatusOK, "application/octet-stream", resp)
}

// getNotifications is GET /v1/tenants/{tenant}/notifications?after=SEQ&wait=DUR:
// the board's batches after SEQ, waiting up to DUR (at most a minute) for
// one to arrive. The wait ends with the request.
func (s *Server) getNotifications(c echo.Context) error {
	ctx := c.Request().Context()
	tenant := c.Param("tenant")
	after, err := uintParam(c, "after")
	if err != nil {
		return err
	}
	wait := time.Duration(0)
	if w := c.QueryParam("wait"); w != "" {
		if wait, err = time.ParseDuration(w); err != nil || wait < 0 {
			return ErrBadParam
		}
		wait = min(wait, maxWait)
	}
	limit := 100
	var timer <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timer = t.C
	}
	for {
		ch := s.svc.boards.wait(tenant)
		bs, err := s.svc.boards.served(ctx, tenant, after, limit)
		if err != nil {
			return err
		}
		if len(bs) > 0 || wait == 0 {
			return c.JSON(http.StatusOK, spec.Notifications{Batches: bs})
		}
		select {
		case <-ch:
		case <-timer:
			return c.JSON(http.StatusOK, spec.Notifications{Batches: []spec.Batch{}})
		case <-s.svc.boards.closing:
			return c.JSON(http.StatusOK, spec.Notifications{Batches: []spec.Batch{}})
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func uintParam(c echo.Context, name string) (uint64, error) {
	v := c.QueryParam(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, ErrBadParam
	}
	return n, nil
}

func timeParam(c echo.Context, name string) (time.Time, error) {
	v := c.QueryParam(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, ErrBadParam
	}
	return t, nil
}

// logQuery reads ?q=terms&field.NAME=VALUE&from=&to=&limit=&cursor=&desc=.
func logQuery(c echo.Context) (store.Query, string, error) {
	var q store.Query
	var err error
	if q.From, err = timeParam(c, "from"); err != nil {
		return q, "", err
	}
	if q.To, err = timeParam(c, "to"); err != nil {
		return q, "", err
	}
	text := c.QueryParam("q")
	if text != "" {
		q.Terms = strings.Fields(text)
	}
	for k, vs := range c.QueryParams() {
		if name, ok := strings.CutPrefix(k, "field."); ok && len(vs) > 0 {
			if q.Fields == nil {
				q.Fields = map[string]string{}
			}
			q.Fields[name] = vs[0]
		}
	}
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			return q, "", ErrBadParam
		}
		q.Limit = min(n, store.MaxLimit)
	}
	q.Cursor = c.QueryParam("cursor")
	q.Desc = c.QueryParam("desc") == "true"
	return q, c.Request().URL.RawQuery, nil
}

func wireRecord(r store.Record) spec.LogRecord {
	return spec.LogRecord{Seq: r.Seq, Time: r.Time, Received: r.Received, Host: r.Host, App: r.App, Severity: r.Severity, Source: r.Source, Fields: r.Fields, Line: r.Line}
}

// searchStream runs a query on one stream and audits it.
func (s *Server) searchStream(c echo.Context, tenant string) error {
	ctx := c.Request().Context()
	q, text, err := logQuery(c)
	if err != nil {
		return err
	}
	page, err := s.queryStream(ctx, tenant, q, text)
	if err != nil {
		return err
	}
	out := spec.LogPage{Records: make([]spec.LogRecord, 0, len(page.Records)), Next: page.Next}
	for _, r := range page.Records {
		out.Records = append(out.Records, wireRecord(r))
	}
	return c.JSON(http.StatusOK, out)
}

// queryStream runs a query on one stream and records it in the access
// audit with text, the query as the caller wrote it (API and console).
func (s *Server) queryStream(ctx context.Context, tenant string, q store.Query, text string) (store.Page, error) {
	page, err := s.svc.st.Query(ctx, tenant, q)
	if err != nil {
		return store.Page{}, err
	}
	if err := s.audit(ctx, tenant, "query", text, len(page.Records)); err != nil {
		return store.Page{}, err
	}
	return page, nil
}

// getLogs is GET /v1/tenants/{tenant}/logs.
func (s *Server) getLogs(c echo.Context) error { return s.searchStream(c, c.Param("tenant")) }

// getExport is GET /v1/tenants/{tenant}/logs/export?from_seq=&to_seq=: every
// record of the range as NDJSON, streamed.
func (s *Server) getExport(c echo.Context) error {
	ctx := c.Request().Context()
	tenant := c.Param("tenant")
	from, err := uintParam(c, "from_seq")
	if err != nil {
		return err
	}
	to, err := uintParam(c, "to_seq")
	if err != nil {
		return err
	}
	if from == 0 {
		from = 1
	}
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, "application/x-ndjson")
	w := bufio.NewWriterSize(res, 64<<10)
	enc := json.NewEncoder(w)
	n := 0
	started := false
	err = s.svc.st.Export(ctx, tenant, from, to, func(r store.Record) error {
		if !started {
			res.WriteHeader(http.StatusOK)
			started = true
		}
		n++
		return enc.Encode(wireRecord(r))
	})
	if aerr := s.audit(context.WithoutCancel(ctx), tenant, "export", c.Request().URL.RawQuery, n); aerr != nil && err == nil {
		err = aerr
	}
	if err != nil && !started {
		return err
	}
	if !started {
		res.WriteHeader(http.StatusOK)
	}
	if err != nil {
		s.log.ErrorContext(ctx, "export stopped", "err", err)
	}
	return w.Flush()
}

// getVerify is GET /v1/tenants/{tenant}/logs/verify?from_seq=&to_seq=: the
// records of the range (at most 10,000; to_seq defaults to the last record
// within that) with a ledger proof (store.VerifyRecords).
func (s *Server) getVerify(c echo.Context) error {
	ctx := c.Request().Context()
	tenant := c.Param("tenant")
	from, err := uintParam(c, "from_seq")
	if err != nil {
		return err
	}
	to, err := uintParam(c, "to_seq")
	if err != nil {
		return err
	}
	if from == 0 || to == 0 {
		// Defaults: from the first retained record, one page at most.
		u, err := s.svc.st.Usage(ctx, tenant)
		if err != nil {
			return err
		}
		if u.Records == 0 || from > u.Last {
			return store.ErrNotFound // nothing stored to verify (from there on)
		}
		if from == 0 {
			from = u.First
		}
		if to == 0 {
			to = min(u.Last, from+store.MaxLimit-1)
		}
	}
	if to < from || to-from >= store.MaxLimit {
		return ErrBadParam
	}
	proof, err := s.svc.st.Prove(ctx, tenant, from, to)
	if err != nil {
		return err
	}
	pb, err := proof.MarshalBinary()
	if err != nil {
		return err
	}
	out := spec.Proof{From: from, To: to, Proof: pb, LedgerKey: []byte(s.svc.ledger)}
	err = s.svc.st.Export(ctx, tenant, from, to, func(r store.Record) error {
		out.Records = append(out.Records, wireRecord(r))
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.audit(ctx, tenant, "verify", c.Request().URL.RawQuery, len(out.Records)); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// RecordFromWire turns an API record back into the stored form, for
// store.VerifyRecords.
func RecordFromWire(r spec.LogRecord) store.Record {
	return store.Record{Seq: r.Seq, Time: r.Time, Received: r.Received, Host: r.Host, App: r.App, Severity: r.Severity, Source: r.Source, Fields: r.Fields, Line: r.Line}
}

// getRetention / putRetention are GET and PUT /v1/tenants/{tenant}/retention.
func (s *Server) getRetention(c echo.Context) error {
	t, err := s.svc.st.GetTenant(c.Request().Context(), c.Param("tenant"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, spec.Retention{Retention: t.Retention.String()})
}

func (s *Server) putRetention(c echo.Context) error {
	ctx := c.Request().Context()
	var r spec.Retention
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	d, err := parseRetention(r.Retention)
	if err != nil {
		return err
	}
	t, err := s.svc.st.GetTenant(ctx, c.Param("tenant"))
	if err != nil {
		return err
	}
	old := t.Retention
	t.Retention = d
	if err := s.svc.st.PutTenant(ctx, t); err != nil {
		return err
	}
	if d != old {
		if err := s.recordRetention(ctx, t.ID, old, d); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, spec.Retention{Retention: d.String()})
}

// recordRetention records a change of tenant's retention in its access log
// (action "retention", query "from -> to"), with the caller as who.
func (s *Server) recordRetention(ctx context.Context, tenant string, from, to time.Duration) error {
	return s.audit(ctx, tenant, "retention", retentionText(from)+" -> "+retentionText(to), 0)
}

// retentionText is a retention for the access log: a duration, or
// "forever".
func retentionText(d time.Duration) string {
	if d <= 0 {
		return "forever"
	}
	return d.String()
}

func parseRetention(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || (d > 0 && d < time.Hour) {
		return 0, ErrBadBody
	}
	return d, nil
}

// getAccess is GET /v1/tenants/{tenant}/access?from=&to=&limit=: who read
// the tenant's logs.
func (s *Server) getAccess(c echo.Context) error {
	return s.accessReport(c, c.Param("tenant"))
}

func (s *Server) accessReport(c echo.Context, tenant string) error {
	from, err := timeParam(c, "from")
	if err != nil {
		return err
	}
	to, err := timeParam(c, "to")
	if err != nil {
		return err
	}
	limit := store.MaxLimit
	if l := c.QueryParam("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil || limit <= 0 {
			return ErrBadParam
		}
		limit = min(limit, store.MaxLimit)
	}
	as, err := s.svc.st.ListAccess(c.Request().Context(), tenant, from, to, limit)
	if err != nil {
		return err
	}
	out := spec.AccessReport{Accesses: make([]spec.Access, 0, len(as))}
	for _, a := range as {
		out.Accesses = append(out.Accesses, spec.Access{Who: a.Who, When: a.When, Tenant: a.Tenant, Action: a.Action, Query: a.Query, Count: a.Count})
	}
	return c.JSON(http.StatusOK, out)
}

func decodeJSON(c echo.Context, v any) error {
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, limit.ErrBodyTooLarge) {
			return err
		}
		return ErrBadBody
	}
	return nil
}
