package loki

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/golang/snappy"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/hisoka-project/hisoka/server/internal/ingest"
)

// Errors returned by the decoders, beside [ErrBadLabels] and ingest's
// ErrTooManyRecords, ErrDecompressedTooLarge, ErrCorruptCompression and
// ErrUnsupportedEncoding.
var (
	ErrMalformed              = errors.New("loki: malformed push request")
	ErrBadTimestamp           = errors.New("loki: bad timestamp")
	ErrUnsupportedContentType = errors.New("loki: unsupported content type")
)

// Limits bound decoding.
type Limits struct {
	ingest.Limits
	// MaxDecodedBytes bounds the body after Content-Encoding and snappy.
	MaxDecodedBytes int
}

// Decode decodes a push request body according to its Content-Type and
// Content-Encoding header values. On error it returns nil records.
func Decode(contentType, contentEncoding string, body []byte, lim Limits) ([]ingest.Record, error) {
	mt := "application/json"
	if contentType != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(contentType); err != nil {
			return nil, ErrUnsupportedContentType
		}
	}
	switch mt {
	case "application/x-protobuf", "application/json":
	default:
		return nil, ErrUnsupportedContentType
	}
	data, err := ingest.Decompress(contentEncoding, body, lim.MaxDecodedBytes)
	if err != nil {
		return nil, err
	}
	if mt == "application/x-protobuf" {
		return DecodeSnappyProtobuf(data, lim)
	}
	return DecodeJSON(data, lim.Limits)
}

// DecodeSnappyProtobuf decodes a snappy-compressed (block format)
// PushRequest.
func DecodeSnappyProtobuf(data []byte, lim Limits) ([]ingest.Record, error) {
	n, err := snappy.DecodedLen(data)
	if err != nil {
		return nil, ingest.ErrCorruptCompression
	}
	if n > lim.MaxDecodedBytes {
		return nil, ingest.ErrDecompressedTooLarge
	}
	raw, err := snappy.Decode(nil, data)
	if err != nil {
		return nil, ingest.ErrCorruptCompression
	}
	return DecodeProtobuf(raw, lim.Limits)
}

// DecodeProtobuf decodes an uncompressed PushRequest.
func DecodeProtobuf(b []byte, lim ingest.Limits) ([]ingest.Record, error) {
	d := decoder{lim: lim}
	if err := forEachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num == 1 && typ == protowire.BytesType {
			return d.stream(v)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("stream %d: %w", d.streams, err)
	}
	return d.out, nil
}

type decoder struct {
	lim     ingest.Limits
	out     []ingest.Record
	streams int
}

func (d *decoder) stream(b []byte) error {
	var labels map[string]string
	var entries [][]byte
	err := forEachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			l, err := ParseLabels(string(v))
			if err != nil {
				return err
			}
			labels = l // the last one wins, as protobuf merges scalars
		case num == 2 && typ == protowire.BytesType:
			entries = append(entries, v)
		case num <= 2:
			return ErrMalformed // a known field with the wrong wire type
		}
		return nil
	})
	if err != nil {
		return err
	}
	if labels == nil {
		return ErrBadLabels // every stream has labels
	}
	src := source(labels)
	for _, e := range entries {
		r := ingest.Record{Labels: labels, Source: src, Format: ingest.FormatAuto}
		if err := decodeEntry(e, &r); err != nil {
			return err
		}
		if err := d.add(r); err != nil {
			return err
		}
	}
	d.streams++
	return nil
}

func (d *decoder) add(r ingest.Record) error {
	if r.Line == "" {
		return nil
	}
	if d.lim.MaxRecords > 0 && len(d.out) >= d.lim.MaxRecords {
		return ingest.ErrTooManyRecords
	}
	d.lim.Clip(&r)
	d.out = append(d.out, r)
	return nil
}

func decodeEntry(b []byte, r *ingest.Record) error {
	return forEachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			t, err := decodeTimestamp(v)
			if err != nil {
				return err
			}
			r.Time = t
		case num == 2 && typ == protowire.BytesType:
			r.Line = string(v)
		case num == 3 && typ == protowire.BytesType:
			name, value, err := decodeLabelPair(v)
			if err != nil {
				return err
			}
			if r.Metadata == nil {
				r.Metadata = make(map[string]string)
			}
			r.Metadata[name] = value
		case num <= 3:
			return ErrMalformed
		}
		return nil
	})
}

// The range of google.protobuf.Timestamp, years 1 to 9999, in Unix seconds.
const (
	minTimestamp = -62135596800
	maxTimestamp = 253402300799
)

func decodeTimestamp(b []byte) (time.Time, error) {
	var sec, nanos int64
	err := forEachField(b, func(num protowire.Number, typ protowire.Type, _ []byte, x uint64) error {
		switch {
		case num == 1 && typ == protowire.VarintType:
			sec = int64(x)
		case num == 2 && typ == protowire.VarintType:
			nanos = int64(int32(x))
		case num <= 2:
			return ErrMalformed
		}
		return nil
	})
	if err != nil {
		return time.Time{}, err
	}
	if nanos < 0 || nanos >= 1e9 || sec < minTimestamp || sec > maxTimestamp {
		return time.Time{}, ErrBadTimestamp
	}
	return time.Unix(sec, nanos).UTC(), nil
}

