package crypto

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/crypto/hisoka-v1-vectors.json from the code")

const vectorsPath = "../testdata/crypto/hisoka-v1-vectors.json"

// detReader is a deterministic byte stream for test vectors:
// SHA-256(seed || counter) blocks.
type detReader struct {
	seed string
	ctr  uint64
	buf  []byte
}

func (r *detReader) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) {
		var c [8]byte
		binary.BigEndian.PutUint64(c[:], r.ctr)
		r.ctr++
		h := sha256.Sum256(append([]byte(r.seed), c[:]...))
		r.buf = append(r.buf, h[:]...)
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

type hx []byte

func (h hx) MarshalJSON() ([]byte, error) { return json.Marshal(hex.EncodeToString(h)) }
func (h *hx) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	*h = v
	return err
}

// ProtocolVectors are the known answers of this protocol's own derivations
// and encodings (spec/protocol.md, section "Test vectors").
type ProtocolVectors struct {
	Source     string `json:"source"`
	Descriptor struct {
		PatternID  string  `json:"pattern_id"`
		ResourceID string  `json:"resource_id"`
		Params     []Param `json:"params"`
		Encoding   hx      `json:"encoding"`
	} `json:"descriptor"`
	Info struct {
		TenantID string `json:"tenant_id"`
		Period   uint64 `json:"period"`
		Encoding hx     `json:"encoding"`
	} `json:"info"`
	RNGSeed      string `json:"rng_seed"`
	Schedule     string `json:"schedule"`
	Now          string `json:"now"`
	SecretKey    hx     `json:"period_secret_key"`
	PublicKey    hx     `json:"period_public_key"`
	KeyID        hx     `json:"key_id"`
	BoardKey     hx     `json:"board_public_key"`
	Directory    hx     `json:"directory"`
	Request      hx     `json:"evaluation_request"`
	Response     hx     `json:"evaluation_response"`
	Token        hx     `json:"token"`
	TagKey       hx     `json:"tag_key"`
	Tags         []hx   `json:"tags_epoch_counter_0_1_2"`
	Epoch        uint64 `json:"epoch"`
	CounterKey   hx     `json:"counter_key"`
	PayloadKey   hx     `json:"payload_key"`
	Payload      hx     `json:"payload_encoding"`
	Sealed       hx     `json:"sealed_payload_counter_0"`
	Batch        hx     `json:"batch_wire"`
	BatchHash    hx     `json:"batch_hash"`
	BatchStored  hx     `json:"batch_stored"`
	NextBatch    hx     `json:"next_batch_wire"`
	IdentitySeed hx     `json:"identity_seed"`
	X25519Public hx     `json:"identity_x25519_public"`
}

