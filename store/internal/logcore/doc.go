// Package logcore is the log half of every backend: appending records in
// compressed blocks, the hash chain and checkpoints, reads, queries, export,
// retention and dump/load of logs, written once over a small [Engine] that
// each backend implements with its own primitives (Pebble batches, Redis Lua
// scripts). Sharing it keeps the two backends' semantics identical.
//
// A tenant's records live in blocks of up to [MaxBlockRecords] records, keyed
// by the seq of their last record. Each block has a [Meta] (seq range, chain
// value before it, event-time range, append time, hour buckets and a Bloom
// filter of terms and fields) and the zstd-compressed canonical records.
// Queries pick candidate blocks through the hour-bucket index, skip blocks
// whose Bloom filter rules out a term, and decode only the rest. Retention
// removes whole blocks by seq range.
package logcore
