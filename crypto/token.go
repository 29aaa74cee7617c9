package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"log/slog"
	"time"
)

// Token is the POPRF output for one (descriptor, tenant, key period): the
// tenant gets it by registering blindly, the server recomputes it alone when
// a detection fires. It is a secret of both and redacts itself in logs.
type Token [64]byte

// LogValue redacts the token.
func (Token) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Equal compares two tokens in constant time.
func (t *Token) Equal(u *Token) bool { return subtle.ConstantTimeCompare(t[:], u[:]) == 1 }

func (t *Token) derive(label string) [32]byte {
	m := hmac.New(sha256.New, t[:])
	m.Write([]byte(label))
	return [32]byte(m.Sum(nil))
}

// The fixed sizes of an entry and its parts.
const (
	TagSize     = 16
	PayloadSize = 22
	SealedSize  = PayloadSize + 16
	EntrySize   = TagSize + SealedSize
)

// Tag identifies one occurrence on a board. Without the token it is
// indistinguishable from random; tags of different epochs or occurrences of
// one token are unlinkable.
type Tag [TagSize]byte

// TagKey is the per-token key from which tags are derived; it lets a holder
// recognise tags but not open payloads.
type TagKey [32]byte

// LogValue redacts the key.
func (TagKey) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// TagKey derives the tag key of this token.
func (t *Token) TagKey() TagKey { return TagKey(t.derive(tagKeyLabel)) }

// Tag returns AES-256(tagKey, epoch || counter), both 64-bit big-endian: the
// tag of the counter-th occurrence (from 0) of this token's descriptor in
// epoch. AES here is a pseudorandom function on a 128-bit block (the tag key
// is used for nothing else); one block cipher call keeps a tenant's tag table
// cheap to build.
func (k *TagKey) Tag(epoch, counter uint64) Tag {
	return tagWith(k.cipher(), epoch, counter)
}

func (k *TagKey) cipher() cipher.Block {
	blk, err := aes.NewCipher(k[:])
	if err != nil {
		panic("crypto: unreachable: 32-byte AES key rejected")
	}
	return blk
}

func tagWith(blk cipher.Block, epoch, counter uint64) Tag {
	var in [16]byte
	binary.BigEndian.PutUint64(in[:8], epoch)
	binary.BigEndian.PutUint64(in[8:], counter)
	var tg Tag
	blk.Encrypt(tg[:], in[:])
	return tg
}

// CounterKey names the server's occurrence counter of this token in epoch
// (a store key): HMAC-SHA256(token, label || epoch), first 16 bytes. It does
// not reveal the token, and the keys of one token in different epochs are
// unlinkable, so a database reader cannot follow a subscription over time.
func (t *Token) CounterKey(epoch uint64) [16]byte {
	m := hmac.New(sha256.New, t[:])
	m.Write([]byte(counterKeyLabel))
	m.Write(binary.BigEndian.AppendUint64(nil, epoch))
	return [16]byte(m.Sum(nil))
}

// EpochLength is the length of a tag epoch. Occurrence counters restart at
// zero in every epoch.
const EpochLength = time.Hour

// EpochAt returns the tag epoch containing t: whole hours since the Unix epoch.
func EpochAt(t time.Time) uint64 {
	if t.Unix() < 0 {
		return 0
	}
	return uint64(t.Unix()) / uint64(EpochLength/time.Second)
}

// Severity grades a detection.
type Severity uint8

const payloadVersion = 1

// Payload is what a notification tells its tenant beyond "it fired": when,
// how bad, how often. The pattern and resource are implied by the token.
// It never holds platform log lines. Its encoding is fixed-size, so sealed
// payloads all have the same length.
type Payload struct {
	Start, End time.Time // the detection's time range
	Severity   Severity
	Count      uint32 // matched occurrences merged into this notification
}

