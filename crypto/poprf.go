package crypto

import (
	stdcrypto "crypto"
	"crypto/sha512"
	"encoding/binary"
	"errors"

	"filippo.io/edwards25519"
	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/oprf"
	"github.com/cloudflare/circl/zk/dleq"

	"github.com/hisoka-project/hisoka/crypto/internal/r255"
)

// The RFC 9497 POPRF suite ristretto255-SHA512 (mode 0x02). These are the
// suite's own domain separation strings, fixed by the RFC.
const (
	contextString   = "OPRFV1-\x02-ristretto255-SHA512"
	hashToGroupDST  = "HashToGroup-" + contextString
	hashToScalarDST = "HashToScalar-" + contextString
	finalizeLabel   = "Finalize"
	infoPrefix      = "Info"
)

// MaxEvaluationBatch is the most blinded elements one evaluation request may carry.
const MaxEvaluationBatch = 256

func dleqParams() dleq.Params {
	return dleq.Params{G: group.Ristretto255, H: stdcrypto.SHA512, DST: []byte(contextString)}
}

// tweak returns t = sk + H(info) and its inverse (RFC 9497 section 3.3.3).
// Both are secret; the inversion is constant time.
func tweak(sk *edwards25519.Scalar, info []byte) (t, tInv *edwards25519.Scalar, err error) {
	if len(info) > MaxInputLen {
		return nil, nil, ErrTooLarge
	}
	framed := make([]byte, 0, len(infoPrefix)+2+len(info))
	framed = append(framed, infoPrefix...)
	framed = binary.BigEndian.AppendUint16(framed, uint16(len(info)))
	framed = append(framed, info...)
	m, err := r255.HashToScalar(framed, []byte(hashToScalarDST))
	if err != nil {
		return nil, nil, err
	}
	t = edwards25519.NewScalar().Add(sk, m)
	if t.Equal(edwards25519.NewScalar()) == 1 {
		return nil, nil, ErrUnknownKey // sk = -H(info): the key must be replaced.
	}
	return t, edwards25519.NewScalar().Invert(t), nil
}

// finalizeHash is RFC 9497's Finalize hash for the POPRF mode.
func finalizeHash(input, info, element []byte) Token {
	h := sha512.New()
	var l [2]byte
	for _, f := range [][]byte{input, info, element} {
		binary.BigEndian.PutUint16(l[:], uint16(len(f)))
		h.Write(l[:])
		h.Write(f)
	}
	h.Write([]byte(finalizeLabel))
	var tok Token
	h.Sum(tok[:0])
	return tok
}

// fullEvaluate is RFC 9497 POPRF FullEvaluate with a precomputed tInv, on
// the edwards25519-based group: byte-identical to circl's FullEvaluate.
func fullEvaluate(tInv *edwards25519.Scalar, input, info []byte) (Token, error) {
	if len(input) > MaxInputLen || len(info) > MaxInputLen {
		return Token{}, ErrTooLarge
	}
	p, err := new(r255.Element).HashToElement(input, []byte(hashToGroupDST))
	if err != nil {
		return Token{}, err
	}
	var enc [32]byte
	p.ScalarMult(tInv, p).Bytes(enc[:0])
	return finalizeHash(input, info, enc[:]), nil
}

// decodeElement accepts only canonical, non-identity ristretto255 encodings.
func decodeElement(b []byte) (*r255.Element, error) {
	e, err := new(r255.Element).SetCanonicalBytes(b)
	if err != nil {
		return nil, ErrInvalidElement
	}
	if e.IsIdentity() {
		return nil, ErrIdentityElement
	}
	return e, nil
}

func toCirclElement(enc []byte) (group.Element, error) {
	e := group.Ristretto255.NewElement()
	if err := e.UnmarshalBinary(enc); err != nil {
		return nil, ErrInvalidElement
	}
	return e, nil
}

func toCirclScalar(s *edwards25519.Scalar) group.Scalar {
	c := group.Ristretto255.NewScalar()
	if err := c.UnmarshalBinary(s.Bytes()); err != nil {
		panic("crypto: unreachable: canonical scalar rejected")
	}
	return c
}

