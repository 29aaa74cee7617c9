package auth

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// TestRFC8037Vector checks the EdDSA JWS plumbing against the RFC's
// known-answer example: same key, same signature.
func TestRFC8037Vector(t *testing.T) {
	raw, err := os.ReadFile("testdata/rfc8037-a4.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		D            string `json:"d"`
		X            string `json:"x"`
		SigningInput string `json:"signing_input"`
		Signature    string `json:"signature"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding
	seed, _ := b64.DecodeString(v.D)
	x, _ := b64.DecodeString(v.X)
	key := ed25519.NewKeyFromSeed(seed)
	if !bytes.Equal(key.Public().(ed25519.PublicKey), x) {
		t.Fatal("public key differs from the RFC's x")
	}
	sig, err := jwt.SigningMethodEdDSA.Sign(v.SigningInput, key)
	if err != nil {
		t.Fatal(err)
	}
	if got := b64.EncodeToString(sig); got != v.Signature {
		t.Fatalf("signature %s, want %s", got, v.Signature)
	}
	if err := jwt.SigningMethodEdDSA.Verify(v.SigningInput, sig, ed25519.PublicKey(x)); err != nil {
		t.Fatal(err)
	}
	// The RFC's payload is text, not JWT claims: a valid EdDSA JWS that the
	// verifier must still refuse as a token.
	f := newFixture(t)
	if _, err := f.verifier.Verify(context.Background(), v.SigningInput+"."+v.Signature); !errors.Is(err, ErrMalformedToken) {
		t.Fatalf("non-JWT payload: %v", err)
	}
}