// MarshalBinary returns the 22-byte encoding: version, start and end in
// Unix nanoseconds (signed, big-endian), severity, count.
func (p Payload) MarshalBinary() ([]byte, error) {
	if p.End.Before(p.Start) || !representable(p.Start) || !representable(p.End) {
		return nil, ErrMalformed
	}
	b := make([]byte, 0, PayloadSize)
	b = append(b, payloadVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(p.Start.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, uint64(p.End.UnixNano()))
	b = append(b, byte(p.Severity))
	return binary.BigEndian.AppendUint32(b, p.Count), nil
}

// representable reports whether t survives encoding as Unix nanoseconds
// (years 1678 to 2262).
func representable(t time.Time) bool {
	return time.Unix(0, t.UnixNano()).Equal(t)
}

// ParsePayload decodes [Payload.MarshalBinary].
func ParsePayload(b []byte) (Payload, error) {
	r := reader{b: b}
	if r.u8() != payloadVersion {
		return Payload{}, ErrMalformed
	}
	var p Payload
	p.Start = time.Unix(0, int64(r.u64())).UTC()
	p.End = time.Unix(0, int64(r.u64())).UTC()
	p.Severity = Severity(r.u8())
	p.Count = r.u32()
	if !r.ok() || p.End.Before(p.Start) {
		return Payload{}, ErrMalformed
	}
	return p, nil
}

// PayloadKey is the per-token key that seals payloads.
type PayloadKey [32]byte

// LogValue redacts the key.
func (PayloadKey) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// PayloadKey derives the payload key of this token.
func (t *Token) PayloadKey() PayloadKey { return PayloadKey(t.derive(payloadKeyLabel)) }

// position is what binds one entry: tenant, epoch and occurrence counter.
func position(label, tenantID string, epoch, counter uint64) []byte {
	b := appendString(nil, label)
	b = appendString(b, tenantID)
	b = binary.BigEndian.AppendUint64(b, epoch)
	return binary.BigEndian.AppendUint64(b, counter)
}

// aead returns AES-256-GCM under a key used for exactly one entry.
func (k *PayloadKey) aead(tenantID string, epoch, counter uint64) cipher.AEAD {
	m := hmac.New(sha256.New, k[:])
	m.Write(position(payloadEntryLabel, tenantID, epoch, counter))
	blk, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		panic("crypto: unreachable: 32-byte AES key rejected")
	}
	g, err := cipher.NewGCM(blk)
	if err != nil {
		panic("crypto: unreachable: GCM setup failed")
	}
	return g
}

// Seal encrypts p for the occurrence (tenant, epoch, counter). The entry key
// is unique to that occurrence, so the all-zero nonce is never reused.
func (k *PayloadKey) Seal(tenantID string, epoch, counter uint64, p Payload) ([]byte, error) {
	pt, err := p.MarshalBinary()
	if err != nil {
		return nil, err
	}
	var nonce [12]byte
	return k.aead(tenantID, epoch, counter).Seal(nil, nonce[:], pt, position(payloadAADLabel, tenantID, epoch, counter)), nil
}

// Open decrypts a payload sealed by [PayloadKey.Seal] for the same occurrence.
func (k *PayloadKey) Open(tenantID string, epoch, counter uint64, sealed []byte) (Payload, error) {
	if len(sealed) != SealedSize {
		return Payload{}, ErrOpen
	}
	var nonce [12]byte
	pt, err := k.aead(tenantID, epoch, counter).Open(nil, nonce[:], sealed, position(payloadAADLabel, tenantID, epoch, counter))
	if err != nil {
		return Payload{}, ErrOpen
	}
	return ParsePayload(pt)
}

// Entry is one notification on a board: a tag and a sealed payload, 54 bytes.
type Entry struct {
	Tag    Tag
	Sealed [SealedSize]byte
}

// NewEntry builds the entry for the counter-th occurrence (from 0) in epoch
// of the detection whose token is tok. The server keeps the counter per
// (tenant, token, epoch) and must never reuse one.
func NewEntry(tok *Token, tenantID string, epoch, counter uint64, p Payload) (Entry, error) {
	var e Entry
	tk := tok.TagKey()
	e.Tag = tk.Tag(epoch, counter)
	pk := tok.PayloadKey()
	sealed, err := pk.Seal(tenantID, epoch, counter, p)
	if err != nil {
		return Entry{}, err
	}
	copy(e.Sealed[:], sealed)
	return e, nil
}

func (e *Entry) appendTo(b []byte) []byte {
	b = append(b, e.Tag[:]...)
	return append(b, e.Sealed[:]...)
}
