package ingest

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeNDJSONTestdata(t *testing.T) {
	recs, err := DecodeNDJSON(readTestdata(t, "records.ndjson"), FormatAuto, Limits{MaxLineBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 {
		t.Fatalf("%d records", len(recs))
	}
	if recs[0].Format != FormatRFC5424 || recs[0].Source != "vm-7" || !recs[0].Time.Equal(time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)) {
		t.Errorf("record 0: %+v", recs[0])
	}
	if recs[1].Source != "vm-7" || recs[1].Time.UnixMilli() != 1795320001250 || !strings.HasPrefix(recs[1].Line, "Nov 22") {
		t.Errorf("record 1 (message, host, numeric timestamp): %+v", recs[1])
	}
	if recs[2].Labels["job"] != "nova" || recs[2].Format != FormatAuto || !recs[2].Time.IsZero() {
		t.Errorf("record 2 (log field, labels): %+v", recs[2])
	}
	if !recs[3].Time.IsZero() {
		t.Errorf("record 3 null time: %v", recs[3].Time)
	}
}

func TestDecodeNDJSONErrors(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		lim   Limits
		index int
		want  error
	}{
		{"not an object", `["a"]`, Limits{}, 0, ErrMalformedRecord},
		{"truncated JSON", `{"line":"a"`, Limits{}, 0, ErrMalformedRecord},
		{"second record bad", "{\"line\":\"a\"}\n{\"line\":", Limits{}, 1, ErrMalformedRecord},
		{"no line", `{"source":"x"}`, Limits{}, 0, ErrMissingLine},
		{"empty line", `{"line":""}`, Limits{}, 0, ErrMissingLine},
		{"line not a string", `{"line":5}`, Limits{}, 0, ErrMalformedRecord},
		{"bad time string", `{"line":"a","time":"yesterday"}`, Limits{}, 0, ErrBadTime},
		{"negative time", `{"line":"a","time":-1}`, Limits{}, 0, ErrBadTime},
		{"huge time", `{"line":"a","time":1e300}`, Limits{}, 0, ErrBadTime},
		{"time object", `{"line":"a","time":{}}`, Limits{}, 0, ErrBadTime},
		{"unknown format", `{"line":"a","format":"xml"}`, Limits{}, 0, ErrBadFormat},
		{"labels not strings", `{"line":"a","labels":{"k":1}}`, Limits{}, 0, ErrMalformedRecord},
		{"too many", "{\"line\":\"a\"}\n{\"line\":\"b\"}", Limits{MaxRecords: 1}, 1, ErrTooManyRecords},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := DecodeNDJSON([]byte(tt.in), FormatAuto, tt.lim)
			var re *RecordError
			if !errors.Is(err, tt.want) || !errors.As(err, &re) || re.Index != tt.index {
				t.Fatalf("err = %v, want %v at %d", err, tt.want, tt.index)
			}
			if recs != nil {
				t.Fatal("records returned with error")
			}
		})
	}
}

func TestLineLimit(t *testing.T) {
	tests := []struct {
		name, line string
		max        int
		want       string
	}{
		{"short", "abc", 5, "abc"},
		{"exact", "abcde", 5, "abcde"},
		{"ascii cut", "abcdefgh", 5, "abcde"},
		{"does not split a rune", "abcdé", 5, "abcd"},                // é is 2 bytes at 4..5
		{"three-byte rune", "ab€€", 4, "ab"},                         // € is 3 bytes
		{"invalid UTF-8 cut at byte", "ab\xff\xfe\xfd", 3, "ab\xff"}, // not text; byte cut
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := SplitLines([]byte(tt.line), FormatAuto, Limits{MaxLineBytes: tt.max})
			if err != nil {
				t.Fatal(err)
			}
			r := recs[0]
			if r.Line != tt.want {
				t.Fatalf("line %q want %q", r.Line, tt.want)
			}
			if r.Truncated != (tt.want != tt.line) {
				t.Fatalf("truncated = %v", r.Truncated)
			}
			if r.Truncated && r.OriginalLen != len(tt.line) {
				t.Fatalf("original len %d", r.OriginalLen)
			}
		})
	}
}

