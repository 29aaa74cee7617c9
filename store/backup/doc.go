// Package backup writes a consistent backup of a store (whole, or one
// tenant) to one zstd-compressed file, checks and restores it, verifies the
// restored logs against their signed checkpoints, and keeps scheduled
// backups for a configurable period.
//
// File format (inside one zstd frame stream):
//
//	"HISOKA-BACKUP-1\n"
//	frames: kind u8 | uvarint len | tenant | uvarint len | key | uvarint len | value
//	trailer: 0x00 | u64 frame count | SHA-256 of all frame bytes
//
// Rows are backend neutral (store.Row), so a backup of the embedded store
// restores into Redis and back. Log blocks are copied compressed, with their
// chain values, so the restored ledger verifies against the same checkpoints.
package backup
