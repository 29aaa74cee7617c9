package spec_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/circl/oprf"

	"github.com/hisoka-project/hisoka/crypto"
)

// These tests re-derive the protocol vectors from protocol.md's definitions
// with an independent implementation (standard library and circl only), so
// the document, the crypto package and testdata/crypto cannot drift apart.

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

type vectors struct {
	Descriptor struct {
		PatternID  string `json:"pattern_id"`
		ResourceID string `json:"resource_id"`
		Params     []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"params"`
		Encoding hexBytes `json:"encoding"`
	} `json:"descriptor"`
	Info struct {
		TenantID string   `json:"tenant_id"`
		Period   uint64   `json:"period"`
		Encoding hexBytes `json:"encoding"`
	} `json:"info"`
	SecretKey  hexBytes   `json:"period_secret_key"`
	PublicKey  hexBytes   `json:"period_public_key"`
	KeyID      hexBytes   `json:"key_id"`
	BoardKey   hexBytes   `json:"board_public_key"`
	Now        string     `json:"now"`
	Directory  hexBytes   `json:"directory"`
	Request    hexBytes   `json:"evaluation_request"`
	Response   hexBytes   `json:"evaluation_response"`
	Token      hexBytes   `json:"token"`
	TagKey     hexBytes   `json:"tag_key"`
	Tags       []hexBytes `json:"tags_epoch_counter_0_1_2"`
	Epoch      uint64     `json:"epoch"`
	CounterKey hexBytes   `json:"counter_key"`
	PayloadKey hexBytes   `json:"payload_key"`
	Payload    hexBytes   `json:"payload_encoding"`
	Sealed     hexBytes   `json:"sealed_payload_counter_0"`
	Batch      hexBytes   `json:"batch_wire"`
	BatchHash  hexBytes   `json:"batch_hash"`
	NextBatch  hexBytes   `json:"next_batch_wire"`
}

func load(t *testing.T) (*vectors, string, []byte) {
	t.Helper()
	raw, err := os.ReadFile("../testdata/crypto/hisoka-v1-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	return &v, string(doc), raw
}

// labels reads the table of section 2.1: name -> label.
func labels(t *testing.T, doc string) map[string]string {
	t.Helper()
	row := regexp.MustCompile("(?m)^\\| ([a-z ]+) \\| `([^`]+)` \\|")
	out := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(doc, -1) {
		out[m[1]] = m[2]
	}
	for _, name := range []string{"protocol", "descriptor", "key id", "directory signature", "tag key", "payload key", "counter key",
		"payload entry", "payload aad", "dummy entry", "batch signature", "batch hash", "hpke"} {
		if out[name] == "" {
			t.Fatalf("protocol.md section 2.1 has no label %q", name)
		}
	}
	return out
}

func str(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

func mac(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

func TestInputsFollowTheSpec(t *testing.T) {
	v, doc, _ := load(t)
	l := labels(t, doc)
	// Section 3.2.
	info := str(str(nil, l["protocol"]), v.Info.TenantID)
	info = binary.BigEndian.AppendUint64(info, v.Info.Period)
	if !bytes.Equal(info, v.Info.Encoding) {
		t.Fatalf("info per spec %x, vectors %x", info, v.Info.Encoding)
	}
	if got, _ := crypto.Info(v.Info.TenantID, v.Info.Period); !bytes.Equal(got, info) {
		t.Fatal("crypto.Info differs from the spec")
	}
	// Section 3.1.
	ps := slices.Clone(v.Descriptor.Params)
	slices.SortFunc(ps, func(a, b struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}) int {
		return strings.Compare(a.Name, b.Name)
	})
	d := str(nil, l["descriptor"])
	d = str(str(d, v.Descriptor.PatternID), v.Descriptor.ResourceID)
	d = binary.BigEndian.AppendUint16(d, uint16(len(ps)))
	cps := []crypto.Param{}
	for _, p := range ps {
		d = str(str(d, p.Name), p.Value)
		cps = append(cps, crypto.Param{Name: p.Name, Value: p.Value})
	}
	if !bytes.Equal(d, v.Descriptor.Encoding) {
		t.Fatalf("descriptor per spec %x, vectors %x", d, v.Descriptor.Encoding)
	}
	slices.Reverse(cps)
	got, err := crypto.Descriptor{PatternID: v.Descriptor.PatternID, ResourceID: v.Descriptor.ResourceID, Params: cps}.MarshalBinary()
	if err != nil || !bytes.Equal(got, d) {
		t.Fatal("crypto.Descriptor encoding differs from the spec")
	}
}

func TestKeysAndTokenFollowTheSpec(t *testing.T) {
	v, doc, _ := load(t)
	l := labels(t, doc)
	// Section 4.1.
	id := sha256.Sum256(append([]byte(l["key id"]), v.PublicKey...))
	if !bytes.Equal(id[:], v.KeyID) {
		t.Fatal("key id differs from the spec")
	}
	// Section 4.3: the directory signature and the listed key.
	body, sig := v.Directory[:len(v.Directory)-64], v.Directory[len(v.Directory)-64:]
	if !ed25519.Verify(ed25519.PublicKey(v.BoardKey), append([]byte(l["directory signature"]), body...), sig) {
		t.Fatal("directory signature does not verify per the spec")
	}
	if !bytes.Contains(body, v.PublicKey) || body[0] != 1 || !bytes.Equal(body[33:65], v.BoardKey) {
		t.Fatal("directory layout differs from the spec")
	}
	// Section 4.3: issued is when the listed key set last changed, computed
	// from the directory's own schedule and periods and the request time.
	if err := issuedFollowsSpec(body, v.Now); err != nil {
		t.Fatal(err)
	}
	// Sections 5.1/5.2 layouts.
	if v.Request[0] != 1 || !bytes.Equal(v.Request[1:33], v.KeyID) || binary.BigEndian.Uint16(v.Request[33:35]) != 1 || len(v.Request) != 35+32 {
		t.Fatal("request layout differs from the spec")
	}
	if len(v.Response) != 35+32+64 || !bytes.Equal(v.Response[1:33], v.KeyID) {
		t.Fatal("response layout differs from the spec")
	}
	// Section 5.3: the token is RFC 9497 POPRF FullEvaluate (circl directly).
	var sk oprf.PrivateKey
	if err := sk.UnmarshalBinary(oprf.SuiteRistretto255, v.SecretKey); err != nil {
		t.Fatal(err)
	}
	tok, err := oprf.NewPartialObliviousServer(oprf.SuiteRistretto255, &sk).FullEvaluate(v.Descriptor.Encoding, v.Info.Encoding)
	if err != nil || !bytes.Equal(tok, v.Token) {
		t.Fatal("token is not POPRF(skS, descriptor, info)")
	}
}

func TestNotificationsFollowTheSpec(t *testing.T) {
	v, doc, _ := load(t)
	l := labels(t, doc)
	// Section 6.1.
	tagKey := mac(v.Token, []byte(l["tag key"]))
	payloadKey := mac(v.Token, []byte(l["payload key"]))
	if !bytes.Equal(tagKey, v.TagKey) || !bytes.Equal(payloadKey, v.PayloadKey) {
		t.Fatal("derived keys differ from the spec")
	}
	// Section 6.2.
	ck := mac(v.Token, []byte(l["counter key"]), binary.BigEndian.AppendUint64(nil, v.Epoch))
	if !bytes.Equal(ck[:16], v.CounterKey) {
		t.Fatal("counter key differs from the spec")
	}
	blk, _ := aes.NewCipher(tagKey)
	for c, want := range v.Tags {
		var in, out [16]byte
		binary.BigEndian.PutUint64(in[:8], v.Epoch)
		binary.BigEndian.PutUint64(in[8:], uint64(c))
		blk.Encrypt(out[:], in[:])
		if !bytes.Equal(out[:], want) {
			t.Fatalf("tag %d differs from the spec", c)
		}
	}
	// Section 6.3.
	pos := func(label string) []byte {
		b := str(str(nil, label), v.Info.TenantID)
		b = binary.BigEndian.AppendUint64(b, v.Epoch)
		return binary.BigEndian.AppendUint64(b, 0)
	}
	ek := mac(payloadKey, pos(l["payload entry"]))
	ab, _ := aes.NewCipher(ek)
	gcm, _ := cipher.NewGCM(ab)
	pt, err := gcm.Open(nil, make([]byte, 12), v.Sealed, pos(l["payload aad"]))
	if err != nil || !bytes.Equal(pt, v.Payload) || len(pt) != 22 || pt[0] != 1 {
		t.Fatal("sealed payload does not open per the spec")
	}
	// Sections 7.1/7.2.
	body, sig := v.Batch[:len(v.Batch)-64], v.Batch[len(v.Batch)-64:]
	if !ed25519.Verify(ed25519.PublicKey(v.BoardKey), append([]byte(l["batch signature"]), body...), sig) {
		t.Fatal("batch signature does not verify per the spec")
	}
	h := sha256.Sum256(append([]byte(l["batch hash"]), body...))
	if !bytes.Equal(h[:], v.BatchHash) {
		t.Fatal("batch hash differs from the spec")
	}
	hdr := str([]byte{1}, v.Info.TenantID)
	hdr = binary.BigEndian.AppendUint64(hdr, 1)
	hdr = binary.BigEndian.AppendUint64(hdr, v.Epoch)
	if !bytes.HasPrefix(body, hdr) {
		t.Fatal("batch header differs from the spec")
	}
	off := len(hdr) + 8 + 32
	n := int(binary.BigEndian.Uint32(body[off:]))
	entries := body[off+4:]
	if len(entries) != n*54 || n != 4 {
		t.Fatalf("batch holds %d entries in %d bytes", n, len(entries))
	}
	entry := append(append([]byte(nil), v.Tags[0]...), v.Sealed...)
	found := false
	for i := 0; i < n; i++ {
		e := entries[i*54 : (i+1)*54]
		found = found || bytes.Equal(e, entry)
		if i > 0 && bytes.Compare(entries[(i-1)*54:(i-1)*54+16], e[:16]) > 0 {
			t.Fatal("entries not sorted by tag")
		}
	}
	if !found {
		t.Fatal("the real entry is not tag || sealed")
	}
	next := v.NextBatch[:len(v.NextBatch)-64]
	if !bytes.Equal(next[len(hdr)+8:len(hdr)+8+32], v.BatchHash) {
		t.Fatal("second batch's prev_hash is not the first batch's hash")
	}
}

// Every hex value quoted in section 12 is in the vector file.
func TestQuotedVectorsMatch(t *testing.T) {
	_, doc, raw := load(t)
	sec := doc[strings.Index(doc, "## 12. Test vectors"):]
	quoted := regexp.MustCompile("`([0-9a-f]{32,})`").FindAllStringSubmatch(sec, -1)
	if len(quoted) < 6 {
		t.Fatalf("section 12 quotes only %d values", len(quoted))
	}
	for _, q := range quoted {
		if !bytes.Contains(raw, []byte(`"`+q[1]+`"`)) {
			t.Errorf("section 12 quotes %s, which is not in the vectors", q[1])
		}
	}
}

// issuedFollowsSpec recomputes a directory body's issued field by section
// 4.3 from its schedule, its listed periods and the time it was requested.
func issuedFollowsSpec(body []byte, requested string) error {
	now, err := time.Parse(time.RFC3339, requested)
	if err != nil {
		return err
	}
	i64 := func(off int) int64 { return int64(binary.BigEndian.Uint64(body[off:])) }
	issued, origin, length, overlap := i64(1), i64(9), i64(17), i64(25)
	n := int(binary.BigEndian.Uint16(body[65:]))
	if n == 0 || len(body) != 67+n*40 {
		return fmt.Errorf("directory lists %d keys in %d bytes", n, len(body))
	}
	oldest, newest := i64(67), i64(67+(n-1)*40)
	start := func(p int64) int64 { return origin + p*length }
	want := start(newest) - overlap
	if dropped := start(oldest) + overlap; oldest > 0 && dropped > want && dropped <= now.UnixNano() {
		want = dropped
	}
	if issued != want {
		return fmt.Errorf("issued %v, spec says %v", time.Unix(0, issued).UTC(), time.Unix(0, want).UTC())
	}
	return nil
}
