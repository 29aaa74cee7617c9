package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/hisoka-project/hisoka/matcher"
	"github.com/hisoka-project/hisoka/server/internal/auth"
	"github.com/hisoka-project/hisoka/server/internal/console"
	"github.com/hisoka-project/hisoka/spec"
	"github.com/hisoka-project/hisoka/store"
)

// consoleSource gives the operator console (package console, at /ui) what
// the admin API gives operators, through the same code.
type consoleSource struct{ s *Server }

var _ console.Source = consoleSource{}

func newConsole(s *Server) (*console.Console, error) {
	return console.New(console.Config{Source: consoleSource{s}, Logger: s.log, Status: s.errors.Status, Rand: s.svc.rnd, Now: s.svc.now, Origin: s.cfg.Console.Origin})
}

// SignIn verifies token as auth.Middleware does and accepts operators only.
func (cs consoleSource) SignIn(ctx context.Context, token string) (console.Operator, error) {
	p, err := cs.s.verifier.Verify(ctx, token)
	if err != nil {
		return console.Operator{}, err
	}
	if p.Role != auth.RoleOperator {
		return console.Operator{}, fmt.Errorf("%w: %w", console.ErrNotOperator, auth.ErrForbidden)
	}
	return console.Operator{TokenID: p.TokenID, Expires: p.ExpiresAt}, nil
}

// operator puts the console's operator into ctx as the API's principal, so
// the access audit names the same caller as for its API requests.
func operator(ctx context.Context) context.Context {
	op, ok := console.OperatorFrom(ctx)
	if !ok {
		return ctx
	}
	return auth.WithPrincipal(ctx, auth.Principal{Role: auth.RoleOperator, TokenID: op.TokenID, ExpiresAt: op.Expires})
}

func (cs consoleSource) Heatmap(ctx context.Context, from, to time.Time, window time.Duration) (console.Heatmap, error) {
	h, err := readHeatmap(ctx, cs.s.svc.st, from, to, window)
	if err != nil {
		return console.Heatmap{}, err
	}
	return console.Heatmap{From: h.From, Window: h.Window, Components: h.Components, Counts: h.Counts, Other: h.Other, Folded: h.Folded}, nil
}

// Detections reads the "detections" stream, newest first. Its records
// name tenants, so a read is recorded in the access audit as the API's
// GET /v1/admin/streams/detections/logs is: one entry for the call, with
// the number of records read, whatever the number of ids.
func (cs consoleSource) Detections(ctx context.Context, from, to time.Time, ids []string, limit int) ([]spec.DetectionRecord, error) {
	q := store.Query{From: from, To: to, Limit: min(limit, store.MaxLimit), Desc: true}
	text := "console detections " + rangeText(from, to)
	var recs []store.Record
	read := func() error {
		page, err := cs.s.svc.st.Query(ctx, spec.TenantDetections, q)
		recs = append(recs, page.Records...)
		return err
	}
	if len(ids) == 0 {
		if err := read(); err != nil {
			return nil, err
		}
	}
	for _, id := range ids {
		q.Fields = map[string]string{"id": id}
		text += "&id=" + url.QueryEscape(id)
		if err := read(); err != nil {
			return nil, err
		}
	}
	if err := cs.s.audit(operator(ctx), spec.TenantDetections, "query", text, len(recs)); err != nil {
		return nil, err
	}
	out := make([]spec.DetectionRecord, 0, len(recs))
	for _, r := range recs {
		var d spec.DetectionRecord
		if err := json.Unmarshal([]byte(r.Line), &d); err != nil {
			return nil, fmt.Errorf("server: detection record %d: %w", r.Seq, store.ErrCorrupt)
		}
		out = append(out, d)
	}
	return out, nil
}

func rangeText(from, to time.Time) string {
	return url.Values{"from": {from.UTC().Format(time.RFC3339Nano)}, "to": {to.UTC().Format(time.RFC3339Nano)}}.Encode()
}

func (cs consoleSource) Lines(ctx context.Context, from, to time.Time, limit int) ([]spec.LogRecord, error) {
	page, err := cs.s.queryStream(operator(ctx), spec.TenantPlatform, store.Query{From: from, To: to, Limit: min(limit, store.MaxLimit)}, "console window "+rangeText(from, to))
	if err != nil {
		return nil, err
	}
	out := make([]spec.LogRecord, len(page.Records))
	for i, r := range page.Records {
		out[i] = wireRecord(r)
	}
	return out, nil
}

func (cs consoleSource) Anomalies(ctx context.Context, from, to time.Time, detection string, limit int) ([]matcher.Detection, error) {
	q := store.Query{From: from, To: to, Limit: min(limit, store.MaxLimit), Desc: true}
	text := "console anomalies " + rangeText(from, to)
	if detection != "" {
		q.Fields = map[string]string{detectionField: detection}
		text += "&" + detectionField + "=" + url.QueryEscape(detection)
	}
	page, err := cs.s.queryStream(operator(ctx), spec.TenantAnomalies, q, text)
	if err != nil {
		return nil, err
	}
	out := make([]matcher.Detection, 0, len(page.Records))
	for _, r := range page.Records {
		var d matcher.Detection
		if err := json.Unmarshal([]byte(r.Line), &d); err != nil {
			return nil, fmt.Errorf("server: anomaly record %d: %w", r.Seq, store.ErrCorrupt)
		}
		out = append(out, d)
	}
	return out, nil
}

func (cs consoleSource) Sources(context.Context) ([]spec.SourceHealth, error) {
	return cs.s.svc.sources.health("", cs.s.svc.now()), nil
}

func (cs consoleSource) Tenants(ctx context.Context) ([]spec.Tenant, error) {
	return cs.s.svc.wireTenants(ctx)
}

func (cs consoleSource) Resources(ctx context.Context) ([]spec.Resource, error) {
	return cs.s.svc.wireResources(ctx, "")
}

func (cs consoleSource) Catalogues(ctx context.Context) (spec.CatalogVersions, error) {
	return cs.s.svc.catalogueVersions(ctx)
}

func (cs consoleSource) Catalogue(ctx context.Context, version uint64) ([]byte, error) {
	return cs.s.svc.st.GetCatalogue(ctx, version)
}

func (cs consoleSource) Learn(ctx context.Context, from, to time.Time) (spec.Learned, error) {
	return cs.s.learn(operator(ctx), from, to, "console "+rangeText(from, to))
}

func (cs consoleSource) Upload(ctx context.Context, data []byte) (uint64, error) {
	return cs.s.svc.addCatalogue(ctx, data)
}

func (cs consoleSource) Publish(ctx context.Context, version uint64) error {
	return cs.s.svc.publish(ctx, version)
}
