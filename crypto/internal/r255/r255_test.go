package r255

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"filippo.io/edwards25519"
	"github.com/cloudflare/circl/group"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Multiples of the generator from RFC 9496 appendix A.1.
func TestGeneratorMultiples(t *testing.T) {
	want := []string{
		"0000000000000000000000000000000000000000000000000000000000000000",
		"e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76",
		"6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919",
	}
	g := new(Element).Generator()
	acc := NewElement()
	for i, w := range want {
		got := acc.Bytes(nil)
		if hex.EncodeToString(got) != w {
			t.Fatalf("%d*G = %x, want %s", i, got, w)
		}
		back, err := new(Element).SetCanonicalBytes(got)
		if err != nil || back.Equal(acc) != 1 {
			t.Fatalf("%d*G does not decode back: %v", i, err)
		}
		acc.Add(acc, g)
	}
}

func TestRejectsBadEncodings(t *testing.T) {
	bad := []struct{ name, hex string }{
		{"field element equal to p (non-canonical)", "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
		{"top bit set", "0000000000000000000000000000000000000000000000000000000000000080"},
		{"negative field element s=1", "0100000000000000000000000000000000000000000000000000000000000000"},
		{"not square (RFC 9496 A.2)", "26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371"},
		{"too short", "00"},
	}
	for _, b := range bad {
		if _, err := new(Element).SetCanonicalBytes(mustHex(t, b.hex)); err == nil {
			t.Errorf("%s: accepted", b.name)
		}
	}
}

// Random elements and hashes agree byte for byte with circl's ristretto255.
func TestMatchesCircl(t *testing.T) {
	dst := []byte("HashToGroup-OPRFV1-\x02-ristretto255-SHA512")
	for i := 0; i < 200; i++ {
		msg := make([]byte, i)
		rand.Read(msg)
		mine, err := new(Element).HashToElement(msg, dst)
		if err != nil {
			t.Fatal(err)
		}
		theirs, _ := group.Ristretto255.HashToElement(msg, dst).MarshalBinaryCompress()
		enc := mine.Bytes(nil)
		if !bytes.Equal(enc, theirs) {
			t.Fatalf("hash to group differs for %x", msg)
		}
		var sb [64]byte
		rand.Read(sb[:])
		s, _ := edwards25519.NewScalar().SetUniformBytes(sb[:])
		cs := group.Ristretto255.NewScalar()
		if err := cs.UnmarshalBinary(s.Bytes()); err != nil {
			t.Fatal(err)
		}
		prod := new(Element).ScalarMult(s, mine).Bytes(nil)
		cprod, _ := group.Ristretto255.NewElement().Mul(group.Ristretto255.HashToElement(msg, dst), cs).MarshalBinaryCompress()
		if !bytes.Equal(prod, cprod) {
			t.Fatalf("scalar mult differs")
		}
		back, err := new(Element).SetCanonicalBytes(prod)
		if err != nil || !bytes.Equal(back.Bytes(nil), prod) {
			t.Fatalf("decode/encode round trip failed: %v", err)
		}
		hs, _ := HashToScalar(msg, []byte("HashToScalar-test"))
		chs, _ := group.Ristretto255.HashToScalar(msg, []byte("HashToScalar-test")).MarshalBinary()
		if !bytes.Equal(hs.Bytes(), chs) {
			t.Fatalf("hash to scalar differs")
		}
	}
}

func FuzzSetCanonicalBytes(f *testing.F) {
	f.Add(make([]byte, 32))
	f.Add(mustHex(f, "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76"))
	f.Fuzz(func(t *testing.T, in []byte) {
		e, err := new(Element).SetCanonicalBytes(in)
		if err != nil {
			if e != nil {
				t.Fatal("non-nil element with error")
			}
			return
		}
		if !bytes.Equal(e.Bytes(nil), in) {
			t.Fatalf("round trip changed %x", in)
		}
		if cerr := group.Ristretto255.NewElement().UnmarshalBinary(in); cerr != nil {
			t.Fatalf("circl rejects what we accept: %x", in)
		}
	})
}

func BenchmarkHashToElement(b *testing.B) {
	dst := []byte("HashToGroup-test")
	msg := []byte("descriptor")
	for b.Loop() {
		new(Element).HashToElement(msg, dst)
	}
}

func BenchmarkScalarMult(b *testing.B) {
	var sb [64]byte
	rand.Read(sb[:])
	s, _ := edwards25519.NewScalar().SetUniformBytes(sb[:])
	p := new(Element).Generator()
	for b.Loop() {
		p.ScalarMult(s, p)
	}
}
