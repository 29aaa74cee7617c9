package spec

import (
	"log/slog"
	"time"
)

// Reserved tenant ids: streams that belong to the service, not to a
// tenant. Only operators read them; no tenant may be registered under them.
const (
	TenantPlatform   = "platform"    // the platform's own logs
	TenantQuarantine = "quarantine"  // lines that could not be attributed
	TenantAnomalies  = "anomalies"   // the matcher's residual anomalies, one JSON line each
	TenantDeadLetter = "deadletters" // alerts no webhook took, one JSON line each
	TenantDetections = "detections"  // the platform's pattern and rule detections, one [DetectionRecord] each
)

// Reserved reports whether id is a reserved tenant id.
func Reserved(id string) bool {
	switch id {
	case TenantPlatform, TenantQuarantine, TenantAnomalies, TenantDeadLetter, TenantDetections:
		return true
	}
	return false
}

// DetectionRecord is one line of the "detections" stream: a pattern, rule
// or incomplete-pattern detection on the platform's logs, for operators.
// It says what the platform knows (its owner included, when a resource or
// project names one) and never whether the owner subscribed, which the
// platform does not know.
type DetectionRecord struct {
	DetectionID string    `json:"detection_id"`
	Kind        string    `json:"kind"` // "pattern", "incomplete" or "rule"
	ID          string    `json:"id"`   // pattern or rule id
	Reason      string    `json:"reason,omitempty"`
	Resource    string    `json:"resource,omitempty"`
	Owner       string    `json:"owner,omitempty"` // tenant owning the resource or project, if any
	Component   string    `json:"component,omitempty"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Count       int       `json:"count"`
	Severity    int       `json:"severity"`
	Compliance  []string  `json:"compliance,omitempty"`
}

// LogRecord is one stored log line as the API returns it (search results,
// NDJSON export lines).
type LogRecord struct {
	Seq      uint64            `json:"seq"`
	Time     time.Time         `json:"time"`
	Received time.Time         `json:"received"`
	Host     string            `json:"host,omitempty"`
	App      string            `json:"app,omitempty"`
	Severity uint8             `json:"severity"`
	Source   string            `json:"source,omitempty"`
	Fields   map[string]string `json:"fields,omitempty"`
	Line     string            `json:"line"`
}

// LogValue keeps the raw line and fields out of logs.
func (r LogRecord) LogValue() slog.Value {
	return slog.GroupValue(slog.Uint64("seq", r.Seq), slog.Time("time", r.Time))
}

// LogPage is one page of GET .../logs. Next, when set, is the cursor of the
// following page.
type LogPage struct {
	Records []LogRecord `json:"records"`
	Next    string      `json:"next,omitempty"`
}

// IngestResult acknowledges an ingest request once its lines are durable.
type IngestResult struct {
	Accepted  int    `json:"accepted"`
	Truncated int    `json:"truncated,omitempty"`
	Stream    string `json:"stream"` // "platform", "tenant" or "quarantine"
	First     uint64 `json:"first_seq,omitempty"`
	Last      uint64 `json:"last_seq,omitempty"`
}

// Tenant is a registered tenant as operators see and send it.
type Tenant struct {
	ID        string            `json:"id"`
	PublicKey []byte            `json:"public_key"` // Ed25519, base64 in JSON
	Created   time.Time         `json:"created,omitempty"`
	Retention string            `json:"retention,omitempty"`   // Go duration, "0s" keeps forever; "": forever for a new tenant, unchanged on update
	Quota     *uint64           `json:"quota_bytes,omitempty"` // bytes, 0: none; absent: none for a new tenant, unchanged on update
	Settings  map[string]string `json:"settings"`              // "project": the tenant's OpenStack project id; null or absent: unchanged on update, {}: cleared
}

// TenantRegistered answers POST /v1/admin/tenants: the tenant and the keys
// it pins out of band (board key for notifications, ledger key for log
// proofs).
type TenantRegistered struct {
	Tenant         Tenant `json:"tenant"`
	BoardPublicKey []byte `json:"board_public_key"`
	LedgerKey      []byte `json:"ledger_public_key"`
}

// Resource is a cloud resource owned by a tenant.
type Resource struct {
	ID        string   `json:"id"`
	Kind      string   `json:"kind"` // vm, volume, host
	Tenant    string   `json:"tenant"`
	Addresses []string `json:"addresses,omitempty"`
	Host      string   `json:"host,omitempty"`
	Site      string   `json:"site,omitempty"`
	Project   string   `json:"project,omitempty"`
}

// Batch is one board batch as served: Data is the signed wire form that
// crypto.ChainVerifier checks.
type Batch struct {
	Seq  uint64 `json:"seq"`
	Data []byte `json:"data"`
}

// Notifications answers GET .../notifications: the batches after the
// requested sequence number, oldest first (empty when the wait ran out).
type Notifications struct {
	Batches []Batch `json:"batches"`
}

// Retention is a tenant's retention setting; "" or "0s" keeps forever.
type Retention struct {
	Retention string `json:"retention"`
}

// Access is one recorded read of a tenant's logs.
type Access struct {
	Who    string    `json:"who"`
	When   time.Time `json:"when"`
	Tenant string    `json:"tenant"`
	Action string    `json:"action"`
	Query  string    `json:"query,omitempty"`
	Count  int64     `json:"count"`
}

// AccessReport lists accesses, oldest first.
type AccessReport struct {
	Accesses []Access `json:"accesses"`
}

// Proof answers GET .../logs/verify: the records of the range and a ledger
// proof (store/ledger binary encoding) to check with the ledger key.
type Proof struct {
	From      uint64      `json:"from"`
	To        uint64      `json:"to"`
	Records   []LogRecord `json:"records"`
	Proof     []byte      `json:"proof"`
	LedgerKey []byte      `json:"ledger_public_key"`
}

// CatalogEntry is one pattern or rule a tenant may subscribe to.
type CatalogEntry struct {
	ID          string   `json:"id"`
	Kind        string   `json:"kind"` // "pattern" or "rule"
	Name        string   `json:"name,omitempty"`
	Description string   `json:"description,omitempty"`
	Resource    string   `json:"resource,omitempty"`
	Severity    int      `json:"severity"`
	Compliance  []string `json:"compliance,omitempty"`
}

// Catalog is the published catalogue as tenants see it: ids and names, no
// templates (they describe the platform's insides).
type Catalog struct {
	Version uint64         `json:"version"`
	Entries []CatalogEntry `json:"entries"`
}

// CatalogVersions lists stored catalogue versions and the published one.
type CatalogVersions struct {
	Versions  []uint64 `json:"versions"`
	Published uint64   `json:"published,omitempty"`
}

// KeyRotation answers POST /v1/admin/keys/rotate.
type KeyRotation struct {
	Changed bool     `json:"changed"`
	Periods []uint64 `json:"periods"`
}

// Learned answers POST /v1/admin/catalogues/learn: the stored proposal's
// version and what it was learned from.
type Learned struct {
	Version    uint64 `json:"version"`
	Lines      int    `json:"lines"`
	Patterns   int    `json:"patterns"`
	Background int    `json:"background"`
}

// SourceHealth is one sending host of one stream, as GET /v1/admin/sources
// reports it (since the server started).
type SourceHealth struct {
	Stream    string    `json:"stream"`
	Source    string    `json:"source"`
	Lines     uint64    `json:"lines"`
	First     time.Time `json:"first"`
	Last      time.Time `json:"last"`
	PerMinute float64   `json:"per_minute"`
	// Silent: a steady source (10 lines or more) unheard for ten of its
	// mean intervals, and at least 5 minutes.
	Silent bool `json:"silent"`
}

// Report is a tenant's summary of a time range: lines per source and
// severity, rule and pattern hits, silent sources, and retention state.
type Report struct {
	Tenant    string                       `json:"tenant"`
	From      time.Time                    `json:"from"`
	To        time.Time                    `json:"to"`
	Generated time.Time                    `json:"generated"`
	Lines     uint64                       `json:"lines"`
	Truncated bool                         `json:"truncated,omitempty"`
	Sources   map[string]map[string]uint64 `json:"sources"` // source -> syslog severity -> lines
	RuleHits  map[string]int64             `json:"rule_hits"`
	Silent    []string                     `json:"silent_sources,omitempty"`
	Retention string                       `json:"retention,omitempty"`
	Records   uint64                       `json:"records"`
	Bytes     uint64                       `json:"bytes"`
	FirstSeq  uint64                       `json:"first_seq"`
	LastSeq   uint64                       `json:"last_seq"`
}
