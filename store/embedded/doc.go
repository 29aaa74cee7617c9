// Package embedded is the default [store.Store] backend: one directory on
// disk holding a Pebble v2 database (an LSM tree: sequential writes, cheap
// range deletion for retention, compaction in the background).
//
// Log records are kept in zstd-compressed blocks by package logcore; every
// other item is one key. Keys start with a kind byte, then the tenant id
// length-prefixed (so "a" and "a:b" can never share a prefix), then the rest.
// Writes that must be durable are committed with Pebble's synced WAL. One
// process at a time opens a directory (Pebble holds a lock file).
package embedded
