// Package r255 is the ristretto255 prime-order group of RFC 9496, built on
// filippo.io/edwards25519, with the hash-to-group and hash-to-scalar maps that
// RFC 9497 uses for the ristretto255-SHA512 suite (expand_message_xmd with
// SHA-512, RFC 9380).
//
// It exists so that the server's token minting can run on the faster
// edwards25519 field arithmetic; its outputs are byte-identical to
// github.com/cloudflare/circl/group.Ristretto255, which the tests check on
// the RFC vectors and on random inputs. Scalar multiplication is constant time.
package r255

import (
	"crypto/sha512"
	"errors"
	"math/big"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// ErrEncoding is returned by [Element.SetCanonicalBytes] for a string that is
// not the canonical encoding of a ristretto255 element.
var ErrEncoding = errors.New("r255: invalid element encoding")

// ErrLength is returned by [ExpandMessageXMD] for an output length it cannot produce.
var ErrLength = errors.New("r255: invalid expand length")

// ErrDST is returned when a domain separation tag is empty or longer than 255 bytes.
var ErrDST = errors.New("r255: invalid domain separation tag")

// Element is a ristretto255 group element. The zero value is not valid; use
// [NewElement].
type Element struct {
	p edwards25519.Point
}

// constants holds the field constants of RFC 9496 section 4.1.
type constants struct {
	sqrtM1, d, sqrtADMinusOne, invSqrtAMinusD, oneMinusDSq, dMinusOneSq field.Element
	one, minusOne                                                       field.Element
}

func feFromDecimal(s string) field.Element {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic("r255: bad constant")
	}
	b := n.FillBytes(make([]byte, 32))
	for i, j := 0, 31; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	var e field.Element
	if _, err := e.SetBytes(b); err != nil {
		panic("r255: bad constant")
	}
	return e
}

// c holds immutable constants computed once; it carries no state.
var c = func() *constants {
	k := &constants{
		sqrtM1:         feFromDecimal("19681161376707505956807079304988542015446066515923890162744021073123829784752"),
		d:              feFromDecimal("37095705934669439343138083508754565189542113879843219016388785533085940283555"),
		sqrtADMinusOne: feFromDecimal("25063068953384623474111414158702152701244531502492656460079210482610430750235"),
		invSqrtAMinusD: feFromDecimal("54469307008909316920995813868745141605393597292927456921205312896311721017578"),
		oneMinusDSq:    feFromDecimal("1159843021668779879193775521855586647937357759715417654439879720876111806838"),
		dMinusOneSq:    feFromDecimal("40440834346308536858101042469323190826248399146238708352240133220865137265952"),
	}
	k.one.One()
	k.minusOne.Negate(&k.one)
	return k
}()

// NewElement returns the identity element.
func NewElement() *Element {
	e := &Element{}
	e.p.Set(edwards25519.NewIdentityPoint())
	return e
}

// Generator sets e to the canonical generator and returns e.
func (e *Element) Generator() *Element {
	e.p.Set(edwards25519.NewGeneratorPoint())
	return e
}

// Set sets e to x and returns e.
func (e *Element) Set(x *Element) *Element {
	e.p.Set(&x.p)
	return e
}

// Add sets e = x + y and returns e.
func (e *Element) Add(x, y *Element) *Element {
	e.p.Add(&x.p, &y.p)
	return e
}

// ScalarMult sets e = s * x in constant time and returns e.
func (e *Element) ScalarMult(s *edwards25519.Scalar, x *Element) *Element {
	e.p.ScalarMult(s, &x.p)
	return e
}

// ScalarBaseMult sets e = s * G in constant time and returns e.
func (e *Element) ScalarBaseMult(s *edwards25519.Scalar) *Element {
	e.p.ScalarBaseMult(s)
	return e
}

// Equal returns 1 if e and x represent the same ristretto255 element, else 0
// (RFC 9496 section 4.3.3), in constant time.
func (e *Element) Equal(x *Element) int {
	X1, Y1, _, _ := e.p.ExtendedCoordinates()
	X2, Y2, _, _ := x.p.ExtendedCoordinates()
	var a, b field.Element
	a.Multiply(X1, Y2)
	b.Multiply(Y1, X2)
	r := a.Equal(&b)
	a.Multiply(Y1, Y2)
	b.Multiply(X1, X2)
	return r | a.Equal(&b)
}

// IsIdentity reports whether e is the identity element.
func (e *Element) IsIdentity() bool {
	return e.Equal(NewElement()) == 1
}

