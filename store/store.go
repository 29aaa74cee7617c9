package store

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hisoka-project/hisoka/store/ledger"
)

// Errors returned by every backend. Backends wrap them with %w; match with errors.Is.
var (
	ErrNotFound      = errors.New("store: not found")
	ErrInvalidTenant = errors.New("store: invalid tenant id")
	ErrInvalidRecord = errors.New("store: invalid record")
	ErrInvalidArg    = errors.New("store: invalid argument")
	ErrConflict      = errors.New("store: conflict")
	ErrBadCursor     = errors.New("store: bad cursor")
	ErrCorrupt       = errors.New("store: corrupt data")
	ErrClosed        = errors.New("store: closed")
	ErrNoSigner      = errors.New("store: no checkpoint signer configured")
)

// Appender appends a batch of a tenant's records. The store assigns Seq to
// every record (first..last, contiguous) and returns once the batch is durable.
// An empty batch returns (0, 0, nil).
type Appender interface {
	Append(ctx context.Context, tenant string, recs []Record) (first, last uint64, err error)
}

// Reader reads a tenant's records in sequence order, those with Seq > after,
// at most limit of them.
type Reader interface {
	ReadAfter(ctx context.Context, tenant string, after uint64, limit int) ([]Record, error)
}

// Query selects records. Zero From/To leave that end open (From inclusive, To
// exclusive, on the record's event Time). Every term must occur as a word of
// the line (see [Terms]); every field must be equal. Results come in sequence
// order (ascending, or descending with Desc), at most Limit (0 means
// [DefaultLimit], capped at [MaxLimit]). Cursor is the Next of a previous page.
type Query struct {
	From, To time.Time
	Terms    []string
	Fields   map[string]string
	Limit    int
	Desc     bool
	Cursor   string
}

// Query limits.
const (
	DefaultLimit = 100
	MaxLimit     = 10000
)

// Page is one page of query results. Next is empty when there are no more.
type Page struct {
	Records []Record
	Next    string
}

// Searcher runs queries over one tenant's records.
type Searcher interface {
	Query(ctx context.Context, tenant string, q Query) (Page, error)
}

// Exporter streams a tenant's records with from <= Seq <= to (to 0 means up to
// the last one) in sequence order, calling fn for each; an error from fn stops
// the export and is returned.
type Exporter interface {
	Export(ctx context.Context, tenant string, from, to uint64, fn func(Record) error) error
}

// Usage is what a tenant's stored log occupies.
type Usage struct {
	Records  uint64 // records currently retained
	Bytes    uint64 // canonical (uncompressed) bytes of those records
	First    uint64 // first retained Seq (0 if none)
	Last     uint64 // last assigned Seq (0 if none)
	Appended uint64 // records ever appended
}

// Usager reports a tenant's usage.
type Usager interface {
	Usage(ctx context.Context, tenant string) (Usage, error)
}

// Retainer enforces retention. Trim removes, by range, the tenant's records
// appended before the given time (whole appended batches; a batch is kept
// until all of it has expired); what remains stays verifiable. EnforceRetention
// trims every tenant whose [Tenant.Retention] is set, relative to now; the
// server calls it periodically.
type Retainer interface {
	Trim(ctx context.Context, tenant string, before time.Time) (removed uint64, err error)
	EnforceRetention(ctx context.Context, now time.Time) (removed uint64, err error)
}

// Ledger gives the tamper evidence over a tenant's records: signed checkpoints
// (made every N records on append, and by Checkpoint, which the server calls
// every T seconds) and proofs that a range of records is complete and unaltered.
type Ledger interface {
	// Checkpoint signs the tenant's current head if it advanced since the last
	// checkpoint, and returns the latest checkpoint (ErrNotFound if no records).
	Checkpoint(ctx context.Context, tenant string) (ledger.Checkpoint, error)
	// CheckpointAll does Checkpoint for every tenant with records.
	CheckpointAll(ctx context.Context) error
	// Checkpoints lists the tenant's checkpoints with Seq > after, oldest first.
	Checkpoints(ctx context.Context, tenant string, after uint64, limit int) ([]ledger.Checkpoint, error)
	// Prove returns a proof for records from..to (inclusive), checkpointing
	// first if no checkpoint covers to yet.
	Prove(ctx context.Context, tenant string, from, to uint64) (ledger.Proof, error)
}

// Log is everything about a tenant's log records.
type Log interface {
	Appender
	Reader
	Searcher
	Exporter
	Usager
	Retainer
	Ledger
}

// Tenant is a registered tenant.
type Tenant struct {
	ID        string
	PublicKey []byte // Ed25519 public key
	Created   time.Time
	Retention time.Duration // 0: keep forever
	Quota     uint64        // bytes; 0: unlimited (enforced by the server)
	Settings  map[string]string
}

// Tenants stores tenants.
type Tenants interface {
	PutTenant(ctx context.Context, t Tenant) error
	GetTenant(ctx context.Context, id string) (Tenant, error)
	ListTenants(ctx context.Context) ([]Tenant, error)
	DeleteTenant(ctx context.Context, id string) error
}

