// Package ingest decodes the bodies of POST /v1/ingest into [Record]s: pure
// functions from bytes to records, no I/O.
//
//   - [DecodeNDJSON] reads one JSON object per line (application/x-ndjson):
//     {"line": "...", "time": "2026-01-02T03:04:05Z", "source": "...",
//     "format": "oslo", "labels": {"k": "v"}}. "message" and "log" are
//     accepted for line (Vector and Fluent Bit name it so), "timestamp" for
//     time (an RFC 3339 string or a number of Unix seconds), "host" for
//     source. Unknown fields are ignored; blank lines are skipped.
//   - [SplitLines] reads raw log lines (text/plain), one per LF, with a
//     [Format] hint for the matcher's parser.
//   - [Decompress] undoes a Content-Encoding (gzip, deflate, zstd),
//     refusing output beyond a bound.
//
// Line length: a line longer than [Limits.MaxLineBytes] is truncated to at
// most that many bytes (never splitting a UTF-8 sequence), and the record is
// marked Truncated with its OriginalLen. It is never dropped. Empty lines
// are skipped.
//
// Errors are sentinels of this package, wrapped in a [*RecordError] naming
// the record's position; they never contain the input.
package ingest
