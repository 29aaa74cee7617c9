package matcher

import (
	"log/slog"
	"time"
)

// Format says which grammar a line was parsed with.
type Format uint8

// The formats [Parser] recognises.
const (
	FormatUnparsed Format = iota // no grammar matched; Message holds the line
	FormatOslo                   // OpenStack oslo.log (default context format or devstack)
	FormatRFC5424                // RFC 5424 syslog
	FormatRFC3164                // RFC 3164 (BSD) syslog
	FormatGeneric                // a timestamp, a component, a message
)

var formatNames = [...]string{"unparsed", "oslo", "rfc5424", "rfc3164", "generic"}

func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return "unknown"
}

// Record is one parsed line. Its byte-slice fields alias the line passed to
// [Parser.Parse]; copy them (or call [Record.Clone]) to keep them after the
// line's buffer is reused. Empty slices mean the line did not carry the field.
type Record struct {
	// Seq is a caller-assigned sequence number (the store's); detections
	// name the lines they consumed by it. The [Engine] numbers records
	// itself when Seq is zero.
	Seq    uint64
	Format Format
	// Wrapped is set when an oslo.log line was found inside a syslog message.
	Wrapped bool
	Time    time.Time
	// Source is the log-file name prefix some collectors add
	// (nova-api.log.1.2017-05-16_13:53:08).
	Source    []byte
	Host      []byte
	Component []byte // oslo logger name or syslog program
	PID       int
	Level     []byte
	RequestID []byte
	UserID    []byte
	ProjectID []byte // the tenant in OpenStack
	Instance  []byte // from "[instance: <uuid>]"
	Volume    []byte // a volume uuid named in the message
	Addr      []byte // the first IPv4 address in the message
	Message   []byte
	Line      []byte // the whole line without its end of line
}

// Clone returns a copy of r whose fields no longer alias the parsed line.
func (r Record) Clone() Record {
	line := append([]byte(nil), r.Line...)
	re := func(b []byte) []byte {
		if b == nil {
			return nil
		}
		return append([]byte(nil), b...)
	}
	c := r
	c.Line = line
	c.Source, c.Host, c.Component, c.Level = re(r.Source), re(r.Host), re(r.Component), re(r.Level)
	c.RequestID, c.UserID, c.ProjectID = re(r.RequestID), re(r.UserID), re(r.ProjectID)
	c.Instance, c.Volume, c.Addr, c.Message = re(r.Instance), re(r.Volume), re(r.Addr), re(r.Message)
	return c
}

// LogValue keeps raw log content out of logs: only the format, time,
// component and sequence number are shown.
func (r Record) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Uint64("seq", r.Seq),
		slog.String("format", r.Format.String()),
		slog.Time("time", r.Time),
		slog.String("component", string(r.Component)),
		slog.String("message", "[redacted]"),
	)
}