func TestSplitLines(t *testing.T) {
	recs, err := SplitLines(readTestdata(t, "lines.txt"), FormatOslo, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.Line)
		if r.Format != FormatOslo {
			t.Fatal("format not applied")
		}
	}
	want := []string{
		"2026-11-22 04:00:02.123 12345 INFO nova.compute.manager [-] [instance: 0b6e6f5c-5e4b-4b8e-9b1e-2f7c2b7d1a11] VM Started (Lifecycle Event)",
		"<86>Nov 22 04:00:03 host-1 sshd[99]: Accepted publickey for ops from 198.51.100.4 port 40022 ssh2",
		"windows line", "windows crlf", "last without newline",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %q", got)
	}
}

func TestParseFormat(t *testing.T) {
	for _, s := range []string{"", "auto", "rfc5424", "rfc3164", "oslo", "generic"} {
		if _, err := ParseFormat(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"AUTO", "json", " oslo"} {
		if _, err := ParseFormat(s); !errors.Is(err, ErrBadFormat) {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestDecompress(t *testing.T) {
	plain := bytes.Repeat([]byte("line of log\n"), 100)
	var gz, zl bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(plain)
	gw.Close()
	zw := zlib.NewWriter(&zl)
	zw.Write(plain)
	zw.Close()
	enc, _ := zstd.NewWriter(nil)
	zs := enc.EncodeAll(plain, nil)
	tests := []struct {
		name, enc string
		in        []byte
		max       int
		want      error
	}{
		{"identity", "", plain, len(plain), nil},
		{"identity over", "identity", plain, len(plain) - 1, ErrDecompressedTooLarge},
		{"gzip", "gzip", gz.Bytes(), len(plain), nil},
		{"x-gzip upper", " X-GZIP", gz.Bytes(), len(plain), nil},
		{"gzip bomb bound", "gzip", gz.Bytes(), len(plain) - 1, ErrDecompressedTooLarge},
		{"gzip corrupt", "gzip", []byte("not gzip"), 100, ErrCorruptCompression},
		{"gzip truncated", "gzip", gz.Bytes()[:gz.Len()/2], 1 << 20, ErrCorruptCompression},
		{"deflate", "deflate", zl.Bytes(), len(plain), nil},
		{"zstd", "zstd", zs, len(plain), nil},
		{"zstd over", "zstd", zs, 10, ErrDecompressedTooLarge},
		{"brotli", "br", plain, 1 << 20, ErrUnsupportedEncoding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Decompress(tt.enc, tt.in, tt.max)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v want %v", err, tt.want)
			}
			if err == nil && !bytes.Equal(out, plain) {
				t.Fatal("wrong output")
			}
			if err != nil && out != nil {
				t.Fatal("output with error")
			}
		})
	}
}

func TestRecordLogValueHidesLine(t *testing.T) {
	r := Record{Line: "password=secret"}
	if strings.Contains(r.LogValue().String(), "secret") {
		t.Fatal("line logged")
	}
}

func checkRecords(t *testing.T, recs []Record, err error, lim Limits) {
	if err != nil {
		if recs != nil {
			t.Fatal("records with error")
		}
		var re *RecordError
		if !errors.As(err, &re) {
			t.Fatalf("error %v is not a RecordError", err)
		}
		return
	}
	for _, r := range recs {
		if r.Line == "" {
			t.Fatal("empty line")
		}
		if len(r.Line) > lim.MaxLineBytes || r.Truncated != (r.OriginalLen > 0) {
			t.Fatalf("limit broken: %d bytes, truncated %v", len(r.Line), r.Truncated)
		}
	}
}

func FuzzDecodeNDJSON(f *testing.F) {
	f.Add(readTestdata(f, "records.ndjson"))
	f.Add([]byte(`{"line":"x","time":1.5}`))
	lim := Limits{MaxLineBytes: 64, MaxRecords: 100}
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := DecodeNDJSON(data, FormatAuto, lim)
		checkRecords(t, recs, err, lim)
		if err != nil {
			return
		}
		// Round trip: re-encode and decode again.
		var buf bytes.Buffer
		for _, r := range recs {
			m := map[string]any{"line": r.Line, "source": r.Source, "format": r.Format, "labels": r.Labels}
			if !r.Time.IsZero() {
				m["time"] = r.Time.Format(time.RFC3339Nano)
			}
			b, _ := json.Marshal(m)
			buf.Write(b)
			buf.WriteByte('\n')
		}
		again, err := DecodeNDJSON(buf.Bytes(), FormatAuto, lim)
		if err != nil || len(again) != len(recs) {
			t.Fatalf("round trip: %v, %d vs %d", err, len(again), len(recs))
		}
		for i := range recs {
			a, b := recs[i], again[i]
			if utf8.ValidString(a.Line) && a.Line != b.Line || !a.Time.Equal(b.Time) || a.Source != b.Source || a.Format != b.Format {
				t.Fatalf("round trip changed record %d", i)
			}
		}
	})
}

