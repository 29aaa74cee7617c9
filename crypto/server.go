package crypto

import (
	"encoding/binary"
	"io"
	"log/slog"
	"sync"
	"time"

	"filippo.io/edwards25519"
)

const evalVersion = 1

// EvaluationRequest is the wire form of a registration: the key id the
// tenant blinded against and the blinded elements.
type EvaluationRequest struct {
	KeyID    KeyID
	Elements [][]byte // 32-byte encoded ristretto255 elements
}

// MarshalBinary returns version || key id || count (16 bits) || elements.
func (r *EvaluationRequest) MarshalBinary() ([]byte, error) {
	if len(r.Elements) == 0 {
		return nil, ErrEmpty
	}
	if len(r.Elements) > MaxEvaluationBatch {
		return nil, ErrTooLarge
	}
	b := make([]byte, 0, 1+32+2+32*len(r.Elements))
	b = append(b, evalVersion)
	b = append(b, r.KeyID[:]...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.Elements)))
	for _, e := range r.Elements {
		if len(e) != 32 {
			return nil, ErrMalformed
		}
		b = append(b, e...)
	}
	return b, nil
}

// ParseEvaluationRequest decodes a request. It checks sizes only; element
// validity is checked by [Keyring.Evaluate].
func ParseEvaluationRequest(b []byte) (*EvaluationRequest, error) {
	r := reader{b: b}
	if r.u8() != evalVersion {
		return nil, ErrMalformed
	}
	req := &EvaluationRequest{}
	copy(req.KeyID[:], r.take(32))
	n := int(r.u16())
	if r.bad {
		return nil, ErrMalformed
	}
	if n == 0 {
		return nil, ErrEmpty
	}
	if n > MaxEvaluationBatch {
		return nil, ErrTooLarge
	}
	for i := 0; i < n; i++ {
		req.Elements = append(req.Elements, r.take(32))
	}
	if !r.ok() {
		return nil, ErrMalformed
	}
	return req, nil
}

// EvaluationResponse is the server's answer: the evaluated elements in
// request order and one DLEQ proof for the batch.
type EvaluationResponse struct {
	KeyID    KeyID
	Elements [][]byte
	Proof    [64]byte
}

// MarshalBinary returns version || key id || count || elements || proof.
func (r *EvaluationResponse) MarshalBinary() ([]byte, error) {
	req := EvaluationRequest{KeyID: r.KeyID, Elements: r.Elements}
	b, err := req.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return append(b, r.Proof[:]...), nil
}

// ParseEvaluationResponse decodes a response.
func ParseEvaluationResponse(b []byte) (*EvaluationResponse, error) {
	if len(b) < 64 {
		return nil, ErrMalformed
	}
	req, err := ParseEvaluationRequest(b[:len(b)-64])
	if err != nil {
		return nil, err
	}
	resp := &EvaluationResponse{KeyID: req.KeyID, Elements: req.Elements}
	copy(resp.Proof[:], b[len(b)-64:])
	return resp, nil
}

// Evaluate answers a tenant's blind registration. tenantID must be the
// authenticated tenant (from its JWT); it is the only source of the POPRF
// info. The request names a key that must evaluate at now; every element
// must be a canonical, non-identity ristretto255 element; rnd supplies the
// proof randomness. The caller enforces the [EvaluationBudget] before calling.
func (k *Keyring) Evaluate(rnd io.Reader, tenantID string, now time.Time, request []byte) ([]byte, error) {
	req, err := ParseEvaluationRequest(request)
	if err != nil {
		return nil, err
	}
	key, err := k.keyByID(req.KeyID, now)
	if err != nil {
		return nil, err
	}
	info, err := Info(tenantID, key.period)
	if err != nil {
		return nil, err
	}
	r, err := randomScalar(rnd)
	if err != nil {
		return nil, err
	}
	ev, proof, err := blindEvaluate(key.sk, info, req.Elements, r)
	if err != nil {
		return nil, err
	}
	resp := EvaluationResponse{KeyID: key.id, Elements: ev}
	copy(resp.Proof[:], proof)
	return resp.MarshalBinary()
}

// Minter computes tokens on the server, without the tenant: for each
// detection, the token of (descriptor, owning tenant, key period). It caches
// the tweaked-key inverse per (tenant, period) and the tokens themselves, each
// cache bounded. It is safe for concurrent use.
type Minter struct {
	kr        *Keyring
	maxTokens int

	mu     sync.Mutex
	tweaks map[string]*edwards25519.Scalar // by info || key id
	tokens map[string]Token                // by info || descriptor encoding
}

// LogValue reports cache sizes only.
func (m *Minter) LogValue() slog.Value {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slog.GroupValue(slog.Int("cached_tokens", len(m.tokens)), slog.Int("cached_tenants", len(m.tweaks)))
}

// maxTweaks bounds the per-(tenant, period) inverse cache.
const maxTweaks = 1 << 16

// NewMinter returns a minter over kr caching up to maxTokens tokens (0
// disables the token cache; the per-tenant inverse is always cached).
func NewMinter(kr *Keyring, maxTokens int) *Minter {
	return &Minter{kr: kr, maxTokens: maxTokens, tweaks: map[string]*edwards25519.Scalar{}, tokens: map[string]Token{}}
}

// Mint returns the token of d for tenantID under the key of period. It is
// equal to what the tenant obtains by registering d blindly.
func (m *Minter) Mint(tenantID string, period uint64, d Descriptor) (Token, error) {
	enc, err := d.MarshalBinary()
	if err != nil {
		return Token{}, err
	}
	return m.MintEncoded(tenantID, period, enc)
}

// MintEncoded is [Minter.Mint] for an already encoded descriptor.
func (m *Minter) MintEncoded(tenantID string, period uint64, descriptor []byte) (Token, error) {
	if len(descriptor) > MaxInputLen {
		return Token{}, ErrTooLarge
	}
	key, err := m.kr.KeyForPeriod(period)
	if err != nil {
		return Token{}, err
	}
	info, err := Info(tenantID, period)
	if err != nil {
		return Token{}, err
	}
	tk := string(info) + string(descriptor)
	m.mu.Lock()
	if tok, ok := m.tokens[tk]; ok {
		m.mu.Unlock()
		return tok, nil
	}
	wk := string(info) + string(key.id[:])
	tInv, ok := m.tweaks[wk]
	m.mu.Unlock()
	if !ok {
		if _, tInv, err = tweak(key.sk, info); err != nil {
			return Token{}, err
		}
		m.mu.Lock()
		evictOne(m.tweaks, maxTweaks)
		m.tweaks[wk] = tInv
		m.mu.Unlock()
	}
	tok, err := fullEvaluate(tInv, descriptor, info)
	if err != nil {
		return Token{}, err
	}
	if m.maxTokens > 0 {
		m.mu.Lock()
		evictOne(m.tokens, m.maxTokens)
		m.tokens[tk] = tok
		m.mu.Unlock()
	}
	return tok, nil
}

// evictOne makes room for one entry by dropping an arbitrary one.
func evictOne[V any](m map[string]V, limit int) {
	if len(m) < limit {
		return
	}
	for k := range m {
		delete(m, k)
		return
	}
}
