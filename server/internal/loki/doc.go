// Package loki decodes Grafana Loki push requests (POST /loki/api/v1/push)
// into [ingest.Record]s, so that Promtail, Grafana Alloy, Vector and Fluent
// Bit can ship to Hisoka unchanged. [Decode] picks the body format from the
// request headers:
//
//   - Content-Type application/x-protobuf: a PushRequest (Loki's
//     pkg/push/push.proto) compressed with snappy's block format, what
//     Promtail and Alloy send. It is decoded by hand with protowire:
//
//     PushRequest   { repeated StreamAdapter streams = 1; }
//     StreamAdapter { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
//     EntryAdapter  { google.protobuf.Timestamp timestamp = 1; string line = 2;
//     repeated LabelPairAdapter structuredMetadata = 3; }
//     LabelPairAdapter { string name = 1; string value = 2; }
//     Timestamp     { int64 seconds = 1; int32 nanos = 2; }
//
//     Unknown fields are skipped, as protobuf requires.
//
//   - Content-Type application/json (or none): {"streams": [{"stream":
//     {"k": "v"}, "values": [["<unix ns>", "line"], ["<unix ns>", "line",
//     {"meta": "v"}]]}]}, what Fluent Bit, Vector and curl send, and the
//     older {"streams": [{"labels": "{k=\"v\"}", "entries": [{"ts":
//     "<RFC 3339>", "line": "..."}]}]}.
//
// Content-Encoding (gzip, deflate, zstd) is undone first, for either format.
// Labels in the protobuf form are a string, {a="b", c="d"}, read by
// [ParseLabels]. Records take their Source from the host label (or
// hostname); empty lines are skipped; the line limit of [ingest.Limits]
// applies (truncate and mark, never drop).
package loki
