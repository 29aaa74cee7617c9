// Package matcher turns platform log lines into detections. It is pure and
// deterministic: it does no I/O and never reads the wall clock; time comes
// from the records.
//
// The pieces, in the order a line meets them:
//
//   - [Parser] reads one line (OpenStack oslo.log with or without a file-name
//     prefix, devstack style, RFC 5424 or RFC 3164 syslog, oslo wrapped in
//     syslog, or a generic "time component message") into a [Record] whose
//     byte fields alias the line. Year-less RFC 3164 stamps take their year
//     from [Parser.Reference].
//   - [Miner] mines message templates online (a Drain/SHISO-family method):
//     tokens holding numbers, addresses, UUIDs, hex, paths, URLs, dates
//     (weekday and month names included), empty "()" or "" values and
//     key=value values become typed placeholders; a line whose skeleton was
//     seen before is resolved by one hash lookup; a word position becomes a
//     placeholder once it has taken many distinct values, or at once when
//     otherwise alike lines hold a typed value there.
//   - [Learner] learns a [Catalog] from normal logs: the steady periodic
//     background of each template, and the recurring bursts of each resource
//     (run-length sequences of templates, clustered by similarity) proposed
//     as patterns. [Profile] holds the per-window counts of the paper's
//     figures 5 and 6.
//   - [Engine] runs a published [Catalog] over a stream of records: patterns
//     matched in order within their window while other events interleave,
//     broken-off and slow occurrences, rules (frequency, absence, schedule,
//     keyword, correlation) and the residual anomalies left once matched and
//     periodic lines are removed. Every [Detection] has a deterministic id.
//     Its state can be saved and restored across restarts.
//
// The catalogue format is specified in spec/catalog.md.
package matcher
