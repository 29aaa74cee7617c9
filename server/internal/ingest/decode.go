package ingest

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

type ndjsonRecord struct {
	Line      *string           `json:"line"`
	Message   *string           `json:"message"`
	Log       *string           `json:"log"`
	Time      json.RawMessage   `json:"time"`
	Timestamp json.RawMessage   `json:"timestamp"`
	Source    string            `json:"source"`
	Host      string            `json:"host"`
	Format    string            `json:"format"`
	Labels    map[string]string `json:"labels"`
}

// DecodeNDJSON decodes newline-delimited JSON records; def is the format of
// records that name none. On error it returns nil and a [*RecordError].
func DecodeNDJSON(data []byte, def Format, lim Limits) ([]Record, error) {
	var out []Record
	idx := 0
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if lim.tooMany(idx + 1) {
			return nil, &RecordError{Index: idx, Err: ErrTooManyRecords}
		}
		r, err := decodeRecord(line, def)
		if err != nil {
			return nil, &RecordError{Index: idx, Err: err}
		}
		lim.Clip(&r)
		out = append(out, r)
		idx++
	}
	return out, nil
}

func decodeRecord(line []byte, def Format) (Record, error) {
	if r, ok, err := decodeRecordFast(line, def); ok {
		return r, err
	}
	return decodeRecordJSON(line, def)
}

// decodeRecordJSON is the reference decoder, on encoding/json.
func decodeRecordJSON(line []byte, def Format) (Record, error) {
	if line[0] != '{' {
		return Record{}, ErrMalformedRecord
	}
	var nr ndjsonRecord
	if err := json.Unmarshal(line, &nr); err != nil {
		return Record{}, ErrMalformedRecord
	}
	r := Record{Source: nr.Source, Labels: nr.Labels, Format: def}
	if r.Source == "" {
		r.Source = nr.Host
	}
	switch {
	case nr.Line != nil:
		r.Line = *nr.Line
	case nr.Message != nil:
		r.Line = *nr.Message
	case nr.Log != nil:
		r.Line = *nr.Log
	}
	if r.Line == "" {
		return Record{}, ErrMissingLine
	}
	if nr.Format != "" {
		f, err := ParseFormat(nr.Format)
		if err != nil {
			return Record{}, err
		}
		r.Format = f
	}
	ts := nr.Time
	if len(ts) == 0 {
		ts = nr.Timestamp
	}
	if len(ts) > 0 && string(ts) != "null" {
		t, err := parseTime(ts)
		if err != nil {
			return Record{}, err
		}
		r.Time = t
	}
	return r, nil
}

// parseTime reads an RFC 3339 string or a number of Unix seconds.
func parseTime(raw json.RawMessage) (time.Time, error) {
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, ErrBadTime
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, ErrBadTime
		}
		return t, nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil || f < 0 || f > math.MaxInt64/1e9 || math.IsNaN(f) {
		return time.Time{}, ErrBadTime
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}

// SplitLines splits raw text into one record per line (LF, with an optional
// CR before it), all of format f, skipping empty lines.
func SplitLines(data []byte, f Format, lim Limits) ([]Record, error) {
	var out []Record
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			continue
		}
		if lim.tooMany(len(out) + 1) {
			return nil, &RecordError{Index: len(out), Err: ErrTooManyRecords}
		}
		r := Record{Line: string(line), Format: f}
		lim.Clip(&r)
		out = append(out, r)
	}
	return out, nil
}

// Decompress undoes Content-Encoding enc ("", "identity", "gzip",
// "x-gzip", "deflate", "zstd"), refusing more than max decoded bytes with
// [ErrDecompressedTooLarge].
func Decompress(enc string, data []byte, max int) ([]byte, error) {
	var r io.Reader
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "", "identity":
		if len(data) > max {
			return nil, ErrDecompressedTooLarge
		}
		return data, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, ErrCorruptCompression
		}
		defer zr.Close()
		r = zr
	case "deflate":
		zr, err := zlib.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, ErrCorruptCompression
		}
		defer zr.Close()
		r = zr
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(data), zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(max)+1))
		if err != nil {
			return nil, ErrCorruptCompression
		}
		defer zr.Close()
		r = zr
	default:
		return nil, ErrUnsupportedEncoding
	}
	out, err := io.ReadAll(io.LimitReader(r, int64(max)+1))
	if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) {
		return nil, ErrDecompressedTooLarge
	}
	if err != nil {
		return nil, ErrCorruptCompression
	}
	if len(out) > max {
		return nil, ErrDecompressedTooLarge
	}
	return out, nil
}