func computeVectors(t *testing.T) *ProtocolVectors {
	t.Helper()
	v := &ProtocolVectors{Source: "Generated from the crypto package by `go test ./crypto -run TestProtocolVectors -update`; normative description in spec/protocol.md. Randomness is SHA-256(rng_seed || 64-bit big-endian counter) blocks."}
	v.RNGSeed = "hisoka test vectors"
	rnd := &detReader{seed: v.RNGSeed}
	s := Schedule{Origin: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Length: 30 * 24 * time.Hour, Overlap: 7 * 24 * time.Hour}
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	v.Schedule = "origin 2026-01-01T00:00:00Z, length 720h, overlap 168h"
	v.Now = now.Format(time.RFC3339)

	d := Descriptor{PatternID: "nova.instance.live-migration", ResourceID: "3f2a1c9e-5b7d-4e8a-9c1f-2d6b8a7e4c10", Params: []Param{{"zone", "az-2"}, {"min_count", "3"}}}
	enc, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	v.Descriptor.PatternID, v.Descriptor.ResourceID, v.Descriptor.Params, v.Descriptor.Encoding = d.PatternID, d.ResourceID, d.Params, enc

	kr, err := NewKeyring(rnd, s, now)
	if err != nil {
		t.Fatal(err)
	}
	period := s.PeriodAt(now)
	info, _ := Info("tenant-0042", period)
	v.Info.TenantID, v.Info.Period, v.Info.Encoding = "tenant-0042", period, info
	key, _ := kr.KeyForPeriod(period)
	v.SecretKey, v.PublicKey, v.KeyID = key.sk.Bytes(), key.PublicKey(), key.id[:]
	v.BoardKey = hx(kr.BoardPublicKey())
	v.Directory, _ = kr.Directory(now)
	dir, err := ParseDirectory(v.Directory, kr.BoardPublicKey())
	if err != nil {
		t.Fatal(err)
	}
	dk, _ := dir.KeyAt(now)
	reg, req, err := Blind(rnd, dk, "tenant-0042", []Descriptor{d})
	if err != nil {
		t.Fatal(err)
	}
	v.Request = req
	v.Response, err = kr.Evaluate(rnd, "tenant-0042", now, req)
	if err != nil {
		t.Fatal(err)
	}
	toks, err := reg.Finalize(v.Response)
	if err != nil {
		t.Fatal(err)
	}
	minted, err := NewMinter(kr, 0).Mint("tenant-0042", period, d)
	if err != nil || !minted.Equal(&toks[0]) {
		t.Fatal("minted token differs from registered token")
	}
	tok := toks[0]
	v.Token = tok[:]
	tk := tok.TagKey()
	v.TagKey = tk[:]
	v.Epoch = EpochAt(now)
	ck := tok.CounterKey(v.Epoch)
	v.CounterKey = ck[:]
	for c := uint64(0); c < 3; c++ {
		tg := tk.Tag(v.Epoch, c)
		v.Tags = append(v.Tags, tg[:])
	}
	pk := tok.PayloadKey()
	v.PayloadKey = pk[:]
	p := Payload{Start: now.Add(-5 * time.Minute), End: now, Severity: 2, Count: 7}
	v.Payload, _ = p.MarshalBinary()
	v.Sealed, _ = pk.Seal("tenant-0042", v.Epoch, 0, p)
	e, _ := NewEntry(&tok, "tenant-0042", v.Epoch, 0, p)
	b, err := kr.SealBatch(FirstHeader("tenant-0042", v.Epoch, now), []Entry{e}, 4)
	if err != nil {
		t.Fatal(err)
	}
	v.Batch, _ = b.MarshalBinary()
	h := b.Hash()
	v.BatchHash = h[:]
	v.BatchStored, _ = b.MarshalStored()
	e2, _ := NewEntry(&tok, "tenant-0042", v.Epoch, 1, p)
	b2, _ := kr.SealBatch(b.Next(v.Epoch, now.Add(time.Minute)), []Entry{e2}, 0)
	v.NextBatch, _ = b2.MarshalBinary()
	id, _ := NewIdentity(rnd)
	v.IdentitySeed = id.Seed()
	v.X25519Public, _ = X25519PublicKey(id.Public())
	return v
}

// TestProtocolVectors pins every derivation and encoding of the protocol to
// testdata/crypto/hisoka-v1-vectors.json. Run with -update after a deliberate
// change, and update spec/protocol.md in the same commit.
func TestProtocolVectors(t *testing.T) {
	got := computeVectors(t)
	out, err := json.MarshalIndent(got, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, '\n')
	if *update {
		if err := os.WriteFile(vectorsPath, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, out) {
		t.Fatalf("the code no longer produces %s; if the change is deliberate, run with -update and update spec/protocol.md", vectorsPath)
	}
	// A tenant SDK working from the file alone: verify the chain and match.
	var v ProtocolVectors
	if err := json.Unmarshal(want, &v); err != nil {
		t.Fatal(err)
	}
	cv := &ChainVerifier{BoardKey: ed25519.PublicKey(v.BoardKey), Tenant: v.Info.TenantID}
	bs, err := cv.Verify(v.Batch, v.NextBatch)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMatcher(v.Info.TenantID, v.Epoch, 0)
	m.Subscribe("sub", (*Token)(v.Token), 0)
	for i, b := range bs {
		ns, err := m.Match(b)
		if err != nil || len(ns) != 1 || ns[0].Counter != uint64(i) {
			t.Fatalf("batch %d: %v %v", i, ns, err)
		}
	}
}
