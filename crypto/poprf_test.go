package crypto

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"filippo.io/edwards25519"
	"github.com/cloudflare/circl/oprf"
)

type hexList [][]byte

func (h *hexList) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	for _, part := range strings.Split(s, ",") {
		v, err := hex.DecodeString(part)
		if err != nil {
			return err
		}
		*h = append(*h, v)
	}
	return nil
}

type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	*h = v
	return err
}

type rfcVectors struct {
	Source string `json:"source"`
	Suite  struct {
		Identifier string   `json:"identifier"`
		Mode       int      `json:"mode"`
		SkSm       hexBytes `json:"skSm"`
		PkSm       hexBytes `json:"pkSm"`
		Vectors    []struct {
			Batch             int      `json:"Batch"`
			Blind             hexList  `json:"Blind"`
			Info              hexBytes `json:"Info"`
			Input             hexList  `json:"Input"`
			BlindedElement    hexList  `json:"BlindedElement"`
			EvaluationElement hexList  `json:"EvaluationElement"`
			Output            hexList  `json:"Output"`
			Proof             struct {
				Proof hexBytes `json:"proof"`
				R     hexBytes `json:"r"`
			} `json:"Proof"`
		} `json:"vectors"`
	} `json:"suite"`
}

func scalarFrom(t *testing.T, b []byte) *edwards25519.Scalar {
	t.Helper()
	s, err := edwards25519.NewScalar().SetCanonicalBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRFC9497Vectors runs the RFC 9497 POPRF ristretto255-SHA512 vectors
// through the code paths the package uses: client blinding and finalisation
// (circl), server evaluation and proof, and the fast FullEvaluate.
func TestRFC9497Vectors(t *testing.T) {
	raw, err := os.ReadFile("../testdata/crypto/rfc9497-ristretto255-sha512-poprf.json")
	if err != nil {
		t.Fatal(err)
	}
	var v rfcVectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if v.Suite.Identifier != "ristretto255-SHA512" || v.Suite.Mode != 2 || len(v.Suite.Vectors) == 0 {
		t.Fatal("unexpected vector file")
	}
	sk := scalarFrom(t, v.Suite.SkSm)
	pk := newPeriodKey(0, sk)
	if !bytes.Equal(pk.pub[:], v.Suite.PkSm) {
		t.Fatalf("public key %x, want %x", pk.pub, v.Suite.PkSm)
	}
	for i, tv := range v.Suite.Vectors {
		blinds := make([]*edwards25519.Scalar, len(tv.Blind))
		for j, b := range tv.Blind {
			blinds[j] = scalarFrom(t, b)
		}
		st, err := blindInputs(pk.pub[:], tv.Input, blinds)
		if err != nil {
			t.Fatalf("vector %d: blind: %v", i, err)
		}
		for j := range st.req {
			if !bytes.Equal(st.req[j], tv.BlindedElement[j]) {
				t.Fatalf("vector %d: blinded %d = %x, want %x", i, j, st.req[j], tv.BlindedElement[j])
			}
		}
		ev, proof, err := blindEvaluate(sk, tv.Info, st.req, scalarFrom(t, tv.Proof.R))
		if err != nil {
			t.Fatalf("vector %d: evaluate: %v", i, err)
		}
		for j := range ev {
			if !bytes.Equal(ev[j], tv.EvaluationElement[j]) {
				t.Fatalf("vector %d: evaluation %d = %x, want %x", i, j, ev[j], tv.EvaluationElement[j])
			}
		}
		if !bytes.Equal(proof, tv.Proof.Proof) {
			t.Fatalf("vector %d: proof %x, want %x", i, proof, tv.Proof.Proof)
		}
		out, err := st.finalize(tv.Info, ev, proof)
		if err != nil {
			t.Fatalf("vector %d: finalize: %v", i, err)
		}
		_, tInv, err := tweak(sk, tv.Info)
		if err != nil {
			t.Fatal(err)
		}
		for j := range out {
			if !bytes.Equal(out[j][:], tv.Output[j]) {
				t.Fatalf("vector %d: output %d = %x, want %x", i, j, out[j], tv.Output[j])
			}
			full, err := fullEvaluate(tInv, tv.Input[j], tv.Info)
			if err != nil || !bytes.Equal(full[:], tv.Output[j]) {
				t.Fatalf("vector %d: fast FullEvaluate %d = %x, want %x (%v)", i, j, full, tv.Output[j], err)
			}
		}
	}
}

// The fast minting path is byte-identical to circl's FullEvaluate on random
// keys, inputs and info.
func TestFullEvaluateMatchesCircl(t *testing.T) {
	for i := 0; i < 64; i++ {
		sk, err := randomScalar(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		var priv oprf.PrivateKey
		if err := priv.UnmarshalBinary(oprf.SuiteRistretto255, sk.Bytes()); err != nil {
			t.Fatal(err)
		}
		srv := oprf.NewPartialObliviousServer(oprf.SuiteRistretto255, &priv)
		input := make([]byte, i*7)
		info := make([]byte, i*3)
		rand.Read(input)
		rand.Read(info)
		want, err := srv.FullEvaluate(input, info)
		if err != nil {
			t.Fatal(err)
		}
		_, tInv, err := tweak(sk, info)
		if err != nil {
			t.Fatal(err)
		}
		got, err := fullEvaluate(tInv, input, info)
		if err != nil || !bytes.Equal(got[:], want) {
			t.Fatalf("mismatch on input %x info %x", input, info)
		}
	}
}

func testSchedule() Schedule {
	return Schedule{Origin: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Length: 30 * 24 * time.Hour, Overlap: 7 * 24 * time.Hour}
}

var testNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func newTestKeyring(t testing.TB) *Keyring {
	t.Helper()
	kr, err := NewKeyring(rand.Reader, testSchedule(), testNow)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func testDescriptors(n int) []Descriptor {
	ds := make([]Descriptor, n)
	for i := range ds {
		ds[i] = Descriptor{PatternID: "nova.vm-migrated", ResourceID: "instance-" + strings.Repeat("x", i%5) + string(rune('a'+i%26)), Params: []Param{{"zone", "az1"}, {"count", string(rune('0' + i%10))}}}
	}
	return ds
}

// register runs a full blind registration through the wire bytes.
func register(t testing.TB, kr *Keyring, authTenant, claimedTenant string, ds []Descriptor) ([]Token, error) {
	t.Helper()
	dirBytes, err := kr.Directory(testNow)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := ParseDirectory(dirBytes, kr.BoardPublicKey())
	if err != nil {
		t.Fatal(err)
	}
	key, err := dir.KeyAt(testNow)
	if err != nil {
		t.Fatal(err)
	}
	reg, req, err := Blind(rand.Reader, key, claimedTenant, ds)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := kr.Evaluate(rand.Reader, authTenant, testNow, req)
	if err != nil {
		t.Fatal(err)
	}
	return reg.Finalize(resp)
}

func TestRegistrationMatchesMinting(t *testing.T) {
	kr := newTestKeyring(t)
	ds := testDescriptors(32)
	toks, err := register(t, kr, "tenant-a", "tenant-a", ds)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMinter(kr, 1000)
	period := kr.Schedule().PeriodAt(testNow)
	for i, d := range ds {
		for round := 0; round < 2; round++ { // cold, then cached
			tok, err := m.Mint("tenant-a", period, d)
			if err != nil {
				t.Fatal(err)
			}
			if !tok.Equal(&toks[i]) {
				t.Fatalf("descriptor %d round %d: minted token differs from registered token", i, round)
			}
		}
	}
}

// Tenant B obtains evaluations for tenant A's descriptors (the server binds
// B's own authenticated id); B can never get A's token, and if B claims to
// be A locally the proof fails.
func TestCrossTenantTokensDiffer(t *testing.T) {
	kr := newTestKeyring(t)
	ds := testDescriptors(8)
	period := kr.Schedule().PeriodAt(testNow)
	m := NewMinter(kr, 0)
	tokB, err := register(t, kr, "tenant-b", "tenant-b", ds)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range ds {
		tokA, err := m.Mint("tenant-a", period, d)
		if err != nil {
			t.Fatal(err)
		}
		if tokA.Equal(&tokB[i]) {
			t.Fatal("tenant B obtained tenant A's token")
		}
	}
	if _, err := register(t, kr, "tenant-b", "tenant-a", ds); !errors.Is(err, ErrProof) {
		t.Fatalf("B claiming to be A: got %v, want ErrProof", err)
	}
}

// A server evaluating with a tenant-specific key (key partitioning) is caught
// by the proof against the published key.
func TestTenantSpecificKeyDetected(t *testing.T) {
	kr := newTestKeyring(t)
	dirBytes, _ := kr.Directory(testNow)
	dir, err := ParseDirectory(dirBytes, kr.BoardPublicKey())
	if err != nil {
		t.Fatal(err)
	}
	key, _ := dir.KeyAt(testNow)
	reg, req, err := Blind(rand.Reader, key, "tenant-a", testDescriptors(3))
	if err != nil {
		t.Fatal(err)
	}
	parsed, _ := ParseEvaluationRequest(req)
	otherSK, _ := randomScalar(rand.Reader)
	info, _ := Info("tenant-a", key.Period)
	ev, proof, err := blindEvaluate(otherSK, info, parsed.Elements, otherSK)
	if err != nil {
		t.Fatal(err)
	}
	resp := EvaluationResponse{KeyID: key.ID, Elements: ev}
	copy(resp.Proof[:], proof)
	b, _ := resp.MarshalBinary()
	if _, err := reg.Finalize(b); !errors.Is(err, ErrProof) {
		t.Fatalf("got %v, want ErrProof", err)
	}
	// Wrong info under the right key also fails.
	wrongInfo, _ := Info("tenant-a", key.Period+1)
	pk, _ := kr.KeyForPeriod(key.Period)
	ev, proof, _ = blindEvaluate(pk.sk, wrongInfo, parsed.Elements, otherSK)
	resp = EvaluationResponse{KeyID: key.ID, Elements: ev}
	copy(resp.Proof[:], proof)
	b, _ = resp.MarshalBinary()
	if _, err := reg.Finalize(b); !errors.Is(err, ErrProof) {
		t.Fatalf("wrong info: got %v, want ErrProof", err)
	}
}

func TestEvaluateRejects(t *testing.T) {
	kr := newTestKeyring(t)
	key, _ := kr.KeyForPeriod(kr.Schedule().PeriodAt(testNow))
	good := make([]byte, 32)
	copy(good, key.pub[:])
	nonCanonical, _ := hex.DecodeString("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
	mk := func(id KeyID, elems ...[]byte) []byte {
		b := []byte{evalVersion}
		b = append(b, id[:]...)
		b = append(b, byte(len(elems)>>8), byte(len(elems)))
		for _, e := range elems {
			b = append(b, e...)
		}
		return b
	}
	many := make([][]byte, MaxEvaluationBatch+1)
	for i := range many {
		many[i] = good
	}
	cases := []struct {
		name string
		req  []byte
		want error
	}{
		{"identity element", mk(key.id, good, make([]byte, 32)), ErrIdentityElement},
		{"non-canonical element", mk(key.id, nonCanonical), ErrInvalidElement},
		{"short element", mk(key.id, good)[:40], ErrMalformed},
		{"trailing byte", append(mk(key.id, good), 0), ErrMalformed},
		{"unknown key id", mk(KeyID{1}, good), ErrUnknownKey},
		{"empty batch", mk(key.id), ErrEmpty},
		{"over batch bound", mk(key.id, many...), ErrTooLarge},
		{"bad version", append([]byte{9}, mk(key.id, good)[1:]...), ErrMalformed},
		{"nil", nil, ErrMalformed},
	}
	for _, c := range cases {
		_, err := kr.Evaluate(rand.Reader, "tenant-a", testNow, c.req)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	// A key outside its window is unknown.
	if _, err := kr.Evaluate(rand.Reader, "tenant-a", testNow.Add(100*24*time.Hour), mk(key.id, good)); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("expired key: got %v", err)
	}
	if _, err := kr.Evaluate(rand.Reader, "", testNow, mk(key.id, good)); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty tenant: got %v", err)
	}
	if _, err := kr.Evaluate(nil, "tenant-a", testNow, mk(key.id, good)); !errors.Is(err, ErrNoRandomness) {
		t.Errorf("nil randomness: got %v", err)
	}
}

// Minting, evaluation, directory and rotation run concurrently (run with -race).
func TestConcurrentUse(t *testing.T) {
	kr := newTestKeyring(t)
	m := NewMinter(kr, 8)
	period := kr.Schedule().PeriodAt(testNow)
	ds := testDescriptors(16)
	want := make([]Token, len(ds))
	for i, d := range ds {
		want[i], _ = NewMinter(kr, 0).Mint("tenant-a", period, d)
	}
	done := make(chan error, 4)
	for g := 0; g < 3; g++ {
		go func() {
			for round := 0; round < 4; round++ {
				for i, d := range ds {
					tok, err := m.Mint("tenant-a", period, d)
					if err != nil || !tok.Equal(&want[i]) {
						done <- errors.New("concurrent mint differs")
						return
					}
				}
			}
			done <- nil
		}()
	}
	go func() {
		for i := 0; i < 20; i++ {
			kr.Rotate(rand.Reader, testNow)
			kr.Directory(testNow)
		}
		done <- nil
	}()
	for i := 0; i < 4; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
