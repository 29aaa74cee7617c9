package crypto

import (
	"io"
	"log/slog"

	"filippo.io/edwards25519"
)

// Registration is a tenant's pending blind registration: the state between
// [Blind] and [Registration.Finalize]. It holds the blinds (secret).
type Registration struct {
	tenantID string
	key      DirectoryKey
	info     []byte
	state    *clientState
}

// Blind starts registering descriptors with the published key (taken from a
// verified [Directory]) for tenantID (the tenant's own id, as the server
// knows it from its JWT). It returns the state to keep and the request bytes
// to send.
func Blind(rnd io.Reader, key DirectoryKey, tenantID string, descriptors []Descriptor) (*Registration, []byte, error) {
	inputs := make([][]byte, len(descriptors))
	for i, d := range descriptors {
		enc, err := d.MarshalBinary()
		if err != nil {
			return nil, nil, err
		}
		inputs[i] = enc
	}
	return BlindEncoded(rnd, key, tenantID, inputs)
}

// BlindEncoded is [Blind] for already encoded descriptors.
func BlindEncoded(rnd io.Reader, key DirectoryKey, tenantID string, inputs [][]byte) (*Registration, []byte, error) {
	info, err := Info(tenantID, key.Period)
	if err != nil {
		return nil, nil, err
	}
	if len(inputs) > MaxEvaluationBatch {
		return nil, nil, ErrTooLarge
	}
	blinds := make([]*edwards25519.Scalar, len(inputs))
	for i := range blinds {
		if blinds[i], err = randomScalar(rnd); err != nil {
			return nil, nil, err
		}
	}
	st, err := blindInputs(key.PublicKey[:], inputs, blinds)
	if err != nil {
		return nil, nil, err
	}
	req := EvaluationRequest{KeyID: key.ID, Elements: st.req}
	b, err := req.MarshalBinary()
	if err != nil {
		return nil, nil, err
	}
	return &Registration{tenantID: tenantID, key: key, info: info, state: st}, b, nil
}

// Finalize checks the server's response and returns one token per
// descriptor, in order. The DLEQ proof is verified against the key published
// in the directory for everybody, tweaked with this tenant's own info: a
// server that evaluated with a tenant-specific key, another period's key or
// another tenant's info fails with ErrProof.
func (r *Registration) Finalize(response []byte) ([]Token, error) {
	resp, err := ParseEvaluationResponse(response)
	if err != nil {
		return nil, err
	}
	if resp.KeyID != r.key.ID {
		return nil, ErrUnknownKey
	}
	return r.state.finalize(r.info, resp.Elements, resp.Proof[:])
}

// LogValue redacts the blinds.
func (r *Registration) LogValue() slog.Value {
	return slog.GroupValue(slog.Uint64("period", r.key.Period), slog.Int("inputs", len(r.state.req)), slog.String("blinds", "REDACTED"))
}
