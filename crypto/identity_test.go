package crypto

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"filippo.io/edwards25519"
)

func TestIdentityHPKE(t *testing.T) {
	id, err := NewIdentity(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("export key material")
	sealed, err := SealTo(rand.Reader, id.Public(), "export", msg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := id.Open("export", sealed)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := id.Open("other purpose", sealed); !errors.Is(err, ErrOpen) {
		t.Errorf("wrong context: %v", err)
	}
	other, _ := NewIdentity(rand.Reader)
	if _, err := other.Open("export", sealed); !errors.Is(err, ErrOpen) {
		t.Errorf("wrong identity: %v", err)
	}
	if _, err := id.Open("export", sealed[:20]); !errors.Is(err, ErrOpen) {
		t.Errorf("short: %v", err)
	}
	restored, err := IdentityFromSeed(id.Seed())
	if err != nil || !bytes.Equal(restored.Public(), id.Public()) {
		t.Fatal("seed round trip")
	}
}

// The X25519 private key derived from the seed matches the converted public key.
func TestX25519ConversionConsistent(t *testing.T) {
	for i := 0; i < 16; i++ {
		id, _ := NewIdentity(rand.Reader)
		xpub, err := X25519PublicKey(id.Public())
		if err != nil {
			t.Fatal(err)
		}
		priv, err := ecdh.X25519().NewPrivateKey(id.x25519Private())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(priv.PublicKey().Bytes(), xpub) {
			t.Fatal("X25519 public key does not match the private key")
		}
	}
}

func TestPublicKeyRejects(t *testing.T) {
	bad := []struct{ name, hex string }{
		{"identity (small order 1)", "0100000000000000000000000000000000000000000000000000000000000000"},
		{"order 2 point", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
		{"order 4 point", "0000000000000000000000000000000000000000000000000000000000000080"},
		{"order 8 point", "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"},
		{"order 8 point (other)", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"},
		{"non-canonical y = p+1 (identity)", "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
		{"not on curve", "0200000000000000000000000000000000000000000000000000000000000000"},
		{"short", "0100"},
	}
	for _, b := range bad {
		k, _ := hex.DecodeString(b.hex)
		if _, err := X25519PublicKey(ed25519.PublicKey(k)); !errors.Is(err, ErrPublicKey) {
			t.Errorf("%s: got %v", b.name, err)
		}
	}
	// A valid key plus a point of order 8 (a torsion component) is rejected,
	// though it is neither small order nor non-canonical.
	id, _ := NewIdentity(rand.Reader)
	p, err := CheckPublicKey(id.Public())
	if err != nil {
		t.Fatal(err)
	}
	tor, _ := hex.DecodeString("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")
	tp, err := new(edwards25519.Point).SetBytes(tor)
	if err != nil {
		t.Fatal(err)
	}
	mixed := new(edwards25519.Point).Add(p, tp).Bytes()
	if _, err := X25519PublicKey(mixed); !errors.Is(err, ErrPublicKey) {
		t.Fatalf("mixed-order key: got %v", err)
	}
}

func TestSecretsRedactInLogs(t *testing.T) {
	kr := newTestKeyring(t)
	id, _ := NewIdentity(rand.Reader)
	tok := Token{0xAB, 0xCD}
	key, _ := kr.KeyForPeriod(kr.Schedule().PeriodAt(testNow))
	m := NewMatcher("t", 0, 0)
	minter := NewMinter(kr, 10)
	minter.Mint("t", key.Period(), Descriptor{PatternID: "p", ResourceID: "r"})
	reg, _, err := Blind(rand.Reader, DirectoryKey{Period: key.Period(), ID: key.ID(), PublicKey: key.pub}, "t", testDescriptors(1))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, nil))
	l.Info("x", "keyring", kr, "identity", id, "token", tok, "key", key, "matcher", m,
		"minter", minter, "registration", reg, "tag_key", tok.TagKey(), "payload_key", tok.PayloadKey())
	out := buf.String()
	tk, pk := tok.TagKey(), tok.PayloadKey()
	for _, secret := range []string{hex.EncodeToString(key.sk.Bytes()), hex.EncodeToString(id.Seed()), "abcd", "171",
		hex.EncodeToString(tk[:4]), hex.EncodeToString(pk[:4]), " " + strconv.Itoa(int(tk[0])) + " "} {
		if strings.Contains(strings.ToLower(out), secret) {
			t.Fatalf("log line leaks a secret: %s", out)
		}
	}
	if !strings.Contains(out, "REDACTED") {
		t.Fatalf("no redaction marker: %s", out)
	}
}

func TestBudget(t *testing.T) {
	b := DefaultEvaluationBudget()
	cases := []struct {
		used, req uint64
		ok        bool
	}{
		{0, 32, true},
		{b.PerKey - 32, 32, true},
		{b.PerKey - 31, 32, false},
		{0, b.PerKey + 1, false},
		{^uint64(0), 1, false},
	}
	for _, c := range cases {
		err := b.Allow(c.used, c.req)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrBudgetExceeded)) {
			t.Errorf("Allow(%d,%d) = %v", c.used, c.req, err)
		}
	}
}

// The cap over all tenants bounds the static-DH queries a coalition of
// tenants can pool (their answers add up: same sk, known offsets).
func TestBudgetAllTenants(t *testing.T) {
	b := DefaultEvaluationBudget()
	if b.AllTenantsPerKey != DefaultAllTenantsPerKey || b.AllTenantsPerKey < 256*b.PerKey {
		t.Fatalf("default cap over all tenants %d", b.AllTenantsPerKey)
	}
	cases := []struct {
		cap, used, req uint64
		ok             bool
	}{
		{DefaultAllTenantsPerKey, 0, 256, true},
		{DefaultAllTenantsPerKey, DefaultAllTenantsPerKey - 256, 256, true},
		{DefaultAllTenantsPerKey, DefaultAllTenantsPerKey - 255, 256, false},
		{DefaultAllTenantsPerKey, ^uint64(0), 1, false},
		{10, 0, 11, false},
		{0, ^uint64(0), 256, true}, // no cap configured
	}
	for _, c := range cases {
		b.AllTenantsPerKey = c.cap
		err := b.AllowAllTenants(c.used, c.req)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrBudgetExceeded)) {
			t.Errorf("cap %d: AllowAllTenants(%d,%d) = %v", c.cap, c.used, c.req, err)
		}
	}
}
