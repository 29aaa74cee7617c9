package console

import (
	"context"
	"errors"
	"time"

	"github.com/hisoka-project/hisoka/matcher"
	"github.com/hisoka-project/hisoka/spec"
)

// Source is what the console reads and does. The server implements it with
// the same code as its admin API; every read of platform logs through it
// is recorded in the access audit under the [Operator] of the request
// context ([OperatorFrom]).
type Source interface {
	// SignIn checks token exactly as the API checks a bearer token and
	// returns its operator; a token of any other role fails with
	// [ErrNotOperator], a bad token with any other error.
	SignIn(ctx context.Context, token string) (Operator, error)
	// Heatmap counts the platform's lines per component per window over
	// [from, to).
	Heatmap(ctx context.Context, from, to time.Time, window time.Duration) (Heatmap, error)
	// Detections lists platform detections (the "detections" stream)
	// starting in [from, to), newest first: at most limit of all, or, when
	// ids are given, at most limit of each of those patterns or rules
	// (listed id after id). One call is one entry of the access audit.
	Detections(ctx context.Context, from, to time.Time, ids []string, limit int) ([]spec.DetectionRecord, error)
	// Lines returns the platform's lines of [from, to), oldest first, at
	// most limit (audited).
	Lines(ctx context.Context, from, to time.Time, limit int) ([]spec.LogRecord, error)
	// Anomalies lists residual anomalies starting in [from, to), newest
	// first, at most limit; detection, when set, keeps that one (audited).
	Anomalies(ctx context.Context, from, to time.Time, detection string, limit int) ([]matcher.Detection, error)
	// Sources is the source health of GET /v1/admin/sources.
	Sources(ctx context.Context) ([]spec.SourceHealth, error)
	Tenants(ctx context.Context) ([]spec.Tenant, error)
	Resources(ctx context.Context) ([]spec.Resource, error)
	// Catalogues lists the stored catalogue versions and the published one.
	Catalogues(ctx context.Context) (spec.CatalogVersions, error)
	// Catalogue returns a stored version (its JSON).
	Catalogue(ctx context.Context, version uint64) ([]byte, error)
	// Learn proposes a catalogue from the platform's logs of [from, to)
	// and stores it as the next version, unpublished (audited).
	Learn(ctx context.Context, from, to time.Time) (spec.Learned, error)
	// Upload validates a catalogue (YAML or JSON) and stores it as the
	// next version.
	Upload(ctx context.Context, data []byte) (uint64, error)
	// Publish makes a stored version the one the pipelines run.
	Publish(ctx context.Context, version uint64) error
}

// ErrNotOperator is what [Source.SignIn] returns for a valid token that is
// not an operator's.
var ErrNotOperator = errors.New("console: not an operator token")

// Operator is a signed-in operator: the token's id (the name the access
// audit records) and when the token expires.
type Operator struct {
	TokenID string
	Expires time.Time
}

// Heatmap is the platform's lines per component per window: Counts[i][w]
// is the count of Components[i] in the window starting at From + w*Window.
// The components are a bounded number of the largest; Other, when not nil,
// sums the lines of the rest: Folded more components (and, possibly, lines
// counted without their component's name).
type Heatmap struct {
	From       time.Time
	Window     time.Duration
	Components []string
	Counts     [][]int
	Other      []int
	Folded     int
}

type operatorKey struct{}

// WithOperator returns ctx carrying op; the console sets it on every
// request of a session.
func WithOperator(ctx context.Context, op Operator) context.Context {
	return context.WithValue(ctx, operatorKey{}, op)
}

// OperatorFrom returns the operator of a console request's context.
func OperatorFrom(ctx context.Context) (Operator, bool) {
	op, ok := ctx.Value(operatorKey{}).(Operator)
	return op, ok
}
