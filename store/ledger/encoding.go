package ledger

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Encoding bounds.
const (
	MaxTenantLen = 1024
	MaxTail      = 1 << 20
	cpMagic      = "HLC1"
	proofMagic   = "HLP1"
)

// AppendBinary appends c's encoding (spec/ledger.md, "Checkpoint encoding").
func (c *Checkpoint) AppendBinary(b []byte) ([]byte, error) {
	if len(c.Tenant) > MaxTenantLen || len(c.Sig) > 255 {
		return nil, fmt.Errorf("%w: tenant or signature too long", ErrMalformed)
	}
	b = append(b, cpMagic...)
	b = binary.AppendUvarint(b, uint64(len(c.Tenant)))
	b = append(b, c.Tenant...)
	b = binary.BigEndian.AppendUint64(b, c.Seq)
	b = append(b, c.Head[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(c.Time.UnixNano()))
	b = append(b, byte(len(c.Sig)))
	return append(b, c.Sig...), nil
}

// MarshalBinary encodes c.
func (c *Checkpoint) MarshalBinary() ([]byte, error) { return c.AppendBinary(nil) }

// UnmarshalBinary decodes exactly one checkpoint.
func (c *Checkpoint) UnmarshalBinary(b []byte) error {
	r := reader{b: b}
	out := r.checkpoint()
	if r.err == nil && len(r.b) != 0 {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		*c = Checkpoint{}
		return r.err
	}
	*c = out
	return nil
}

// AppendBinary appends p's encoding (spec/ledger.md, "Proof encoding").
func (p *Proof) AppendBinary(b []byte) ([]byte, error) {
	if len(p.Tenant) > MaxTenantLen || len(p.Tail) > MaxTail {
		return nil, fmt.Errorf("%w: tenant or tail too long", ErrMalformed)
	}
	b = append(b, proofMagic...)
	b = binary.AppendUvarint(b, uint64(len(p.Tenant)))
	b = append(b, p.Tenant...)
	b = binary.BigEndian.AppendUint64(b, p.From)
	b = binary.BigEndian.AppendUint64(b, p.To)
	b = append(b, p.Prev[:]...)
	b = binary.AppendUvarint(b, uint64(len(p.Tail)))
	for i := range p.Tail {
		b = append(b, p.Tail[i][:]...)
	}
	return p.Checkpoint.AppendBinary(b)
}

// MarshalBinary encodes p.
func (p *Proof) MarshalBinary() ([]byte, error) { return p.AppendBinary(nil) }

// UnmarshalBinary decodes exactly one proof. It checks the structure only;
// Verify checks the content.
func (p *Proof) UnmarshalBinary(b []byte) error {
	r := reader{b: b}
	var out Proof
	r.magic(proofMagic)
	out.Tenant = r.str()
	out.From = r.u64()
	out.To = r.u64()
	r.hash(&out.Prev)
	n := r.uvarint(MaxTail)
	if r.err == nil && uint64(len(r.b)) < n*32 {
		r.fail("truncated tail")
	}
	if r.err == nil && n > 0 {
		out.Tail = make([]Hash, n)
		for i := range out.Tail {
			r.hash(&out.Tail[i])
		}
	}
	out.Checkpoint = r.checkpoint()
	if r.err == nil && len(r.b) != 0 {
		r.fail("trailing bytes")
	}
	if r.err == nil && (out.From == 0 || out.To < out.From || out.Checkpoint.Seq != out.To+uint64(len(out.Tail)) || out.Checkpoint.Tenant != out.Tenant) {
		r.fail("inconsistent range")
	}
	if r.err != nil {
		*p = Proof{}
		return r.err
	}
	*p = out
	return nil
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(why string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrMalformed, why)
	}
}

func (r *reader) take(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if uint64(len(r.b)) < n {
		r.fail("truncated")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) magic(m string) {
	if v := r.take(uint64(len(m))); r.err == nil && string(v) != m {
		r.fail("bad magic")
	}
}

func (r *reader) u64() uint64 {
	v := r.take(8)
	if r.err != nil {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func (r *reader) uvarint(max uint64) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > max || (n > 1 && r.b[n-1] == 0) {
		r.fail("bad length")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) str() string {
	return string(r.take(r.uvarint(MaxTenantLen)))
}

func (r *reader) hash(h *Hash) {
	if v := r.take(32); r.err == nil {
		copy(h[:], v)
	}
}

func (r *reader) checkpoint() Checkpoint {
	var c Checkpoint
	r.magic(cpMagic)
	c.Tenant = r.str()
	c.Seq = r.u64()
	r.hash(&c.Head)
	c.Time = time.Unix(0, int64(r.u64())).UTC()
	n := r.take(1)
	if r.err == nil {
		c.Sig = append([]byte(nil), r.take(uint64(n[0]))...)
	}
	return c
}