func FuzzSplitLines(f *testing.F) {
	f.Add(readTestdata(f, "lines.txt"))
	f.Add([]byte("a\r\n\r\nb"))
	lim := Limits{MaxLineBytes: 32, MaxRecords: 1000}
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := SplitLines(data, FormatAuto, lim)
		checkRecords(t, recs, err, lim)
		if err != nil {
			return
		}
		// Round trip: untruncated lines survive join and split unchanged
		// (CRLF terminators, so that a line ending in CR keeps it).
		var lines []string
		for _, r := range recs {
			if !r.Truncated {
				lines = append(lines, r.Line)
			}
		}
		again, _ := SplitLines([]byte(strings.Join(lines, "\r\n")+"\r\n"), FormatAuto, Limits{})
		if len(again) != len(lines) {
			t.Fatalf("round trip: %d vs %d", len(again), len(lines))
		}
		for i := range lines {
			if again[i].Line != lines[i] {
				t.Fatal("round trip changed a line")
			}
		}
	})
}

func FuzzDecompress(f *testing.F) {
	var gz bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(readTestdata(f, "lines.txt"))
	gw.Close()
	f.Add("gzip", gz.Bytes())
	f.Add("zstd", []byte{0x28, 0xb5, 0x2f, 0xfd})
	f.Add("deflate", []byte{0x78, 0x9c})
	f.Fuzz(func(t *testing.T, enc string, data []byte) {
		out, err := Decompress(enc, data, 4096)
		if err != nil && out != nil || len(out) > 4096 {
			t.Fatal("invariant broken")
		}
	})
}

func BenchmarkDecodeNDJSON(b *testing.B) {
	var buf bytes.Buffer
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&buf, `{"line":"<38>1 2026-11-22T04:00:00.000Z vm-%d sshd 811 - - Failed password for root from 203.0.113.9 port 52100 ssh2","time":"2026-11-22T04:00:00Z","source":"vm-7"}`+"\n", i)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeNDJSON(buf.Bytes(), FormatAuto, Limits{MaxLineBytes: 8192}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "lines/s")
}

func BenchmarkSplitLines(b *testing.B) {
	data := bytes.Repeat([]byte("<38>1 2026-11-22T04:00:00.000Z vm-7 sshd 811 - - Failed password for root from 203.0.113.9 port 52100 ssh2\n"), 1000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := SplitLines(data, FormatAuto, Limits{MaxLineBytes: 8192}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "lines/s")
}

// FuzzFastRecord checks the fast NDJSON path against encoding/json.
func FuzzFastRecord(f *testing.F) {
	for _, l := range bytes.Split(readTestdata(f, "records.ndjson"), []byte("\n")) {
		f.Add(l)
	}
	for _, s := range []string{
		`{"line":"a","LINE":"b"}`, `{"line":"a","line":"b"}`, `{"line":"a","x":-0.5e+3,"y":[1]}`,
		`{"line":"a","time":"2026-01-01T00:00:00Z","labels":{"a":"b"}}`, `{"message":"é","host":"h","format":"oslo"}`,
		`{"line":"a","time":01}`, `{"line":"a\u00e9"}`, `{"line":null,"log":"x"}`, `{"line":"a"} x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			return
		}
		fast, ok, ferr := decodeRecordFast(line, FormatAuto)
		if !ok {
			return
		}
		slow, serr := decodeRecordJSON(line, FormatAuto)
		if (ferr == nil) != (serr == nil) || ferr != nil && !errors.Is(serr, ferr) {
			t.Fatalf("errors differ: fast %v, json %v", ferr, serr)
		}
		if ferr != nil {
			return
		}
		if fast.Line != slow.Line || !fast.Time.Equal(slow.Time) || fast.Source != slow.Source || fast.Format != slow.Format ||
			fmt.Sprint(fast.Labels) != fmt.Sprint(slow.Labels) {
			t.Fatalf("records differ:\nfast %#v\njson %#v", fast, slow)
		}
	})
}

func TestFastPathTaken(t *testing.T) {
	for _, l := range bytes.Split(bytes.TrimSpace(readTestdata(t, "records.ndjson")), []byte("\n")) {
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		if _, ok, _ := decodeRecordFast(l, FormatAuto); !ok {
			t.Errorf("fast path declined a common record: %s", l)
		}
	}
}
