package server

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hisoka-project/hisoka/spec"
	"github.com/hisoka-project/hisoka/store"
)

const (
	// maxSources bounds the source table; beyond it new sources are not
	// tracked until old ones are forgotten.
	maxSources = 100_000
	// silentMin is the least silence that makes a steady source silent.
	silentMin = 5 * time.Minute
	// maxReportLines bounds how many stored lines one report reads.
	maxReportLines = 2_000_000
)

// sources tracks, per stream and sending host, how much it logs and when
// it was last heard, for source health and silent-source reports. It is
// in memory: a restart starts it afresh.
type sources struct {
	mu sync.Mutex
	m  map[[2]string]*sourceStat
}

type sourceStat struct {
	lines       uint64
	first, last time.Time
}

func newSources() *sources { return &sources{m: map[[2]string]*sourceStat{}} }

func (s *sources) note(stream string, recs []store.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range recs {
		src := recs[i].Host
		if src == "" {
			src = recs[i].Source
		}
		k := [2]string{stream, src}
		st, ok := s.m[k]
		if !ok {
			if len(s.m) >= maxSources {
				continue
			}
			st = &sourceStat{first: recs[i].Received}
			s.m[k] = st
		}
		st.lines++
		st.last = recs[i].Received
	}
}

// health lists the sources of stream ("" for every stream).
func (s *sources) health(stream string, now time.Time) []spec.SourceHealth {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []spec.SourceHealth
	for k, st := range s.m {
		if stream != "" && k[0] != stream {
			continue
		}
		h := spec.SourceHealth{Stream: k[0], Source: k[1], Lines: st.lines, First: st.first, Last: st.last}
		if span := st.last.Sub(st.first); span > 0 {
			h.PerMinute = float64(st.lines) / span.Minutes()
			if st.lines >= 10 {
				mean := span / time.Duration(st.lines-1)
				h.Silent = now.Sub(st.last) > max(silentMin, 10*mean)
			}
		}
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Stream != out[j].Stream {
			return out[i].Stream < out[j].Stream
		}
		return out[i].Source < out[j].Source
	})
	return out
}

// hitsName is the counter of one tenant's detections of one pattern or
// rule on one day.
func hitsName(day time.Time, id string) string {
	return "hits-" + day.UTC().Format("20060102") + "-" + id
}

// countHits adds published detections to the tenant's daily hit counters.
func (svc *service) countHits(ctx context.Context, tenant string, ids []string, at time.Time) error {
	for _, id := range ids {
		if _, err := svc.st.AddCounter(ctx, tenant, hitsName(at, id), 1); err != nil {
			return err
		}
	}
	return nil
}

