package server

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/hisoka-project/hisoka/matcher"
	"github.com/hisoka-project/hisoka/server/internal/auth"
	"github.com/hisoka-project/hisoka/server/internal/ingest"
	"github.com/hisoka-project/hisoka/server/internal/limit"
	"github.com/hisoka-project/hisoka/server/internal/loki"
	"github.com/hisoka-project/hisoka/spec"
	"github.com/hisoka-project/hisoka/store"
)

// levelSeverity maps log levels (oslo names, syslog severities as the
// parser names them) to syslog severities.
var levelSeverity = map[string]uint8{
	"EMERG": 0, "ALERT": 1, "CRITICAL": 2, "FATAL": 2, "ERROR": 3, "WARNING": 4, "WARN": 4,
	"NOTICE": 5, "AUDIT": 5, "INFO": 6, "DEBUG": 7, "TRACE": 7,
}

// toStore turns a received line into a stored record: the parser pulls
// out time, host, program, severity and the OpenStack ids as searchable
// fields; fallback (whose Reference is the receive time) places year-less
// stamps that p cannot. Lines are cut to the store's line bound (marked, never dropped).
func toStore(p, fallback *matcher.Parser, r *ingest.Record, received time.Time, maxLine int) store.Record {
	line := r.Line
	orig := r.OriginalLen
	truncated := r.Truncated
	if maxLine > store.MaxLineLen {
		maxLine = store.MaxLineLen
	}
	if len(line) > maxLine {
		if !truncated {
			orig = len(line)
		}
		cut := maxLine
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		line, truncated = line[:cut], true
	}
	mr, _ := p.ParseOrRaw([]byte(line))
	if !mr.Time.IsZero() && mr.Time.Year() <= 1970 { // a year-less stamp with no dated line before it
		mr, _ = fallback.ParseOrRaw([]byte(line))
	}
	rec := store.Record{Time: r.Time, Received: received, Severity: 6, Source: clipField(r.Source), Line: line}
	if rec.Time.IsZero() {
		rec.Time = mr.Time
	}
	if rec.Time.IsZero() {
		rec.Time = received
	}
	rec.Host = clipField(string(mr.Host))
	if rec.Host == "" {
		rec.Host = rec.Source
	}
	rec.App = clipField(string(mr.Component))
	if s, ok := levelSeverity[string(mr.Level)]; ok {
		rec.Severity = s
	}
	fields := map[string]string{}
	for _, f := range []struct {
		k string
		v []byte
	}{{"request_id", mr.RequestID}, {"user", mr.UserID}, {"project", mr.ProjectID}, {"instance", mr.Instance}, {"volume", mr.Volume}, {"addr", mr.Addr}} {
		if len(f.v) > 0 {
			fields[f.k] = clipField(string(f.v))
		}
	}
	for k, v := range r.Labels {
		if len(fields) >= store.MaxFields-1 {
			break
		}
		if k != "" && len(k) <= store.MaxFieldLen {
			fields["label."+clipField(k)] = clipField(v)
		}
	}
	if truncated {
		fields["truncated_from"] = strconv.Itoa(orig)
	}
	if len(fields) > 0 {
		rec.Fields = fields
	}
	if !utf8.ValidString(rec.Line) {
		rec.Line = string([]rune(rec.Line)) // replaces invalid bytes
		if len(rec.Line) > store.MaxLineLen {
			rec.Line = rec.Line[:store.MaxLineLen]
		}
	}
	return rec
}

func clipField(s string) string {
	if len(s) > store.MaxFieldLen-16 {
		s = s[:store.MaxFieldLen-16]
	}
	if !utf8.ValidString(s) {
		s = string([]rune(s))
		if len(s) > store.MaxFieldLen-16 {
			s = s[:store.MaxFieldLen-16]
		}
	}
	return s
}

// appendLines makes lines durable in tenant's stream and returns the seq
// range; the caller acknowledges only after it returns.
func (svc *service) appendLines(ctx context.Context, transport, tenant string, lines []ingest.Record) (uint64, uint64, error) {
	if len(lines) == 0 {
		return 0, 0, nil
	}
	now := svc.now()
	// Year-less syslog stamps take their year from the dated lines before
	// them in the same request; with none, from the receive time.
	var p matcher.Parser
	fallback := matcher.Parser{Reference: now}
	recs := make([]store.Record, len(lines))
	bytes := 0
	truncated := 0
	for i := range lines {
		recs[i] = toStore(&p, &fallback, &lines[i], now, int(svc.s.cfg.Limits.MaxLineBytes))
		bytes += len(recs[i].Line)
		if _, ok := recs[i].Fields["truncated_from"]; ok {
			truncated++
		}
	}
	if err := svc.checkQuota(ctx, tenant, bytes); err != nil {
		return 0, 0, err
	}
	start := time.Now()
	first, last, err := svc.commits.get(tenant).append(ctx, svc.st, tenant, recs)
	if err != nil {
		return 0, 0, err
	}
	svc.sources.note(tenant, recs)
	m := svc.s.metrics
	m.ObserveStore("append", start)
	m.IngestLines.WithLabelValues(transport, streamKind(tenant)).Add(float64(len(recs)))
	m.IngestBytes.WithLabelValues(transport).Add(float64(bytes))
	if truncated > 0 {
		m.LinesTruncated.WithLabelValues(transport).Add(float64(truncated))
	}
	pipe, err := svc.pipeFor(ctx, tenant)
	if err != nil {
		return 0, 0, err
	}
	if pipe != nil {
		pipe.offer(first, recs)
		pipe.noteAppended(last)
	}
	return first, last, nil
}