// blindEvaluate is the server side of RFC 9497 POPRF BlindEvaluate for a
// batch, with the proof randomness r supplied: it returns the encoded
// evaluated elements and the 64-byte proof.
func blindEvaluate(sk *edwards25519.Scalar, info []byte, blinded [][]byte, r *edwards25519.Scalar) ([][]byte, []byte, error) {
	if len(blinded) == 0 {
		return nil, nil, ErrEmpty
	}
	if len(blinded) > MaxEvaluationBatch {
		return nil, nil, ErrTooLarge
	}
	t, tInv, err := tweak(sk, info)
	if err != nil {
		return nil, nil, err
	}
	ev := make([][]byte, len(blinded))
	cBlinded := make([]group.Element, len(blinded))
	cEval := make([]group.Element, len(blinded))
	for i, b := range blinded {
		e, err := decodeElement(b)
		if err != nil {
			return nil, nil, err
		}
		ev[i] = e.ScalarMult(tInv, e).Bytes(nil)
		if cBlinded[i], err = toCirclElement(b); err != nil {
			return nil, nil, err
		}
		if cEval[i], err = toCirclElement(ev[i]); err != nil {
			return nil, nil, err
		}
	}
	ct := toCirclScalar(t)
	tweakedKey := group.Ristretto255.NewElement().MulGen(ct)
	proof, err := dleq.Prover{Params: dleqParams()}.ProveBatchWithRandomnessRFC9497(ct, tweakedKey, cEval, cBlinded, toCirclScalar(r))
	if err != nil {
		return nil, nil, err
	}
	pb, err := proof.MarshalBinary()
	if err != nil {
		return nil, nil, err
	}
	return ev, pb, nil
}

// clientState is the client side of RFC 9497 POPRF, via circl's oprf package.
type clientState struct {
	client oprf.PartialObliviousClient
	fin    *oprf.FinalizeData
	req    [][]byte
}

// blindInputs blinds inputs with the given non-zero scalars (drawn by the
// caller from its io.Reader) against the published public key.
func blindInputs(pub []byte, inputs [][]byte, blinds []*edwards25519.Scalar) (*clientState, error) {
	if len(inputs) == 0 {
		return nil, ErrEmpty
	}
	if len(inputs) > MaxEvaluationBatch {
		return nil, ErrTooLarge
	}
	for _, in := range inputs {
		if len(in) > MaxInputLen {
			return nil, ErrTooLarge
		}
	}
	if _, err := decodeElement(pub); err != nil {
		return nil, err
	}
	pk := new(oprf.PublicKey)
	if err := pk.UnmarshalBinary(oprf.SuiteRistretto255, pub); err != nil {
		return nil, ErrInvalidElement
	}
	c := oprf.NewPartialObliviousClient(oprf.SuiteRistretto255, pk)
	cb := make([]oprf.Blind, len(blinds))
	for i, b := range blinds {
		cb[i] = toCirclScalar(b)
	}
	fin, req, err := c.DeterministicBlind(inputs, cb)
	if err != nil {
		return nil, ErrEmpty
	}
	st := &clientState{client: c, fin: fin}
	for _, e := range req.Elements {
		enc, err := e.MarshalBinaryCompress()
		if err != nil {
			return nil, err
		}
		st.req = append(st.req, enc)
	}
	return st, nil
}

// finalize verifies the proof against the public key tweaked with info and
// unblinds. A proof failure means the server did not use the published key
// with this info.
func (st *clientState) finalize(info []byte, evaluated [][]byte, proof []byte) ([]Token, error) {
	if len(evaluated) != len(st.req) {
		return nil, ErrMalformed
	}
	ev := &oprf.Evaluation{Proof: new(dleq.Proof)}
	for _, b := range evaluated {
		if _, err := decodeElement(b); err != nil {
			return nil, err
		}
		e, err := toCirclElement(b)
		if err != nil {
			return nil, err
		}
		ev.Elements = append(ev.Elements, e)
	}
	if err := ev.Proof.UnmarshalBinary(group.Ristretto255, proof); err != nil {
		return nil, ErrMalformed
	}
	out, err := st.client.Finalize(st.fin, ev, info)
	if errors.Is(err, oprf.ErrInvalidProof) {
		return nil, ErrProof
	}
	if err != nil {
		return nil, ErrMalformed
	}
	toks := make([]Token, len(out))
	for i, o := range out {
		copy(toks[i][:], o)
	}
	return toks, nil
}
