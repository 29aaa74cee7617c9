package crypto

import (
	"encoding/binary"
	"unicode/utf8"
)

// maxField is the largest length-prefixed field (a 16-bit length).
const maxField = 0xffff

func appendField(b []byte, f []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(f)))
	return append(b, f...)
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// reader decodes the canonical encodings. Every method returns ok=false on
// short input; callers turn that into ErrMalformed.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) take(n int) []byte {
	if r.bad || n < 0 || len(r.b) < n {
		r.bad = true
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u8() uint8 {
	b := r.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (r *reader) u16() uint16 {
	b := r.take(2)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint16(b)
}

func (r *reader) u32() uint32 {
	b := r.take(4)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

func (r *reader) u64() uint64 {
	b := r.take(8)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func (r *reader) field() []byte { return r.take(int(r.u16())) }

// text reads a length-prefixed UTF-8 string.
func (r *reader) text() string {
	b := r.field()
	if !utf8.Valid(b) {
		r.bad = true
	}
	return string(b)
}

// ok reports whether everything parsed and nothing is left over.
func (r *reader) ok() bool { return !r.bad && len(r.b) == 0 }
