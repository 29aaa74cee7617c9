package loki

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/gzip"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hisoka-project/hisoka/server/internal/ingest"
)

var lim = Limits{Limits: ingest.Limits{MaxLineBytes: 8192, MaxRecords: 10000}, MaxDecodedBytes: 1 << 20}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseLabels(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]string
		err  bool
	}{
		{`{}`, map[string]string{}, false},
		{` { } `, map[string]string{}, false},
		{`{a="b"}`, map[string]string{"a": "b"}, false},
		{`{a="b", c="d"}`, map[string]string{"a": "b", "c": "d"}, false},
		{`{a = "b",c="d",}`, map[string]string{"a": "b", "c": "d"}, false}, // spaces, trailing comma
		{`{filename="/var/log/x.log", job="varlogs"}`, map[string]string{"filename": "/var/log/x.log", "job": "varlogs"}, false},
		{`{a="q\"u\\o\nte"}`, map[string]string{"a": "q\"u\\o\nte"}, false},
		{`{a="é,}"}`, map[string]string{"a": "é,}"}, false}, // separators inside a value
		{`{_x1="", B="v"}`, map[string]string{"_x1": "", "B": "v"}, false},
		{``, nil, true},               // empty
		{`a="b"`, nil, true},          // no braces
		{`{a="b"`, nil, true},         // unclosed brace
		{`{a=b}`, nil, true},          // unquoted value
		{`{a="b}`, nil, true},         // unclosed quote
		{`{1a="b"}`, nil, true},       // name starts with digit
		{`{a-b="c"}`, nil, true},      // dash in name
		{`{a="b" c="d"}`, nil, true},  // missing comma
		{`{a="b",,c="d"}`, nil, true}, // double comma
		{`{a="b", a="c"}`, nil, true}, // duplicate
		{`{a="\q"}`, nil, true},       // bad escape
		{`{="b"}`, nil, true},         // no name
		{`{a="b"}x`, nil, true},       // trailing junk
	}
	for _, tt := range tests {
		got, err := ParseLabels(tt.in)
		if tt.err {
			if !errors.Is(err, ErrBadLabels) || got != nil {
				t.Errorf("%q: %v %v", tt.in, got, err)
			}
			continue
		}
		if err != nil || !maps.Equal(got, tt.want) {
			t.Errorf("%q: %v %v", tt.in, got, err)
		}
	}
}

// pushDescriptor builds Loki's push.proto as a descriptor, so that the
// test's encoder is protobuf's own, independent of EncodeProtobuf.
func pushDescriptor(t testing.TB) protoreflect.FileDescriptor {
	t.Helper()
	str := descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()
	msg := descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum()
	u64 := descriptorpb.FieldDescriptorProto_TYPE_UINT64.Enum()
	opt := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
	rep := descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()
	f := func(name string, num int32, typ *descriptorpb.FieldDescriptorProto_Type, label *descriptorpb.FieldDescriptorProto_Label, typeName string) *descriptorpb.FieldDescriptorProto {
		fd := &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(num), Type: typ, Label: label, JsonName: proto.String(name)}
		if typeName != "" {
			fd.TypeName = proto.String(typeName)
		}
		return fd
	}
	fdp := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("push.proto"),
		Package:    proto.String("logproto"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"google/protobuf/timestamp.proto"},
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("PushRequest"), Field: []*descriptorpb.FieldDescriptorProto{f("streams", 1, msg, rep, ".logproto.StreamAdapter")}},
			{Name: proto.String("StreamAdapter"), Field: []*descriptorpb.FieldDescriptorProto{
				f("labels", 1, str, opt, ""), f("entries", 2, msg, rep, ".logproto.EntryAdapter"), f("hash", 3, u64, opt, "")}},
			{Name: proto.String("LabelPairAdapter"), Field: []*descriptorpb.FieldDescriptorProto{f("name", 1, str, opt, ""), f("value", 2, str, opt, "")}},
			{Name: proto.String("EntryAdapter"), Field: []*descriptorpb.FieldDescriptorProto{
				f("timestamp", 1, msg, opt, ".google.protobuf.Timestamp"), f("line", 2, str, opt, ""),
				f("structuredMetadata", 3, msg, rep, ".logproto.LabelPairAdapter")}},
		},
	}
	files, err := protodesc.NewFiles(&descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{
		protodesc.ToFileDescriptorProto(timestamppb.File_google_protobuf_timestamp_proto), fdp}})
	if err != nil {
		t.Fatal(err)
	}
	fd, err := files.FindFileByPath("push.proto")
	if err != nil {
		t.Fatal(err)
	}
	return fd
}

