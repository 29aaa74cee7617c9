package logcore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/hisoka-project/hisoka/store"
)

// A block's records are stored column by column before compression, which
// lets zstd see like next to like (times as small deltas, hosts with hosts,
// lines with lines):
//
//	uvarint count
//	count × flags byte       severity | 0x10 if Time is zero | 0x20 if Received is zero
//	count × times            zigzag varint Time - previous Time (if set),
//	                         zigzag varint Received - (Time if set, else previous Received) (if set)
//	count × uvarint-prefixed Host, then App, then Source
//	count × fields           uvarint n, n × (uvarint-prefixed key, value)
//	count × uvarint-prefixed Line
//
// Seqs are implied: First + index.

const (
	flagNoTime = 0x10
	flagNoRecv = 0x20
	colFormat  = 2
)

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// encodeColumns appends the column layout of rs to b.
func encodeColumns(b []byte, rs []store.Record) []byte {
	var fk fieldKeys
	for i := range rs {
		fk.add(rs[i].Fields)
	}
	return encodeColumnsKeys(b, rs, &fk)
}

// fieldKeys holds the sorted field names of a run of records, flattened:
// record i's are names[off[i]:off[i+1]].
type fieldKeys struct {
	names []string
	off   []int32
}

func (f *fieldKeys) reset() {
	clear(f.names)
	f.names, f.off = f.names[:0], append(f.off[:0], 0)
}

// add appends the sorted names of the next record's fields.
func (f *fieldKeys) add(m map[string]string) {
	if len(f.off) == 0 {
		f.off = append(f.off, 0)
	}
	f.names = sortedFieldKeys(f.names, m)
	f.off = append(f.off, int32(len(f.names)))
}

func (f *fieldKeys) of(i int) []string { return f.names[f.off[i]:f.off[i+1]] }

// encodeColumnsKeys is encodeColumns with the records' sorted field names.
func encodeColumnsKeys(b []byte, rs []store.Record, fk *fieldKeys) []byte {
	b = append(b, colFormat)
	b = binary.AppendUvarint(b, uint64(len(rs)))
	for i := range rs {
		f := rs[i].Severity
		if rs[i].Time.IsZero() {
			f |= flagNoTime
		}
		if rs[i].Received.IsZero() {
			f |= flagNoRecv
		}
		b = append(b, f)
	}
	var prevT, prevR int64
	for i := range rs {
		if !rs[i].Time.IsZero() {
			t := rs[i].Time.UnixNano()
			b = binary.AppendVarint(b, t-prevT)
			prevT, prevR = t, t
		}
		if !rs[i].Received.IsZero() {
			r := rs[i].Received.UnixNano()
			b = binary.AppendVarint(b, r-prevR)
			prevR = r
		}
	}
	for i := range rs {
		b = appendStr(b, rs[i].Host)
	}
	for i := range rs {
		b = appendStr(b, rs[i].App)
	}
	for i := range rs {
		b = appendStr(b, rs[i].Source)
	}
	for i := range rs {
		keys := fk.of(i)
		b = binary.AppendUvarint(b, uint64(len(keys)))
		for _, k := range keys {
			b = appendStr(b, k)
			b = appendStr(b, rs[i].Fields[k])
		}
	}
	for i := range rs {
		b = appendStr(b, rs[i].Line)
	}
	return b
}

// sortedFieldKeys appends the names of m to keys, the appended ones sorted.
func sortedFieldKeys(keys []string, m map[string]string) []string {
	start := len(keys)
	for k := range m {
		keys = append(keys, k)
	}
	// insertion sort: few fields
	for i := start + 1; i < len(keys); i++ {
		for j := i; j > start && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

type colReader struct {
	b   []byte
	err error
}

func (r *colReader) uvarint(max uint64) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > max {
		r.err = errors.New("bad length")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *colReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errors.New("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *colReader) str(max int) string {
	n := r.uvarint(uint64(max))
	if r.err != nil {
		return ""
	}
	if uint64(len(r.b)) < n {
		r.err = errors.New("truncated")
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// decodeColumns decodes a block's records; first is the seq of the first.
func decodeColumns(b []byte, first uint64, want int) ([]store.Record, error) {
	r := colReader{b: b}
	if len(b) == 0 || b[0] != colFormat {
		return nil, fmt.Errorf("%w: block format", store.ErrCorrupt)
	}
	r.b = r.b[1:]
	n := int(r.uvarint(MaxBlockRecords))
	if r.err == nil && (n != want || len(r.b) < n) {
		r.err = errors.New("record count")
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: block: %v", store.ErrCorrupt, r.err)
	}
	rs := make([]store.Record, n)
	flags := r.b[:n]
	r.b = r.b[n:]
	var prevT, prevR int64
	for i := range rs {
		rs[i].Seq = first + uint64(i)
		rs[i].Severity = flags[i] & 0x0f
		if flags[i]&^(0x0f|flagNoTime|flagNoRecv) != 0 || rs[i].Severity > 7 {
			r.err = errors.New("bad flags")
			break
		}
		if flags[i]&flagNoTime == 0 {
			t := prevT + r.varint()
			rs[i].Time = time.Unix(0, t).UTC()
			prevT, prevR = t, t
		}
		if flags[i]&flagNoRecv == 0 {
			v := prevR + r.varint()
			rs[i].Received = time.Unix(0, v).UTC()
			prevR = v
		}
	}
	for i := range rs {
		rs[i].Host = r.str(store.MaxFieldLen)
	}
	for i := range rs {
		rs[i].App = r.str(store.MaxFieldLen)
	}
	for i := range rs {
		rs[i].Source = r.str(store.MaxFieldLen)
	}
	for i := 0; i < n && r.err == nil; i++ {
		nf := r.uvarint(store.MaxFields)
		for j := uint64(0); j < nf && r.err == nil; j++ {
			k := r.str(store.MaxFieldLen)
			v := r.str(store.MaxFieldLen)
			if rs[i].Fields == nil {
				rs[i].Fields = make(map[string]string, nf)
			}
			rs[i].Fields[k] = v
		}
		if r.err == nil && uint64(len(rs[i].Fields)) != nf {
			r.err = errors.New("duplicate field")
		}
	}
	for i := range rs {
		rs[i].Line = r.str(store.MaxLineLen)
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = errors.New("trailing bytes")
	}
	if r.err == nil {
		for i := range rs {
			if err := rs[i].Validate(); err != nil {
				r.err = err
				break
			}
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: block: %v", store.ErrCorrupt, r.err)
	}
	return rs, nil
}
