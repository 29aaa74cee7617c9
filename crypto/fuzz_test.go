package crypto

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"testing"
	"time"
)

func loadVectors(f *testing.F) *ProtocolVectors {
	f.Helper()
	raw, err := os.ReadFile(vectorsPath)
	if err != nil {
		f.Fatal(err)
	}
	var v ProtocolVectors
	if err := json.Unmarshal(raw, &v); err != nil {
		f.Fatal(err)
	}
	return &v
}

// vectorKeyring rebuilds the keyring of the test vectors.
func vectorKeyring(f *testing.F) *Keyring {
	f.Helper()
	s := Schedule{Origin: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Length: 30 * 24 * time.Hour, Overlap: 7 * 24 * time.Hour}
	kr, err := NewKeyring(&detReader{seed: "hisoka test vectors"}, s, vectorNow)
	if err != nil {
		f.Fatal(err)
	}
	return kr
}

var vectorNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// fuzzCanonical fuzzes a strict decoder with the invariant every one of them
// keeps: on error the result is nil; on success, encoding the result gives
// back exactly the input bytes (the encoding is canonical).
func fuzzCanonical[T any](f *testing.F, parse func([]byte) (*T, error), encode func(*T) ([]byte, error), seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := parse(b)
		if err != nil {
			if v != nil {
				t.Fatal("non-nil result with error")
			}
			return
		}
		enc, err := encode(v)
		if err != nil || !bytes.Equal(enc, b) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzParseDescriptor(f *testing.F) {
	v := loadVectors(f)
	f.Add([]byte(v.Descriptor.Encoding))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDescriptor(b)
		if err != nil {
			if d.PatternID != "" || d.ResourceID != "" || d.Params != nil {
				t.Fatal("non-zero result with error")
			}
			return
		}
		enc, err := d.MarshalBinary()
		if err != nil || !bytes.Equal(enc, b) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzParseInfo(f *testing.F) {
	v := loadVectors(f)
	f.Add([]byte(v.Info.Encoding))
	f.Fuzz(func(t *testing.T, b []byte) {
		tenant, period, err := ParseInfo(b)
		if err != nil {
			if tenant != "" || period != 0 {
				t.Fatal("non-zero result with error")
			}
			return
		}
		enc, err := Info(tenant, period)
		if err != nil || !bytes.Equal(enc, b) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzParseDirectory(f *testing.F) {
	v := loadVectors(f)
	f.Add([]byte(v.Directory))
	board := ed25519.PublicKey(v.BoardKey)
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDirectory(b, board)
		if err != nil {
			if d != nil {
				t.Fatal("non-nil result with error")
			}
			return
		}
		if len(d.Keys) > maxDirectoryKeys || !bytes.Equal(d.BoardKey, board) {
			t.Fatal("accepted an invalid directory")
		}
	})
}

func FuzzParseEvaluationRequest(f *testing.F) {
	v := loadVectors(f)
	fuzzCanonical(f, ParseEvaluationRequest, (*EvaluationRequest).MarshalBinary, []byte(v.Request))
}

func FuzzParseEvaluationResponse(f *testing.F) {
	v := loadVectors(f)
	fuzzCanonical(f, ParseEvaluationResponse, (*EvaluationResponse).MarshalBinary, []byte(v.Response))
}

// The server's whole evaluation path on arbitrary request bytes.
func FuzzEvaluate(f *testing.F) {
	v := loadVectors(f)
	f.Add([]byte(v.Request))
	kr := vectorKeyring(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		resp, err := kr.Evaluate(&detReader{seed: "fuzz"}, "tenant-0042", vectorNow, b)
		if (err != nil) != (resp == nil) {
			t.Fatal("result and error disagree")
		}
	})
}

// The client's finalisation on arbitrary response bytes.
func FuzzFinalize(f *testing.F) {
	v := loadVectors(f)
	f.Add([]byte(v.Response))
	kr := vectorKeyring(f)
	key, _ := kr.KeyForPeriod(v.Info.Period)
	dk := DirectoryKey{Period: key.period, ID: key.id, PublicKey: key.pub}
	f.Fuzz(func(t *testing.T, b []byte) {
		reg, _, err := BlindEncoded(&detReader{seed: "hisoka test vectors"}, dk, "tenant-0042", [][]byte{v.Descriptor.Encoding})
		if err != nil {
			t.Fatal(err)
		}
		toks, err := reg.Finalize(b)
		if (err != nil) != (toks == nil) {
			t.Fatal("result and error disagree")
		}
	})
}

func FuzzParseBatch(f *testing.F) {
	v := loadVectors(f)
	fuzzCanonical(f, ParseBatch, (*Batch).MarshalBinary, []byte(v.Batch), []byte(v.NextBatch))
}

func FuzzOpenStored(f *testing.F) {
	v := loadVectors(f)
	kr := vectorKeyring(f)
	fuzzCanonical(f, kr.OpenStored, (*Batch).MarshalStored, []byte(v.BatchStored))
}

func FuzzChainVerify(f *testing.F) {
	v := loadVectors(f)
	f.Add([]byte(v.Batch), []byte(v.NextBatch))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		cv := &ChainVerifier{BoardKey: ed25519.PublicKey(v.BoardKey), Tenant: v.Info.TenantID}
		got, err := cv.Verify(a, b)
		if err == nil && len(got) != 2 {
			t.Fatal("no error but not everything accepted")
		}
		if uint64(len(got)) != cv.LastSeq {
			t.Fatal("state does not match accepted batches")
		}
	})
}