// promtailBody encodes a two-stream request the way Promtail does
// (proto.Marshal, then snappy block encoding), with a hash field set.
func promtailBody(t testing.TB) []byte {
	fd := pushDescriptor(t)
	mt := func(n string) protoreflect.MessageDescriptor { return fd.Messages().ByName(protoreflect.Name(n)) }
	req := dynamicpb.NewMessage(mt("PushRequest"))
	streams := req.Mutable(mt("PushRequest").Fields().ByName("streams")).List()
	add := func(labels string, hash uint64, lines ...string) {
		s := dynamicpb.NewMessage(mt("StreamAdapter"))
		s.Set(mt("StreamAdapter").Fields().ByName("labels"), protoreflect.ValueOfString(labels))
		s.Set(mt("StreamAdapter").Fields().ByName("hash"), protoreflect.ValueOfUint64(hash))
		entries := s.Mutable(mt("StreamAdapter").Fields().ByName("entries")).List()
		for i, l := range lines {
			e := dynamicpb.NewMessage(mt("EntryAdapter"))
			ts := timestamppb.New(time.Unix(1795320000+int64(i), 123456789))
			e.Set(mt("EntryAdapter").Fields().ByName("timestamp"), protoreflect.ValueOfMessage(ts.ProtoReflect()))
			e.Set(mt("EntryAdapter").Fields().ByName("line"), protoreflect.ValueOfString(l))
			if i == 0 {
				md := e.Mutable(mt("EntryAdapter").Fields().ByName("structuredMetadata")).List()
				lp := dynamicpb.NewMessage(mt("LabelPairAdapter"))
				lp.Set(mt("LabelPairAdapter").Fields().ByName("name"), protoreflect.ValueOfString("trace_id"))
				lp.Set(mt("LabelPairAdapter").Fields().ByName("value"), protoreflect.ValueOfString("abc"))
				md.Append(protoreflect.ValueOfMessage(lp))
			}
			entries.Append(protoreflect.ValueOfMessage(e))
		}
		streams.Append(protoreflect.ValueOfMessage(s))
	}
	add(`{host="compute-1", job="nova"}`, 42,
		"2026-11-22 04:00:00.123 4242 INFO nova.compute.manager [-] [instance: 0b6e6f5c-5e4b-4b8e-9b1e-2f7c2b7d1a11] VM Started (Lifecycle Event)",
		"2026-11-22 04:00:01.123 4242 INFO nova.compute.manager [-] [instance: 0b6e6f5c-5e4b-4b8e-9b1e-2f7c2b7d1a11] VM Resumed (Lifecycle Event)")
	add(`{job="syslog"}`, 7, "<86>Nov 22 04:00:03 host-1 sshd[99]: session opened for user ops", "")
	raw, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return snappy.Encode(nil, raw)
}

func TestDecodePromtailProtobuf(t *testing.T) {
	body := promtailBody(t)
	if os.Getenv("HISOKA_UPDATE_TESTDATA") != "" {
		os.WriteFile("testdata/promtail.pb.snappy", body, 0o644)
	}
	for _, b := range [][]byte{body, readTestdata(t, "promtail.pb.snappy")} {
		recs, err := Decode("application/x-protobuf", "", b, lim)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 3 { // the empty line is skipped
			t.Fatalf("%d records", len(recs))
		}
		r := recs[0]
		if r.Source != "compute-1" || r.Labels["job"] != "nova" || r.Metadata["trace_id"] != "abc" ||
			!r.Time.Equal(time.Unix(1795320000, 123456789)) || !strings.Contains(r.Line, "VM Started") {
			t.Fatalf("record 0: %+v", r)
		}
		if recs[2].Labels["job"] != "syslog" || recs[2].Source != "" || recs[2].Metadata["trace_id"] != "abc" {
			t.Fatalf("record 2: %+v", recs[2])
		}
	}
}

func TestEncodeProtobufRoundTrip(t *testing.T) {
	in := []Stream{{Labels: map[string]string{"host": "h", "x": "a\"b"}, Entries: []Entry{
		{Time: time.Unix(5, 6).UTC(), Line: "one", Metadata: map[string]string{"k": "v"}},
		{Time: time.Unix(7, 0).UTC(), Line: "two"},
	}}}
	recs, err := DecodeSnappyProtobuf(EncodeProtobuf(in), lim)
	if err != nil || len(recs) != 2 {
		t.Fatal(recs, err)
	}
	if recs[0].Line != "one" || !recs[0].Time.Equal(time.Unix(5, 6)) || recs[0].Metadata["k"] != "v" || recs[0].Labels["x"] != "a\"b" {
		t.Fatalf("%+v", recs[0])
	}
}

