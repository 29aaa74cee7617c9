package store

import "context"

// RowKind says what a [Row] holds. The encodings are backend neutral, so a
// dump from one backend loads into another.
type RowKind uint8

// Row kinds.
const (
	RowTenant     RowKind = 1  // Tenant: JSON of Tenant
	RowResource   RowKind = 2  // Tenant, Key=id: JSON of Resource
	RowCatalogue  RowKind = 3  // Key=8-byte big-endian version: data
	RowPublished  RowKind = 4  // Value=8-byte big-endian version
	RowKey        RowKind = 5  // Key=name: blob
	RowState      RowKind = 6  // Key=name: blob
	RowCounter    RowKind = 7  // Tenant, Key=period: decimal total
	RowBoard      RowKind = 8  // Tenant: JSON of BoardBatch
	RowAccess     RowKind = 9  // Tenant: JSON of Access
	RowLogHead    RowKind = 10 // Tenant: log head (internal encoding)
	RowLogBlock   RowKind = 11 // Tenant: one block of records (internal encoding)
	RowCheckpoint RowKind = 12 // Tenant: ledger.Checkpoint binary encoding
)

// Row is one logical item of a backend's content.
type Row struct {
	Kind   RowKind
	Tenant string // "" for service-wide rows
	Key    []byte
	Value  []byte
}

// Dumper walks a backend's content. With tenant "" it dumps everything,
// else only that tenant's rows (its RowTenant row included). For each
// tenant, its RowLogHead comes before its RowLogBlock and RowCheckpoint
// rows; loading a head replaces that tenant's log, so the blocks and
// checkpoints that follow rebuild it exactly (chain values included).
type Dumper interface {
	Dump(ctx context.Context, tenant string, fn func(Row) error) error
}

// Loader writes rows produced by a Dumper, replacing what is there.
type Loader interface {
	Load(ctx context.Context, rows []Row) error
}
