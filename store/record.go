package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"
)

// Record is one stored log record.
type Record struct {
	Seq      uint64            // assigned by the store, per tenant, from 1, contiguous
	Time     time.Time         // event time (from the line, or Received)
	Received time.Time         // when the service received it
	Host     string            // sending host
	App      string            // component or program
	Severity uint8             // syslog severity 0 (emergency) .. 7 (debug)
	Source   string            // e.g. sender address or shipper
	Fields   map[string]string // request_id, project, instance, ...
	Line     string            // the raw line
}

// LogValue redacts the raw line and fields.
func (r Record) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Uint64("seq", r.Seq),
		slog.Time("time", r.Time),
		slog.String("app", r.App),
		slog.Int("line_bytes", len(r.Line)),
		slog.Int("fields", len(r.Fields)),
	)
}

var _ slog.LogValuer = Record{}

// Record encoding bounds.
const (
	MaxLineLen   = 64 << 10
	MaxFieldLen  = 4 << 10
	MaxFields    = 64
	recordFormat = 1
)

var errShort = errors.New("truncated")

// validTime reports whether t can be encoded (zero, or within int64 nanoseconds).
func validTime(t time.Time) bool {
	if t.IsZero() {
		return true
	}
	y := t.Year()
	return y > 1678 && y < 2262
}

// Validate checks the record's bounds. Seq is not checked.
func (r *Record) Validate() error {
	if !validTime(r.Time) || !validTime(r.Received) {
		return fmt.Errorf("%w: time out of range", ErrInvalidRecord)
	}
	if len(r.Line) > MaxLineLen {
		return fmt.Errorf("%w: line longer than %d bytes", ErrInvalidRecord, MaxLineLen)
	}
	if len(r.Host) > MaxFieldLen || len(r.App) > MaxFieldLen || len(r.Source) > MaxFieldLen {
		return fmt.Errorf("%w: host, app or source too long", ErrInvalidRecord)
	}
	if r.Severity > 7 {
		return fmt.Errorf("%w: severity above 7", ErrInvalidRecord)
	}
	if len(r.Fields) > MaxFields {
		return fmt.Errorf("%w: more than %d fields", ErrInvalidRecord, MaxFields)
	}
	for k, v := range r.Fields {
		if k == "" || len(k) > MaxFieldLen || len(v) > MaxFieldLen {
			return fmt.Errorf("%w: field name empty or field too long", ErrInvalidRecord)
		}
	}
	return nil
}

func putTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	b = append(b, 1)
	return binary.BigEndian.AppendUint64(b, uint64(t.UnixNano()))
}

func putString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// AppendBinary appends the canonical encoding of r to b (spec/ledger.md,
// "Record encoding"); the ledger hashes exactly these bytes. Field names are
// sorted, times are UTC nanoseconds, so equal records encode equally.
func (r *Record) AppendBinary(b []byte) ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	var small [16]string
	keys := small[:0]
	for k := range r.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return r.AppendBinaryKeys(b, keys), nil
}

// AppendBinaryKeys is AppendBinary for a record that Validate accepted,
// given its field names in ascending order: an encoder that has them sorted
// already saves a pass over the map. Other keys give a wrong encoding.
func (r *Record) AppendBinaryKeys(b []byte, keys []string) []byte {
	b = append(b, recordFormat)
	b = binary.BigEndian.AppendUint64(b, r.Seq)
	b = putTime(b, r.Time)
	b = putTime(b, r.Received)
	b = append(b, r.Severity)
	b = putString(b, r.Host)
	b = putString(b, r.App)
	b = putString(b, r.Source)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = putString(b, k)
		b = putString(b, r.Fields[k])
	}
	return putString(b, r.Line)
}

// MarshalBinary returns the canonical encoding of r.
func (r *Record) MarshalBinary() ([]byte, error) { return r.AppendBinary(nil) }

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) < 1 {
		d.err = errShort
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) u64() uint64 {
	if d.err != nil || len(d.b) < 8 {
		d.err = errShort
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) uvarint(max uint64) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 || v > max || (n > 1 && d.b[n-1] == 0) {
		d.err = errors.New("bad length")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string(max int) string {
	n := d.uvarint(uint64(max))
	if d.err != nil {
		return ""
	}
	if uint64(len(d.b)) < n {
		d.err = errShort
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) time() time.Time {
	switch d.byte() {
	case 0:
		return time.Time{}
	case 1:
		return time.Unix(0, int64(d.u64())).UTC()
	default:
		if d.err == nil {
			d.err = errors.New("bad time tag")
		}
		return time.Time{}
	}
}

// UnmarshalBinary decodes a canonical encoding; it accepts only what
// AppendBinary produces (sorted unique field names, no trailing bytes).
func (r *Record) UnmarshalBinary(b []byte) error {
	n, err := r.decode(b)
	if err != nil {
		return err
	}
	if n != len(b) {
		*r = Record{}
		return fmt.Errorf("%w: trailing bytes", ErrCorrupt)
	}
	return nil
}

// decode decodes one record from the front of b and returns its length.
func (r *Record) decode(b []byte) (int, error) {
	d := decoder{b: b}
	var out Record
	if v := d.byte(); d.err == nil && v != recordFormat {
		d.err = errors.New("unknown format")
	}
	out.Seq = d.u64()
	out.Time = d.time()
	out.Received = d.time()
	out.Severity = d.byte()
	out.Host = d.string(MaxFieldLen)
	out.App = d.string(MaxFieldLen)
	out.Source = d.string(MaxFieldLen)
	nf := d.uvarint(MaxFields)
	prev := ""
	for i := uint64(0); i < nf && d.err == nil; i++ {
		k := d.string(MaxFieldLen)
		v := d.string(MaxFieldLen)
		if d.err != nil {
			break
		}
		if k == "" || (i > 0 && k <= prev) {
			d.err = errors.New("fields not sorted")
			break
		}
		prev = k
		if out.Fields == nil {
			out.Fields = make(map[string]string, nf)
		}
		out.Fields[k] = v
	}
	out.Line = d.string(MaxLineLen)
	if d.err == nil && out.Severity > 7 {
		d.err = errors.New("bad severity")
	}
	if d.err == nil && (!validTime(out.Time) || !validTime(out.Received)) {
		d.err = errors.New("time out of range")
	}
	if d.err != nil {
		*r = Record{}
		return 0, fmt.Errorf("%w: record: %v", ErrCorrupt, d.err)
	}
	*r = out
	return len(b) - len(d.b), nil
}

// DecodeRecord decodes one canonical record from the front of b, returning
// the record and the number of bytes used.
func DecodeRecord(b []byte) (Record, int, error) {
	var r Record
	n, err := r.decode(b)
	return r, n, err
}