func FuzzParsePayload(f *testing.F) {
	v := loadVectors(f)
	f.Add([]byte(v.Payload))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePayload(b)
		if err != nil {
			if p != (Payload{}) {
				t.Fatal("non-zero result with error")
			}
			return
		}
		enc, err := p.MarshalBinary()
		if err != nil || !bytes.Equal(enc, b) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzOpenPayload(f *testing.F) {
	v := loadVectors(f)
	f.Add([]byte(v.Sealed), uint64(0))
	pk := PayloadKey(v.PayloadKey)
	f.Fuzz(func(t *testing.T, b []byte, counter uint64) {
		p, err := pk.Open(v.Info.TenantID, v.Epoch, counter, b)
		if err != nil && p != (Payload{}) {
			t.Fatal("non-zero result with error")
		}
		if err == nil && (counter != 0 || !bytes.Equal(b, v.Sealed)) {
			t.Fatal("forged payload opened")
		}
	})
}

func FuzzParseKeyring(f *testing.F) {
	kr := vectorKeyring(f)
	b, _ := kr.MarshalBinary()
	fuzzCanonical(f, ParseKeyring, (*Keyring).MarshalBinary, b)
}

func FuzzIdentityOpen(f *testing.F) {
	v := loadVectors(f)
	id, err := IdentityFromSeed(v.IdentitySeed)
	if err != nil {
		f.Fatal(err)
	}
	sealed, _ := SealTo(&detReader{seed: "x"}, id.Public(), "export", []byte("hello"))
	f.Add(sealed)
	f.Fuzz(func(t *testing.T, b []byte) {
		pt, err := id.Open("export", b)
		if err != nil && pt != nil {
			t.Fatal("non-nil result with error")
		}
	})
}

func FuzzCheckPublicKey(f *testing.F) {
	v := loadVectors(f)
	id, _ := IdentityFromSeed(v.IdentitySeed)
	f.Add([]byte(id.Public()))
	f.Add(make([]byte, 32))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := CheckPublicKey(b)
		if err != nil {
			if p != nil {
				t.Fatal("non-nil result with error")
			}
			return
		}
		if !bytes.Equal(p.Bytes(), b) {
			t.Fatal("accepted a non-canonical key")
		}
	})
}