// report builds a tenant's summary of [from, to).
func (svc *service) report(ctx context.Context, tenant string, from, to time.Time) (spec.Report, error) {
	t, err := svc.st.GetTenant(ctx, tenant)
	if err != nil {
		return spec.Report{}, err
	}
	rep := spec.Report{Tenant: tenant, From: from, To: to, Generated: svc.now().UTC(), Sources: map[string]map[string]uint64{}, RuleHits: map[string]int64{}}
	if t.Retention > 0 {
		rep.Retention = t.Retention.String()
	}
	if u, err := svc.st.Usage(ctx, tenant); err == nil {
		rep.Records, rep.Bytes, rep.FirstSeq, rep.LastSeq = u.Records, u.Bytes, u.First, u.Last
	} else if !errors.Is(err, store.ErrNotFound) {
		return rep, err
	}
	q := store.Query{From: from, To: to, Limit: store.MaxLimit}
	for rep.Lines < maxReportLines {
		page, err := svc.st.Query(ctx, tenant, q)
		if err != nil {
			return rep, err
		}
		for _, r := range page.Records {
			src := r.Host
			if src == "" {
				src = r.Source
			}
			m := rep.Sources[src]
			if m == nil {
				m = map[string]uint64{}
				rep.Sources[src] = m
			}
			m[strconv.Itoa(int(r.Severity))]++
			rep.Lines++
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	rep.Truncated = rep.Lines >= maxReportLines
	if v, data, err := svc.st.Published(ctx); err == nil {
		_ = v
		var ids []string
		if cat, err := parseCatalogIDs(data); err == nil {
			ids = cat
		}
		for day := from.UTC().Truncate(24 * time.Hour); day.Before(to); day = day.Add(24 * time.Hour) {
			for _, id := range ids {
				n, err := svc.st.AddCounter(ctx, tenant, hitsName(day, id), 0)
				if err != nil {
					return rep, err
				}
				if n > 0 {
					rep.RuleHits[id] += n
				}
			}
		}
	}
	for _, h := range svc.sources.health(tenant, svc.now()) {
		if h.Silent {
			rep.Silent = append(rep.Silent, h.Source)
		}
	}
	return rep, nil
}

func parseCatalogIDs(data []byte) ([]string, error) {
	var c struct {
		Patterns []struct{ ID string } `json:"patterns"`
		Rules    []struct{ ID string } `json:"rules"`
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, err
	}
	var ids []string
	for _, p := range c.Patterns {
		ids = append(ids, p.ID)
	}
	for _, r := range c.Rules {
		ids = append(ids, r.ID)
	}
	return ids, nil
}

// reportRange reads ?from=&to= (default: the last 24 hours, at most 31 days).
func (s *Server) reportRange(c echo.Context) (time.Time, time.Time, error) {
	from, err := timeParam(c, "from")
	if err != nil {
		return from, from, err
	}
	to, err := timeParam(c, "to")
	if err != nil {
		return from, to, err
	}
	if to.IsZero() {
		to = s.svc.now()
	}
	if from.IsZero() {
		from = to.Add(-24 * time.Hour)
	}
	if !from.Before(to) || to.Sub(from) > 31*24*time.Hour {
		return from, to, ErrBadParam
	}
	return from, to, nil
}

// getReport is GET /v1/tenants/{tenant}/report and
// GET /v1/admin/tenants/{tenant}/report: the tenant's summary, computed now
// (audited as a read of the tenant's logs). With ?scheduled=true, the last
// daily report instead.
func (s *Server) getReport(c echo.Context) error {
	ctx := c.Request().Context()
	tenant := c.Param("tenant")
	if spec.Reserved(tenant) {
		return ErrReservedID
	}
	if c.QueryParam("scheduled") == "true" {
		blob, err := s.svc.st.GetState(ctx, reportState(tenant))
		if err != nil {
			return err
		}
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, blob)
	}
	from, to, err := s.reportRange(c)
	if err != nil {
		return err
	}
	rep, err := s.svc.report(ctx, tenant, from, to)
	if err != nil {
		return err
	}
	if err := s.audit(ctx, tenant, "report", c.Request().URL.RawQuery, int(rep.Lines)); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rep)
}

func reportState(tenant string) string { return "report/" + hex.EncodeToString([]byte(tenant)) }

// dailyReports stores every tenant's report of the previous day once a day
// (checked by housekeeping). A tenant whose report fails is logged and
// skipped (tried again at the next check); the others still get theirs.
func (svc *service) dailyReports(ctx context.Context, now time.Time) error {
	day := now.UTC().Truncate(24 * time.Hour)
	ts, err := svc.st.ListTenants(ctx)
	if err != nil {
		return err
	}
	failed := 0
	for _, t := range ts {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := svc.dailyReport(ctx, t.ID, day, now); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failed++
			svc.s.log.Error("daily report failed", "tenant", t.ID, "err", err)
		}
	}
	if failed > 0 {
		return fmt.Errorf("server: daily report failed for %d of %d tenants", failed, len(ts))
	}
	return nil
}

// dailyReport stores tenant's report of the day before day unless stored.
func (svc *service) dailyReport(ctx context.Context, tenant string, day, now time.Time) error {
	name := reportState(tenant)
	if blob, err := svc.st.GetState(ctx, name); err == nil {
		var old spec.Report
		if json.Unmarshal(blob, &old) == nil && !old.To.Before(day) {
			return nil
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	rep, err := svc.report(ctx, tenant, day.Add(-24*time.Hour), day)
	if err != nil {
		return err
	}
	blob, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	if err := svc.st.PutState(ctx, name, blob); err != nil {
		return err
	}
	return svc.st.AppendAccess(ctx, store.Access{Who: "service:daily-report", When: now, Tenant: tenant, Action: "report", Query: "scheduled", Count: int64(rep.Lines)})
}

// getSources is GET /v1/admin/sources?stream=: per stream and sending
// host, lines, rate and whether it has gone silent.
func (s *Server) getSources(c echo.Context) error {
	out := s.svc.sources.health(strings.TrimSpace(c.QueryParam("stream")), s.svc.now())
	if out == nil {
		out = []spec.SourceHealth{}
	}
	return c.JSON(http.StatusOK, out)
}