func decodeLabelPair(b []byte) (name, value string, err error) {
	err = forEachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			name = string(v)
		case num == 2 && typ == protowire.BytesType:
			value = string(v)
		case num <= 2:
			return ErrMalformed
		}
		return nil
	})
	if err == nil && !ValidLabelName(name) {
		err = ErrBadLabels
	}
	return name, value, err
}

// forEachField walks the fields of one message: for bytes fields v is the
// payload, for varints x is the value; other wire types are skipped.
func forEachField(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return ErrMalformed
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return ErrMalformed
		}
		b = b[n:]
		if err := fn(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

func source(labels map[string]string) string {
	if h := labels["host"]; h != "" {
		return h
	}
	return labels["hostname"]
}

type jsonPush struct {
	Streams []jsonStream `json:"streams"`
}

type jsonStream struct {
	Stream  map[string]string `json:"stream"`
	Values  []jsonValue       `json:"values"`
	Labels  *string           `json:"labels"`
	Entries []jsonEntry       `json:"entries"`
}

type jsonEntry struct {
	TS        string `json:"ts"`
	Timestamp string `json:"timestamp"`
	Line      string `json:"line"`
}

// jsonValue is ["<unix ns>", "line"] or ["<unix ns>", "line", {metadata}].
type jsonValue struct {
	ns   string
	line string
	meta map[string]string
}

func (v *jsonValue) UnmarshalJSON(b []byte) error {
	if v.fast(b) {
		return nil
	}
	return v.slow(b)
}

// fast handles the common ["<digits>", "<line without escapes>"]. b is
// valid JSON already (encoding/json checked the whole body first), so
// between two quotes with no backslash lies exactly the string, provided
// it is valid UTF-8 (encoding/json would replace invalid bytes).
func (v *jsonValue) fast(b []byte) bool {
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return false
	}
	b = bytes.TrimSpace(b[1 : len(b)-1])
	first, rest, ok := simpleString(b)
	if !ok {
		return false
	}
	rest = bytes.TrimSpace(rest)
	if len(rest) == 0 || rest[0] != ',' {
		return false
	}
	second, rest, ok := simpleString(bytes.TrimSpace(rest[1:]))
	if !ok || len(bytes.TrimSpace(rest)) != 0 {
		return false // a third element, or something else
	}
	v.ns, v.line, v.meta = string(first), string(second), nil
	return true
}

// simpleString splits a leading JSON string with no escapes off b.
func simpleString(b []byte) (s, rest []byte, ok bool) {
	if len(b) == 0 || b[0] != '"' {
		return nil, nil, false
	}
	end := bytes.IndexByte(b[1:], '"')
	if end < 0 {
		return nil, nil, false
	}
	s = b[1 : 1+end]
	if bytes.IndexByte(s, '\\') >= 0 || !utf8.Valid(s) {
		return nil, nil, false
	}
	return s, b[2+end:], true
}

func (v *jsonValue) slow(b []byte) error {
	var parts []json.RawMessage
	if err := json.Unmarshal(b, &parts); err != nil {
		return err
	}
	if len(parts) != 2 && len(parts) != 3 {
		return ErrMalformed
	}
	if err := json.Unmarshal(parts[0], &v.ns); err != nil {
		return err
	}
	if err := json.Unmarshal(parts[1], &v.line); err != nil {
		return err
	}
	if len(parts) == 3 {
		return json.Unmarshal(parts[2], &v.meta)
	}
	return nil
}

// DecodeJSON decodes a JSON push request (uncompressed).
func DecodeJSON(b []byte, lim ingest.Limits) ([]ingest.Record, error) {
	var p jsonPush
	if err := json.Unmarshal(b, &p); err != nil {
		if errors.Is(err, ErrMalformed) {
			return nil, err
		}
		return nil, ErrMalformed
	}
	d := decoder{lim: lim}
	for i, s := range p.Streams {
		if err := d.jsonStream(s); err != nil {
			return nil, fmt.Errorf("stream %d: %w", i, err)
		}
	}
	return d.out, nil
}

func (d *decoder) jsonStream(s jsonStream) error {
	labels := s.Stream
	if s.Labels != nil {
		if labels != nil {
			return ErrMalformed // both forms at once
		}
		l, err := ParseLabels(*s.Labels)
		if err != nil {
			return err
		}
		labels = l
	}
	if labels == nil {
		labels = map[string]string{}
	}
	for n := range labels {
		if !ValidLabelName(n) {
			return ErrBadLabels
		}
	}
	src := source(labels)
	for _, v := range s.Values {
		for n := range v.meta {
			if !ValidLabelName(n) {
				return ErrBadLabels
			}
		}
		ns, err := strconv.ParseInt(v.ns, 10, 64)
		if err != nil || ns < 0 {
			return ErrBadTimestamp
		}
		r := ingest.Record{Time: time.Unix(0, ns).UTC(), Line: v.line, Metadata: v.meta, Labels: labels, Source: src, Format: ingest.FormatAuto}
		if err := d.add(r); err != nil {
			return err
		}
	}
	for _, e := range s.Entries {
		ts := e.TS
		if ts == "" {
			ts = e.Timestamp
		}
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil || t.Unix() < minTimestamp || t.Unix() > maxTimestamp {
			return ErrBadTimestamp
		}
		r := ingest.Record{Time: t, Line: e.Line, Labels: labels, Source: src, Format: ingest.FormatAuto}
		if err := d.add(r); err != nil {
			return err
		}
	}
	return nil
}