// SetCanonicalBytes decodes a 32-byte canonical encoding (RFC 9496 section
// 4.3.1) and returns e, or returns ErrEncoding and leaves e unchanged.
func (e *Element) SetCanonicalBytes(in []byte) (*Element, error) {
	if len(in) != 32 {
		return nil, ErrEncoding
	}
	var s field.Element
	if _, err := s.SetBytes(in); err != nil {
		return nil, ErrEncoding
	}
	// Reject non-canonical field encodings (including a set top bit).
	var buf [32]byte
	copy(buf[:], s.Bytes())
	if buf != [32]byte(in) {
		return nil, ErrEncoding
	}
	if s.IsNegative() == 1 {
		return nil, ErrEncoding
	}
	var ss, u1, u2, u2sq, v, t0, t1 field.Element
	ss.Square(&s)
	u1.Subtract(&c.one, &ss)
	u2.Add(&c.one, &ss)
	u2sq.Square(&u2)
	// v = -(D * u1^2) - u2_sqr
	t0.Square(&u1)
	t0.Multiply(&t0, &c.d)
	t0.Negate(&t0)
	v.Subtract(&t0, &u2sq)
	// (was_square, invsqrt) = SQRT_RATIO_M1(1, v * u2_sqr)
	t1.Multiply(&v, &u2sq)
	var invsqrt field.Element
	_, wasSquare := invsqrt.SqrtRatio(&c.one, &t1)
	var denX, denY, x, y, t field.Element
	denX.Multiply(&invsqrt, &u2)
	denY.Multiply(&invsqrt, &denX)
	denY.Multiply(&denY, &v)
	x.Multiply(&s, &denX)
	x.Add(&x, &x)
	x.Absolute(&x)
	y.Multiply(&u1, &denY)
	t.Multiply(&x, &y)
	var zero field.Element
	if wasSquare == 0 || t.IsNegative() == 1 || y.Equal(&zero) == 1 {
		return nil, ErrEncoding
	}
	if _, err := e.p.SetExtendedCoordinates(&x, &y, new(field.Element).One(), &t); err != nil {
		return nil, ErrEncoding
	}
	return e, nil
}

// Bytes appends the 32-byte canonical encoding of e (RFC 9496 section 4.3.2) to b.
func (e *Element) Bytes(b []byte) []byte {
	X0, Y0, Z0, T0 := e.p.ExtendedCoordinates()
	var u1, u2, t0, invsqrt, den1, den2, zInv field.Element
	t0.Subtract(Z0, Y0)
	u1.Add(Z0, Y0)
	u1.Multiply(&u1, &t0)
	u2.Multiply(X0, Y0)
	t0.Square(&u2)
	t0.Multiply(&t0, &u1)
	invsqrt.SqrtRatio(&c.one, &t0)
	den1.Multiply(&invsqrt, &u1)
	den2.Multiply(&invsqrt, &u2)
	zInv.Multiply(&den1, &den2)
	zInv.Multiply(&zInv, T0)
	var ix0, iy0, ench, x, y, denInv field.Element
	ix0.Multiply(X0, &c.sqrtM1)
	iy0.Multiply(Y0, &c.sqrtM1)
	ench.Multiply(&den1, &c.invSqrtAMinusD)
	t0.Multiply(T0, &zInv)
	rotate := t0.IsNegative()
	x.Select(&iy0, X0, rotate)
	y.Select(&ix0, Y0, rotate)
	denInv.Select(&ench, &den2, rotate)
	t0.Multiply(&x, &zInv)
	var yNeg field.Element
	yNeg.Negate(&y)
	y.Select(&yNeg, &y, t0.IsNegative())
	var s field.Element
	s.Subtract(Z0, &y)
	s.Multiply(&s, &denInv)
	s.Absolute(&s)
	return append(b, s.Bytes()...)
}

