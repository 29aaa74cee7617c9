package ingest

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"
)

// Errors returned by the decoders.
var (
	ErrMalformedRecord      = errors.New("ingest: malformed record")
	ErrMissingLine          = errors.New("ingest: record has no line")
	ErrBadTime              = errors.New("ingest: bad time")
	ErrBadFormat            = errors.New("ingest: unknown format")
	ErrTooManyRecords       = errors.New("ingest: too many records")
	ErrUnsupportedEncoding  = errors.New("ingest: unsupported content encoding")
	ErrDecompressedTooLarge = errors.New("ingest: decompressed body too large")
	ErrCorruptCompression   = errors.New("ingest: corrupt compressed body")
)

// RecordError says which record (0-based, in input order) failed.
type RecordError struct {
	Index int
	Err   error
}

func (e *RecordError) Error() string { return fmt.Sprintf("record %d: %v", e.Index, e.Err) }
func (e *RecordError) Unwrap() error { return e.Err }

// Format tells the matcher how to parse a line.
type Format string

// The formats. FormatAuto lets the matcher detect it.
const (
	FormatAuto    Format = "auto"
	FormatRFC5424 Format = "rfc5424"
	FormatRFC3164 Format = "rfc3164"
	FormatOslo    Format = "oslo"
	FormatGeneric Format = "generic"
)

// ParseFormat returns the format named s; "" is [FormatAuto].
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case "":
		return FormatAuto, nil
	case FormatAuto, FormatRFC5424, FormatRFC3164, FormatOslo, FormatGeneric:
		return f, nil
	}
	return "", ErrBadFormat
}

// Record is one log line as sent, before storage.
type Record struct {
	// Time is the sender's timestamp; zero when it gave none (the server
	// then uses the receive time).
	Time   time.Time
	Line   string
	Source string
	Format Format
	// Labels are stream labels (Loki) or the record's labels (NDJSON).
	Labels map[string]string
	// Metadata is Loki structured metadata.
	Metadata map[string]string
	// Truncated marks a line cut to the line limit; OriginalLen is then
	// its length before the cut.
	Truncated   bool
	OriginalLen int
}

// LogValue keeps the raw line out of logs.
func (r Record) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Time("time", r.Time),
		slog.Int("line_bytes", len(r.Line)),
		slog.Bool("truncated", r.Truncated),
	)
}

// Limits bound decoding.
type Limits struct {
	// MaxLineBytes is the longest line kept whole; longer ones are
	// truncated. Zero or less means no limit.
	MaxLineBytes int
	// MaxRecords is the most records one body may hold. Zero or less means
	// no limit.
	MaxRecords int
}

// Clip applies the line limit to r.Line.
func (l Limits) Clip(r *Record) {
	if l.MaxLineBytes <= 0 || len(r.Line) <= l.MaxLineBytes {
		return
	}
	r.OriginalLen = len(r.Line)
	r.Truncated = true
	r.Line = r.Line[:cutPoint(r.Line, l.MaxLineBytes)]
}

// cutPoint returns the largest n <= max such that s[:n] does not end in the
// middle of a valid UTF-8 sequence.
func cutPoint(s string, max int) int {
	n := max
	// Back up over at most three continuation bytes to a rune start.
	for i := 0; i < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(s[n]); i++ {
		n--
	}
	if n > 0 && !utf8.RuneStart(s[n]) {
		return max // not UTF-8 here; cut at the byte limit
	}
	if r, size := utf8.DecodeRuneInString(s[n:]); r == utf8.RuneError && size <= 1 {
		return max // the byte at the cut does not begin a valid sequence
	}
	return n
}

func (l Limits) tooMany(n int) bool { return l.MaxRecords > 0 && n > l.MaxRecords }