// Resource kinds.
const (
	KindVM     = "vm"
	KindVolume = "volume"
	KindHost   = "host"
)

// Resource is a cloud resource owned by a tenant.
type Resource struct {
	ID        string
	Kind      string // KindVM, KindVolume or KindHost
	Tenant    string
	Addresses []string
	Host      string
	Site      string
	Project   string
}

// Validate reports whether r can be stored: a valid id and tenant and a known kind.
func (r *Resource) Validate() error {
	if err := ValidName(r.ID); err != nil {
		return err
	}
	if err := ValidTenant(r.Tenant); err != nil {
		return err
	}
	switch r.Kind {
	case KindVM, KindVolume, KindHost:
		return nil
	}
	return fmt.Errorf("%w: resource kind", ErrInvalidArg)
}

// Resources stores resources; ids are unique across tenants.
type Resources interface {
	PutResource(ctx context.Context, r Resource) error
	GetResource(ctx context.Context, id string) (Resource, error)
	ListResources(ctx context.Context, tenant string) ([]Resource, error)
	DeleteResource(ctx context.Context, id string) error
}

// Catalogue stores catalogue versions (opaque bytes) and which one is published.
type Catalogue interface {
	PutCatalogue(ctx context.Context, version uint64, data []byte) error
	GetCatalogue(ctx context.Context, version uint64) ([]byte, error)
	ListCatalogues(ctx context.Context) ([]uint64, error)
	Publish(ctx context.Context, version uint64) error
	// Published returns the published version and its bytes (ErrNotFound if none).
	Published(ctx context.Context) (uint64, []byte, error)
}

// Keys stores opaque named secrets.
type Keys interface {
	PutKey(ctx context.Context, name string, blob []byte) error
	GetKey(ctx context.Context, name string) ([]byte, error)
	DeleteKey(ctx context.Context, name string) error
}

// Counters are per-tenant per-period counters (evaluation budgets).
type Counters interface {
	// AddCounter adds delta atomically and returns the new total.
	AddCounter(ctx context.Context, tenant, period string, delta int64) (int64, error)
}

// BoardBatch is one batch on a tenant's board.
type BoardBatch struct {
	Seq        uint64
	Data       []byte   // opaque (signed by the server)
	Detections []string // detection ids the batch carries
}

// Boards are per-tenant notification boards.
type Boards interface {
	// AppendBoard stores b at b.Seq, which must be the last Seq + 1 (1 for the
	// first), together with its detection ids, atomically; else ErrConflict.
	AppendBoard(ctx context.Context, tenant string, b BoardBatch) error
	HasDetection(ctx context.Context, tenant, id string) (bool, error)
	BoardAfter(ctx context.Context, tenant string, after uint64, limit int) ([]BoardBatch, error)
	// LastBoard returns the last batch (ErrNotFound if none).
	LastBoard(ctx context.Context, tenant string) (BoardBatch, error)
}

// Access is one read of a tenant's logs.
type Access struct {
	Who    string
	When   time.Time
	Tenant string
	Action string // e.g. "query", "export", "verify"
	Query  string // the query text
	Count  int64  // records returned
}

// Audit is the append-only access audit.
type Audit interface {
	AppendAccess(ctx context.Context, a Access) error
	// ListAccess lists the tenant's accesses with from <= When < to (zero
	// ends are open), oldest first, at most limit.
	ListAccess(ctx context.Context, tenant string, from, to time.Time, limit int) ([]Access, error)
}

// States stores small named blobs (pipeline cursors, matcher state).
type States interface {
	PutState(ctx context.Context, name string, blob []byte) error
	GetState(ctx context.Context, name string) ([]byte, error)
}

// Store is every concern together; a backend implements it. Consumers should
// declare the smaller interface they use.
type Store interface {
	Log
	Tenants
	Resources
	Catalogue
	Keys
	Counters
	Boards
	Audit
	States
	Dumper
	Loader
	Close() error
}

// VerifyRecords checks recs against a proof from [Ledger.Prove] with the
// server's checkpoint public key; it is what a tenant runs offline. Errors
// wrap the ledger package's sentinels (ledger.ErrAltered, ...).
func VerifyRecords(pub ed25519.PublicKey, p *ledger.Proof, recs []Record) error {
	es := make([]ledger.Entry, len(recs))
	for i := range recs {
		b, err := recs[i].MarshalBinary()
		if err != nil {
			return fmt.Errorf("%w: record %d cannot be encoded: %v", ledger.ErrAltered, i, err)
		}
		es[i] = ledger.Entry{Seq: recs[i].Seq, Data: b}
	}
	return ledger.Verify(pub, p, es)
}

// LogValue redacts the query text, which can quote log content.
func (a Access) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("who", a.Who),
		slog.Time("when", a.When),
		slog.String("action", a.Action),
		slog.Int("query_bytes", len(a.Query)),
		slog.Int64("count", a.Count),
	)
}

var _ slog.LogValuer = Access{}
