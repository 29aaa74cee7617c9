package crypto

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha512"
	"io"
	"log/slog"

	"filippo.io/edwards25519"
	"github.com/cloudflare/circl/hpke"
)

// hpkeSuite is HPKE (RFC 9180) base mode with DHKEM(X25519, HKDF-SHA256),
// HKDF-SHA256 and ChaCha20-Poly1305.
func hpkeSuite() hpke.Suite {
	return hpke.NewSuite(hpke.KEM_X25519_HKDF_SHA256, hpke.KDF_HKDF_SHA256, hpke.AEAD_ChaCha20Poly1305)
}

// Identity is a tenant's long-term Ed25519 key. It signs the tenant's JWTs
// and, converted to X25519, receives HPKE-sealed material. It redacts itself
// in logs.
type Identity struct {
	priv ed25519.PrivateKey
}

// NewIdentity generates an identity from rnd.
func NewIdentity(rnd io.Reader) (*Identity, error) {
	if rnd == nil {
		return nil, ErrNoRandomness
	}
	_, priv, err := ed25519.GenerateKey(rnd)
	if err != nil {
		return nil, err
	}
	return &Identity{priv: priv}, nil
}

// IdentityFromSeed restores an identity from its 32-byte seed.
func IdentityFromSeed(seed []byte) (*Identity, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, ErrMalformed
	}
	return &Identity{priv: ed25519.NewKeyFromSeed(seed)}, nil
}

// Seed returns a copy of the 32-byte seed, for storage.
func (id *Identity) Seed() []byte { return bytes.Clone(id.priv.Seed()) }

// PrivateKey returns the Ed25519 private key (for signing JWTs).
func (id *Identity) PrivateKey() ed25519.PrivateKey { return bytes.Clone(id.priv) }

// Public returns the Ed25519 public key.
func (id *Identity) Public() ed25519.PublicKey {
	return bytes.Clone(id.priv.Public().(ed25519.PublicKey))
}

// LogValue redacts the secret key.
func (id *Identity) LogValue() slog.Value {
	return slog.GroupValue(slog.String("secret", "REDACTED"))
}

// CheckPublicKey accepts only canonical Ed25519 public keys of prime order:
// it rejects non-canonical encodings, the small-order points (which
// crypto/ed25519 accepts) and points with a torsion component.
func CheckPublicKey(pub ed25519.PublicKey) (*edwards25519.Point, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, ErrPublicKey
	}
	p, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil || !bytes.Equal(p.Bytes(), pub) {
		return nil, ErrPublicKey
	}
	eightP := new(edwards25519.Point).MultByCofactor(p)
	if eightP.Equal(edwards25519.NewIdentityPoint()) == 1 {
		return nil, ErrPublicKey
	}
	var eight [32]byte
	eight[0] = 8
	inv8, err := edwards25519.NewScalar().SetCanonicalBytes(eight[:])
	if err != nil {
		return nil, err
	}
	inv8.Invert(inv8)
	if new(edwards25519.Point).ScalarMult(inv8, eightP).Equal(p) != 1 {
		return nil, ErrPublicKey
	}
	return p, nil
}

// X25519PublicKey converts a tenant's Ed25519 public key to X25519 (the
// birational map, edwards25519's BytesMontgomery) after [CheckPublicKey].
func X25519PublicKey(pub ed25519.PublicKey) ([]byte, error) {
	p, err := CheckPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return p.BytesMontgomery(), nil
}

// x25519Private is the X25519 private key matching X25519PublicKey: the
// clamped first half of SHA-512(seed), the Ed25519 secret scalar.
func (id *Identity) x25519Private() []byte {
	h := sha512.Sum512(id.priv.Seed())
	s := h[:32]
	s[0] &= 248
	s[31] &= 127
	s[31] |= 64
	return s
}

func hpkeInfo(context string) []byte {
	return appendString(appendString(nil, hpkeInfoLabel), context)
}

// SealTo encrypts plaintext to a tenant's Ed25519 public key with HPKE,
// bound to context (a short label naming the purpose, e.g. "export key").
// The result is the 32-byte encapsulated key followed by the ciphertext.
func SealTo(rnd io.Reader, pub ed25519.PublicKey, context string, plaintext []byte) ([]byte, error) {
	if len(context) > maxField {
		return nil, ErrTooLarge
	}
	if rnd == nil {
		return nil, ErrNoRandomness
	}
	xpub, err := X25519PublicKey(pub)
	if err != nil {
		return nil, err
	}
	pk, err := hpke.KEM_X25519_HKDF_SHA256.Scheme().UnmarshalBinaryPublicKey(xpub)
	if err != nil {
		return nil, ErrPublicKey
	}
	snd, err := hpkeSuite().NewSender(pk, hpkeInfo(context))
	if err != nil {
		return nil, err
	}
	enc, sealer, err := snd.Setup(rnd)
	if err != nil {
		return nil, err
	}
	ct, err := sealer.Seal(plaintext, nil)
	if err != nil {
		return nil, err
	}
	return append(enc, ct...), nil
}

// Open decrypts a message sealed by [SealTo] to this identity for context.
func (id *Identity) Open(context string, sealed []byte) ([]byte, error) {
	const encSize = 32
	if len(sealed) < encSize+16 || len(context) > maxField {
		return nil, ErrOpen
	}
	sk, err := hpke.KEM_X25519_HKDF_SHA256.Scheme().UnmarshalBinaryPrivateKey(id.x25519Private())
	if err != nil {
		return nil, err
	}
	rcv, err := hpkeSuite().NewReceiver(sk, hpkeInfo(context))
	if err != nil {
		return nil, err
	}
	opener, err := rcv.Setup(sealed[:encSize])
	if err != nil {
		return nil, ErrOpen
	}
	pt, err := opener.Open(sealed[encSize:], nil)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}