func TestDecodeJSON(t *testing.T) {
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(readTestdata(t, "fluentbit.json"))
	w.Close()
	tests := []struct {
		name, file, ctype, enc string
		body                   []byte
		n                      int
		check                  func(r []ingest.Record) bool
	}{
		{"fluent bit", "fluentbit.json", "application/json", "", nil, 2, func(r []ingest.Record) bool {
			return r[0].Source == "compute-3" && r[0].Time.Equal(time.Unix(0, 1795320000000000000)) && r[1].Labels["job"] == "fluent-bit"
		}},
		{"fluent bit gzip, no content type", "", "", "gzip", gz.Bytes(), 2, func(r []ingest.Record) bool { return r[0].Source == "compute-3" }},
		{"vector with metadata", "vector.json", "application/json; charset=utf-8", "", nil, 1, func(r []ingest.Record) bool {
			return r[0].Source == "ctl-1" && r[0].Metadata["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
		}},
		{"legacy labels and entries", "legacy.json", "application/json", "", nil, 1, func(r []ingest.Record) bool {
			return r[0].Labels["job"] == "promtail" && r[0].Time.Equal(time.Date(2026, 11, 22, 4, 0, 2, 250e6, time.UTC))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := tt.body
			if tt.file != "" {
				body = readTestdata(t, tt.file)
			}
			recs, err := Decode(tt.ctype, tt.enc, body, lim)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != tt.n || !tt.check(recs) {
				t.Fatalf("%+v", recs)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	small := lim
	small.MaxRecords = 1
	tests := []struct {
		name, ctype, enc, body string
		lim                    Limits
		want                   error
	}{
		{"not JSON", "application/json", "", `{"streams":`, lim, ErrMalformed},
		{"streams not a list", "application/json", "", `{"streams":{}}`, lim, ErrMalformed},
		{"value of one element", "application/json", "", `{"streams":[{"stream":{},"values":[["1"]]}]}`, lim, ErrMalformed},
		{"value of four elements", "application/json", "", `{"streams":[{"stream":{},"values":[["1","a",{},"x"]]}]}`, lim, ErrMalformed},
		{"numeric timestamp", "application/json", "", `{"streams":[{"stream":{},"values":[[1,"a"]]}]}`, lim, ErrMalformed},
		{"bad ns timestamp", "application/json", "", `{"streams":[{"stream":{},"values":[["soon","a"]]}]}`, lim, ErrBadTimestamp},
		{"negative timestamp", "application/json", "", `{"streams":[{"stream":{},"values":[["-5","a"]]}]}`, lim, ErrBadTimestamp},
		{"bad legacy ts", "application/json", "", `{"streams":[{"labels":"{}","entries":[{"ts":"x","line":"a"}]}]}`, lim, ErrBadTimestamp},
		{"bad legacy labels", "application/json", "", `{"streams":[{"labels":"{a=b}","entries":[]}]}`, lim, ErrBadLabels},
		{"bad label name", "application/json", "", `{"streams":[{"stream":{"a-b":"c"},"values":[]}]}`, lim, ErrBadLabels},
		{"both label forms", "application/json", "", `{"streams":[{"stream":{},"labels":"{}"}]}`, lim, ErrMalformed},
		{"too many", "application/json", "", `{"streams":[{"stream":{},"values":[["1","a"],["2","b"]]}]}`, small, ingest.ErrTooManyRecords},
		{"content type", "text/plain", "", `{}`, lim, ErrUnsupportedContentType},
		{"bad content type", "application/json; ===", "", `{}`, lim, ErrUnsupportedContentType},
		{"encoding", "application/json", "br", `{}`, lim, ingest.ErrUnsupportedEncoding},
		{"not snappy", "application/x-protobuf", "", "\xff\xff\xff\xff\xff\xff", lim, ingest.ErrCorruptCompression},
		{"snappy too large", "application/x-protobuf", "", string(snappy.Encode(nil, make([]byte, 2<<20))), lim, ingest.ErrDecompressedTooLarge},
		{"protobuf garbage", "application/x-protobuf", "", string(snappy.Encode(nil, []byte{0x0a, 0x05, 0x01})), lim, ErrMalformed},
		{"protobuf stream without labels", "application/x-protobuf", "", string(snappy.Encode(nil, []byte{0x0a, 0x00})), lim, ErrBadLabels},
		{"protobuf labels wrong wire type", "application/x-protobuf", "", string(snappy.Encode(nil, []byte{0x0a, 0x02, 0x08, 0x01})), lim, ErrMalformed},
		{"protobuf bad nanos", "application/x-protobuf", "", string(snappy.Encode(nil, pbStream(`{}`, []byte{0x0a, 0x08, 0x08, 0x01, 0x10, 0x80, 0x94, 0xeb, 0xdc, 0x03}))), lim, ErrBadTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := Decode(tt.ctype, tt.enc, []byte(tt.body), tt.lim)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v want %v", err, tt.want)
			}
			if recs != nil {
				t.Fatal("records with error")
			}
		})
	}
}

// pbStream builds a PushRequest with one stream holding one raw entry.
func pbStream(labels string, entry []byte) []byte {
	s := append([]byte{0x0a, byte(len(labels))}, labels...)
	s = append(s, 0x12, byte(len(entry)))
	s = append(s, entry...)
	return append([]byte{0x0a, byte(len(s))}, s...)
}

func TestLineLimitApplies(t *testing.T) {
	l := lim
	l.MaxLineBytes = 4
	recs, err := DecodeJSON([]byte(`{"streams":[{"stream":{},"values":[["1","abcdefgh"]]}]}`), l.Limits)
	if err != nil || recs[0].Line != "abcd" || !recs[0].Truncated || recs[0].OriginalLen != 8 {
		t.Fatal(recs, err)
	}
}

func FuzzParseLabels(f *testing.F) {
	for _, s := range []string{`{}`, `{a="b", c="d"}`, `{job="promtail", filename="/var/log/nova/nova-compute.log"}`, `{a="\x00\"\\"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseLabels(s)
		if err != nil {
			if m != nil {
				t.Fatal("labels with error")
			}
			return
		}
		again, err := ParseLabels(FormatLabels(m))
		if err != nil || !maps.Equal(m, again) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzDecode(f *testing.F) {
	f.Add("application/x-protobuf", readTestdata(f, "promtail.pb.snappy"))
	for _, n := range []string{"fluentbit.json", "vector.json", "legacy.json"} {
		f.Add("application/json", readTestdata(f, n))
	}
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		recs, err := Decode(ctype, "", body, lim)
		if err != nil {
			if recs != nil {
				t.Fatal("records with error")
			}
			return
		}
		// Round trip through the protobuf encoder.
		var streams []Stream
		for _, r := range recs {
			streams = append(streams, Stream{Labels: r.Labels, Entries: []Entry{{Time: r.Time, Line: r.Line, Metadata: r.Metadata}}})
		}
		again, err := DecodeSnappyProtobuf(EncodeProtobuf(streams), lim)
		if err != nil || len(again) != len(recs) {
			t.Fatalf("round trip: %v (%d vs %d)", err, len(again), len(recs))
		}
		for i := range recs {
			a, b := recs[i], again[i]
			if a.Line != b.Line || !a.Time.Equal(b.Time) || !maps.Equal(a.Labels, b.Labels) || !maps.Equal(a.Metadata, b.Metadata) {
				t.Fatalf("record %d changed", i)
			}
		}
	})
}

func BenchmarkDecodeProtobuf(b *testing.B) {
	entries := make([]Entry, 1000)
	for i := range entries {
		entries[i] = Entry{Time: time.Unix(1795320000, int64(i)), Line: "2026-11-22 04:00:00.123 4242 INFO nova.compute.manager [-] [instance: 0b6e6f5c-5e4b-4b8e-9b1e-2f7c2b7d1a11] VM Started (Lifecycle Event)"}
	}
	body := EncodeProtobuf([]Stream{{Labels: map[string]string{"host": "compute-1", "job": "nova"}, Entries: entries}})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode("application/x-protobuf", "", body, lim); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "lines/s")
}

func BenchmarkDecodeJSON(b *testing.B) {
	var buf strings.Builder
	buf.WriteString(`{"streams":[{"stream":{"host":"compute-1"},"values":[`)
	for i := 0; i < 1000; i++ {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(`["1795320000000000000","2026-11-22 04:00:00.123 4242 INFO nova.compute.manager [-] [instance: 0b6e6f5c-5e4b-4b8e-9b1e-2f7c2b7d1a11] VM Started (Lifecycle Event)"]`)
	}
	buf.WriteString(`]}]}`)
	body := []byte(buf.String())
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode("application/json", "", body, lim); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "lines/s")
}

// FuzzJSONValue checks the fast path for ["ns", "line"] against the
// encoding/json one, on inputs encoding/json accepts as JSON.
func FuzzJSONValue(f *testing.F) {
	for _, s := range []string{`["1","a"]`, ` [ "1" , "a b" ] `, `["1","a\"b"]`, `["1","é"]`, `["1","a",{"k":"v"}]`, `["1"]`, `[1,"a"]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		var fast, slow jsonValue
		if !fast.fast(b) {
			return
		}
		if err := slow.slow(b); err != nil {
			t.Fatalf("fast accepted what encoding/json refuses: %v", err)
		}
		if fast.ns != slow.ns || fast.line != slow.line || slow.meta != nil {
			t.Fatalf("differ: %q/%q vs %q/%q", fast.ns, fast.line, slow.ns, slow.line)
		}
	})
}