// mapToElement is the one-way map of RFC 9496 section 4.3.4 applied to 32 bytes.
func mapToElement(in []byte) *edwards25519.Point {
	var t field.Element
	var buf [32]byte
	copy(buf[:], in)
	buf[31] &= 0x7f
	if _, err := t.SetBytes(buf[:]); err != nil {
		panic("r255: unreachable: 32-byte field input")
	}
	var r, u, v, t0, t1 field.Element
	r.Square(&t)
	r.Multiply(&r, &c.sqrtM1)
	u.Add(&r, &c.one)
	u.Multiply(&u, &c.oneMinusDSq)
	// v = (-1 - r*D) * (r + D)
	t0.Multiply(&r, &c.d)
	t0.Subtract(&c.minusOne, &t0)
	t1.Add(&r, &c.d)
	v.Multiply(&t0, &t1)
	var s, sPrime field.Element
	_, wasSquare := s.SqrtRatio(&u, &v)
	sPrime.Multiply(&s, &t)
	sPrime.Absolute(&sPrime)
	sPrime.Negate(&sPrime)
	s.Select(&s, &sPrime, wasSquare)
	var cc field.Element
	cc.Select(&c.minusOne, &r, wasSquare)
	// N = c * (r - 1) * D_MINUS_ONE_SQ - v
	var n field.Element
	n.Subtract(&r, &c.one)
	n.Multiply(&n, &cc)
	n.Multiply(&n, &c.dMinusOneSq)
	n.Subtract(&n, &v)
	var w0, w1, w2, w3, ss field.Element
	w0.Multiply(&s, &v)
	w0.Add(&w0, &w0)
	w1.Multiply(&n, &c.sqrtADMinusOne)
	ss.Square(&s)
	w2.Subtract(&c.one, &ss)
	w3.Add(&c.one, &ss)
	var X, Y, Z, T field.Element
	X.Multiply(&w0, &w3)
	Y.Multiply(&w2, &w1)
	Z.Multiply(&w1, &w3)
	T.Multiply(&w0, &w2)
	p, err := new(edwards25519.Point).SetExtendedCoordinates(&X, &Y, &Z, &T)
	if err != nil {
		panic("r255: unreachable: map output off the curve")
	}
	return p
}

// FromUniformBytes sets e to the element derived from 64 uniform bytes
// (RFC 9496 section 4.3.4) and returns e.
func (e *Element) FromUniformBytes(b *[64]byte) *Element {
	p1 := mapToElement(b[:32])
	p2 := mapToElement(b[32:])
	e.p.Add(p1, p2)
	return e
}

// ExpandMessageXMD is expand_message_xmd of RFC 9380 section 5.3.1 with
// SHA-512, for outputs of at most 255*64 bytes and a DST of 1 to 255 bytes.
func ExpandMessageXMD(out []byte, msg, dst []byte) error {
	const bLen, rLen = sha512.Size, sha512.BlockSize
	if len(dst) == 0 || len(dst) > 255 {
		return ErrDST
	}
	ell := (len(out) + bLen - 1) / bLen
	if ell > 255 || len(out) > 0xffff || len(out) == 0 {
		return ErrLength
	}
	h := sha512.New()
	var zpad [rLen]byte
	h.Write(zpad[:])
	h.Write(msg)
	h.Write([]byte{byte(len(out) >> 8), byte(len(out)), 0})
	h.Write(dst)
	h.Write([]byte{byte(len(dst))})
	b0 := h.Sum(nil)
	h.Reset()
	h.Write(b0)
	h.Write([]byte{1})
	h.Write(dst)
	h.Write([]byte{byte(len(dst))})
	bi := h.Sum(nil)
	n := copy(out, bi)
	for i := 2; i <= ell; i++ {
		x := make([]byte, bLen)
		for j := range x {
			x[j] = b0[j] ^ bi[j]
		}
		h.Reset()
		h.Write(x)
		h.Write([]byte{byte(i)})
		h.Write(dst)
		h.Write([]byte{byte(len(dst))})
		bi = h.Sum(bi[:0])
		n += copy(out[n:], bi)
	}
	return nil
}

// HashToElement sets e to hash_to_group(msg) for ristretto255 with SHA-512
// (RFC 9380 appendix B, as used by RFC 9497) and returns e.
func (e *Element) HashToElement(msg, dst []byte) (*Element, error) {
	var u [64]byte
	if err := ExpandMessageXMD(u[:], msg, dst); err != nil {
		return nil, err
	}
	return e.FromUniformBytes(&u), nil
}

// HashToScalar returns the scalar derived from msg as in RFC 9497 section
// 4.1 (64 bytes of expand_message_xmd, reduced modulo the group order).
func HashToScalar(msg, dst []byte) (*edwards25519.Scalar, error) {
	var u [64]byte
	if err := ExpandMessageXMD(u[:], msg, dst); err != nil {
		return nil, err
	}
	s, err := edwards25519.NewScalar().SetUniformBytes(u[:])
	if err != nil {
		return nil, err
	}
	return s, nil
}