// ErrQuotaExceeded is returned when a tenant's stored logs would exceed its
// storage quota (HTTP 413; the syslog sink waits instead).
var ErrQuotaExceeded = errors.New("server: tenant storage quota exceeded")

// checkQuota refuses lines that would take a tenant past its quota (the
// lines' raw bytes against the store's canonical bytes: an estimate that
// errs on the tenant's side by the per-record overhead).
func (svc *service) checkQuota(ctx context.Context, tenant string, n int) error {
	q := (*svc.quotas.Load())[tenant]
	if q == 0 {
		return nil
	}
	u, err := svc.st.Usage(ctx, tenant)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if u.Bytes+uint64(n) > q {
		return ErrQuotaExceeded
	}
	return nil
}

func streamKind(tenant string) string {
	switch tenant {
	case spec.TenantPlatform:
		return "platform"
	case spec.TenantQuarantine:
		return "quarantine"
	}
	return "tenant"
}

// ingestStream is where an ingest caller's lines go: its tenant, or the
// platform stream for a platform-ingest token.
func ingestStream(p auth.Principal) string {
	if p.IsPlatformIngest() {
		return spec.TenantPlatform
	}
	return p.Tenant
}

// admit charges the tenant's line rate and refuses while the stream's
// pipeline lags (429 with Retry-After instead of growing memory).
func (s *Server) admit(p auth.Principal, stream string, n int) error {
	if err := s.refuseEarly(stream); err != nil {
		return err
	}
	if err := s.TakeLines(p.Tenant, n); err != nil {
		return err
	}
	if s.svc.lagging(stream) {
		return &limit.RetryError{After: time.Second}
	}
	return nil
}

// refuseEarly refuses, before an HTTP body is read and decoded, what admit
// would refuse anyway whatever the body holds: lines for a tenant no
// longer registered, and any while the stream's pipeline lags. Under
// overload a refusal then costs next to nothing.
func (s *Server) refuseEarly(stream string) error {
	if stream != spec.TenantPlatform && !s.svc.registered(stream) {
		return auth.ErrForbidden // an ingest token of a tenant no longer registered
	}
	if s.svc.lagging(stream) {
		return &limit.RetryError{After: time.Second}
	}
	return nil
}

func (s *Server) lineLimits() ingest.Limits {
	return ingest.Limits{MaxLineBytes: int(s.cfg.Limits.MaxLineBytes), MaxRecords: s.cfg.Limits.MaxRecordsPerRequest}
}

// postIngest is POST /v1/ingest: NDJSON records (application/x-ndjson or
// application/json) or raw lines (text/plain, ?format=).
func (s *Server) postIngest(c echo.Context) error {
	ctx := c.Request().Context()
	p, _ := auth.FromContext(ctx)
	stream := ingestStream(p)
	if err := s.refuseEarly(stream); err != nil {
		s.metrics.IngestRejected.WithLabelValues(metricsTransportHTTP, "rate_limited").Inc()
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	body, err = ingest.Decompress(c.Request().Header.Get("Content-Encoding"), body, int(s.cfg.Limits.MaxDecodedBytes))
	if err != nil {
		return err
	}
	format, err := ingest.ParseFormat(c.QueryParam("format"))
	if err != nil {
		return err
	}
	mt, _, _ := mime.ParseMediaType(c.Request().Header.Get("Content-Type"))
	var recs []ingest.Record
	switch mt {
	case "application/x-ndjson", "application/json", "application/jsonl":
		recs, err = ingest.DecodeNDJSON(body, format, s.lineLimits())
	case "text/plain", "":
		recs, err = ingest.SplitLines(body, format, s.lineLimits())
	default:
		return loki.ErrUnsupportedContentType
	}
	if err != nil {
		return err
	}
	return s.acceptHTTP(c, p, stream, metricsTransportHTTP, recs)
}

const metricsTransportHTTP, metricsTransportLoki = "http", "loki"

// postLoki is POST /loki/api/v1/push (snappy protobuf or JSON).
func (s *Server) postLoki(c echo.Context) error {
	ctx := c.Request().Context()
	p, _ := auth.FromContext(ctx)
	if err := s.refuseEarly(ingestStream(p)); err != nil {
		s.metrics.IngestRejected.WithLabelValues(metricsTransportLoki, "rate_limited").Inc()
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	h := c.Request().Header
	recs, err := loki.Decode(h.Get("Content-Type"), h.Get("Content-Encoding"), body,
		loki.Limits{Limits: s.lineLimits(), MaxDecodedBytes: int(s.cfg.Limits.MaxDecodedBytes)})
	if err != nil {
		return err
	}
	if err := s.acceptHTTP(c, p, ingestStream(p), metricsTransportLoki, recs); err != nil {
		return err
	}
	return nil
}

func (s *Server) acceptHTTP(c echo.Context, p auth.Principal, stream, transport string, recs []ingest.Record) error {
	if err := s.admit(p, stream, len(recs)); err != nil {
		s.metrics.IngestRejected.WithLabelValues(transport, "rate_limited").Inc()
		return err
	}
	first, last, err := s.svc.appendLines(c.Request().Context(), transport, stream, recs)
	if err != nil {
		return err
	}
	res := spec.IngestResult{Accepted: len(recs), Stream: streamKind(stream), First: first, Last: last}
	for i := range recs {
		if recs[i].Truncated {
			res.Truncated++
		}
	}
	if transport == metricsTransportLoki {
		return c.NoContent(http.StatusNoContent) // what Loki answers
	}
	return c.JSON(http.StatusOK, res)
}
