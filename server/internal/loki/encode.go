package loki

import (
	"maps"
	"slices"
	"time"

	"github.com/golang/snappy"
	"google.golang.org/protobuf/encoding/protowire"
)

// Stream is one stream of a push request, for [EncodeProtobuf].
type Stream struct {
	Labels  map[string]string
	Entries []Entry
}

// Entry is one line of a [Stream].
type Entry struct {
	Time     time.Time
	Line     string
	Metadata map[string]string
}

// EncodeProtobuf returns the snappy-compressed PushRequest that Promtail
// would send for streams: the client side of [DecodeSnappyProtobuf], used
// by tests and load generators.
func EncodeProtobuf(streams []Stream) []byte {
	var req []byte
	for _, s := range streams {
		var sb []byte
		sb = protowire.AppendTag(sb, 1, protowire.BytesType)
		sb = protowire.AppendString(sb, FormatLabels(s.Labels))
		for _, e := range s.Entries {
			var eb, ts []byte
			ts = protowire.AppendTag(ts, 1, protowire.VarintType)
			ts = protowire.AppendVarint(ts, uint64(e.Time.Unix()))
			ts = protowire.AppendTag(ts, 2, protowire.VarintType)
			ts = protowire.AppendVarint(ts, uint64(e.Time.Nanosecond()))
			eb = protowire.AppendTag(eb, 1, protowire.BytesType)
			eb = protowire.AppendBytes(eb, ts)
			eb = protowire.AppendTag(eb, 2, protowire.BytesType)
			eb = protowire.AppendString(eb, e.Line)
			for _, n := range sortedKeys(e.Metadata) {
				var lp []byte
				lp = protowire.AppendTag(lp, 1, protowire.BytesType)
				lp = protowire.AppendString(lp, n)
				lp = protowire.AppendTag(lp, 2, protowire.BytesType)
				lp = protowire.AppendString(lp, e.Metadata[n])
				eb = protowire.AppendTag(eb, 3, protowire.BytesType)
				eb = protowire.AppendBytes(eb, lp)
			}
			sb = protowire.AppendTag(sb, 2, protowire.BytesType)
			sb = protowire.AppendBytes(sb, eb)
		}
		req = protowire.AppendTag(req, 1, protowire.BytesType)
		req = protowire.AppendBytes(req, sb)
	}
	return snappy.Encode(nil, req)
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
