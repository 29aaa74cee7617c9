package crypto

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"time"
)

const (
	batchVersion  = 1
	storedVersion = 0x81
	// MaxBatchEntries bounds the entries of one batch, dummies included.
	MaxBatchEntries = 1 << 16
)

// BatchHeader places a batch in its tenant's board: sequence numbers start at
// 1 and grow by one; PrevHash is the previous batch's [Batch.Hash] (zero for
// sequence 1). All entries of a batch belong to its tag Epoch.
type BatchHeader struct {
	Tenant   string
	Seq      uint64
	Epoch    uint64
	Created  time.Time
	PrevHash [32]byte
}

// Next returns the header of the batch that follows b.
func (b *Batch) Next(epoch uint64, created time.Time) BatchHeader {
	return BatchHeader{Tenant: b.h.Tenant, Seq: b.h.Seq + 1, Epoch: epoch, Created: created, PrevHash: b.Hash()}
}

// FirstHeader returns the header of a tenant's first batch.
func FirstHeader(tenantID string, epoch uint64, created time.Time) BatchHeader {
	return BatchHeader{Tenant: tenantID, Seq: 1, Epoch: epoch, Created: created}
}

// Batch is a signed, hash-chained set of entries on one tenant's board.
// Entries are sorted by tag, so a dummy's position reveals nothing.
type Batch struct {
	h       BatchHeader
	entries []Entry
	real    []Entry // the non-dummy entries, when known (server side)
	padTo   int
	sig     [64]byte
}

// Seq returns the batch's sequence number.
func (b *Batch) Seq() uint64 { return b.h.Seq }

// Epoch returns the batch's tag epoch.
func (b *Batch) Epoch() uint64 { return b.h.Epoch }

// Tenant returns the tenant whose board holds the batch.
func (b *Batch) Tenant() string { return b.h.Tenant }

// Created returns the batch's creation time.
func (b *Batch) Created() time.Time { return b.h.Created }

// PrevHash returns the hash of the batch before this one.
func (b *Batch) PrevHash() [32]byte { return b.h.PrevHash }

// Entries returns the batch's entries (dummies included, sorted by tag).
func (b *Batch) Entries() []Entry { return slices.Clone(b.entries) }

// Hash returns SHA-256(label || body): what the next batch's PrevHash holds.
func (b *Batch) Hash() [32]byte {
	h := sha256.New()
	h.Write([]byte(batchHashLabel))
	h.Write(b.body())
	return [32]byte(h.Sum(nil))
}

func appendHeader(buf []byte, version byte, h *BatchHeader) []byte {
	buf = append(buf, version)
	buf = appendString(buf, h.Tenant)
	buf = binary.BigEndian.AppendUint64(buf, h.Seq)
	buf = binary.BigEndian.AppendUint64(buf, h.Epoch)
	buf = binary.BigEndian.AppendUint64(buf, uint64(h.Created.UnixNano()))
	return append(buf, h.PrevHash[:]...)
}

// body is the signed part of the wire form: header, entry count, entries.
func (b *Batch) body() []byte {
	buf := make([]byte, 0, 64+len(b.h.Tenant)+4+EntrySize*len(b.entries))
	buf = appendHeader(buf, batchVersion, &b.h)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(b.entries)))
	for i := range b.entries {
		buf = b.entries[i].appendTo(buf)
	}
	return buf
}

// MarshalBinary returns the wire form served to the tenant: body || signature.
func (b *Batch) MarshalBinary() ([]byte, error) {
	return append(b.body(), b.sig[:]...), nil
}

// MarshalStored returns the compact form to store: the header, the pad
// target, the real entries and the signature. Dummies are not stored;
// [Keyring.OpenStored] derives them again. So a reader of the store sees
// which entries are real (padding hides that from network observers only);
// entries exist for every detection, subscribed or not, so this reveals
// nothing about subscriptions.
func (b *Batch) MarshalStored() ([]byte, error) {
	if b.real == nil && b.padTo > 0 {
		return nil, ErrMalformed
	}
	buf := appendHeader(nil, storedVersion, &b.h)
	buf = binary.BigEndian.AppendUint32(buf, uint32(b.padTo))
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(b.real)))
	for i := range b.real {
		buf = b.real[i].appendTo(buf)
	}
	return append(buf, b.sig[:]...), nil
}

func validHeader(h *BatchHeader) bool {
	return h.Tenant != "" && len(h.Tenant) <= MaxTenantIDLen && h.Seq > 0 &&
		(h.Seq > 1 || h.PrevHash == [32]byte{})
}

// SealBatch signs a batch of entries for h.Tenant. If padTo exceeds the
// number of entries, dummies derived from the keyring's dummy secret and the
// batch's position fill it up to padTo; in the served form they are
// indistinguishable from real entries without the dummy secret, and they
// cost no storage (see [Batch.MarshalStored]).
func (k *Keyring) SealBatch(h BatchHeader, entries []Entry, padTo int) (*Batch, error) {
	if !validHeader(&h) || !representable(h.Created) {
		return nil, ErrMalformed
	}
	if len(entries) > MaxBatchEntries || padTo > MaxBatchEntries {
		return nil, ErrTooLarge
	}
	b := &Batch{h: h, real: slices.Clone(entries), padTo: max(padTo, 0)}
	if b.real == nil {
		b.real = []Entry{}
	}
	b.entries = k.expand(&h, b.real, b.padTo)
	sig := ed25519.Sign(k.board, append([]byte(batchSigLabel), b.body()...))
	copy(b.sig[:], sig)
	return b, nil
}

// expand adds the dummies and sorts by tag.
func (k *Keyring) expand(h *BatchHeader, real []Entry, padTo int) []Entry {
	all := slices.Clone(real)
	for i := 0; len(all) < padTo; i++ {
		all = append(all, k.dummyEntry(h, uint64(i)))
	}
	slices.SortFunc(all, func(a, b Entry) int { return bytes.Compare(a.Tag[:], b.Tag[:]) })
	return all
}

// dummyEntry derives the i-th dummy of a batch: HMAC-SHA256 in counter mode
// under the dummy secret, over the tenant, sequence number and index.
func (k *Keyring) dummyEntry(h *BatchHeader, i uint64) Entry {
	var out [EntrySize + 32]byte
	m := hmac.New(sha256.New, k.dummy[:])
	for blk := 0; blk*32 < EntrySize; blk++ {
		m.Reset()
		m.Write(position(dummyLabel, h.Tenant, h.Seq, i))
		m.Write([]byte{byte(blk)})
		m.Sum(out[blk*32 : blk*32])
	}
	var e Entry
	copy(e.Tag[:], out[:TagSize])
	copy(e.Sealed[:], out[TagSize:EntrySize])
	return e
}

// OpenStored decodes a stored batch (from [Batch.MarshalStored]) and derives
// its dummies again, so it can be served ([Batch.MarshalBinary]) and chained
// after ([Batch.Next]).
func (k *Keyring) OpenStored(stored []byte) (*Batch, error) {
	if len(stored) < 64 {
		return nil, ErrMalformed
	}
	r := reader{b: stored[:len(stored)-64]}
	var h BatchHeader
	if !readHeader(&r, storedVersion, &h) {
		return nil, ErrMalformed
	}
	padTo := int(r.u32())
	n := int(r.u32())
	if r.bad || n > MaxBatchEntries || padTo > MaxBatchEntries || n*EntrySize != len(r.b) {
		return nil, ErrMalformed
	}
	real := readEntries(&r, n)
	if !r.ok() {
		return nil, ErrMalformed
	}
	b := &Batch{h: h, real: real, padTo: padTo}
	b.entries = k.expand(&h, real, padTo)
	copy(b.sig[:], stored[len(stored)-64:])
	return b, nil
}

func readHeader(r *reader, version byte, h *BatchHeader) bool {
	if r.u8() != version {
		return false
	}
	h.Tenant = r.text()
	h.Seq = r.u64()
	h.Epoch = r.u64()
	h.Created = time.Unix(0, int64(r.u64())).UTC()
	copy(h.PrevHash[:], r.take(32))
	return !r.bad && validHeader(h)
}

func readEntries(r *reader, n int) []Entry {
	es := make([]Entry, n)
	for i := range es {
		copy(es[i].Tag[:], r.take(TagSize))
		copy(es[i].Sealed[:], r.take(SealedSize))
	}
	return es
}

// ParseBatch decodes a batch's wire form without checking its signature;
// [ChainVerifier] checks it.
func ParseBatch(b []byte) (*Batch, error) {
	if len(b) < 64 {
		return nil, ErrMalformed
	}
	r := reader{b: b[:len(b)-64]}
	var h BatchHeader
	if !readHeader(&r, batchVersion, &h) {
		return nil, ErrMalformed
	}
	n := int(r.u32())
	if r.bad || n > MaxBatchEntries || n*EntrySize != len(r.b) {
		return nil, ErrMalformed
	}
	es := readEntries(&r, n)
	if !r.ok() {
		return nil, ErrMalformed
	}
	for i := 1; i < len(es); i++ {
		if bytes.Compare(es[i-1].Tag[:], es[i].Tag[:]) > 0 {
			return nil, ErrMalformed
		}
	}
	bt := &Batch{h: h, entries: es}
	copy(bt.sig[:], b[len(b)-64:])
	return bt, nil
}

// MaxClockSkew is how far in the future of the tenant's clock a batch's
// creation time may be before [ChainVerifier] rejects it with
// [ErrBatchFuture]: it absorbs ordinary clock differences between server
// and tenant.
const MaxClockSkew = 5 * time.Minute

// ChainVerifier is the tenant's view of its board: the board key it pinned,
// its tenant id and the last batch it accepted. Persist LastSeq, LastHash
// and LastEpoch to resume after a restart.
type ChainVerifier struct {
	BoardKey  ed25519.PublicKey
	Tenant    string
	LastSeq   uint64
	LastHash  [32]byte
	LastEpoch uint64
	// Now is the tenant's clock for rejecting batches from the future
	// ([ErrBatchFuture]); nil means time.Now. Set it to the SDK's clock
	// when that is not the wall clock (tests).
	Now func() time.Time
}

func (v *ChainVerifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// Verify checks batches received in one poll, in the order received, and
// accepts them in sequence. It returns the batches it accepted (a prefix of
// the input) and the first problem found:
//
//   - ErrMalformed: a batch does not parse;
//   - ErrBatchSignature: a batch was altered or not signed by the board key;
//   - ErrBatchTenant: a batch belongs to another tenant's board;
//   - ErrBatchReplayed: a batch with an already accepted (or repeated) sequence number;
//   - ErrBatchReordered: a batch arrives after one with a higher sequence number;
//   - ErrBatchGap: a sequence number was skipped (a batch was dropped or withheld);
//   - ErrBatchChain: the next batch's PrevHash is not the last accepted hash
//     (history rewritten);
//   - ErrEpoch: the epoch goes backwards;
//   - ErrBatchFuture: the epoch is after EpochAt(now)+1 or the batch was
//     created more than MaxClockSkew after now (now from v.Now).
//
// Signatures, tenant, replay and order are checked on the whole poll before
// anything is accepted; chain, gap and clock checks then accept the valid
// prefix.
func (v *ChainVerifier) Verify(batches ...[]byte) ([]*Batch, error) {
	return v.VerifyAt(v.now(), batches...)
}

// VerifyAt is [ChainVerifier.Verify] with the tenant's clock reading now
// given explicitly.
func (v *ChainVerifier) VerifyAt(now time.Time, batches ...[]byte) ([]*Batch, error) {
	if len(v.BoardKey) != ed25519.PublicKeySize {
		return nil, ErrPublicKey
	}
	parsed := make([]*Batch, len(batches))
	for i, raw := range batches {
		b, err := ParseBatch(raw)
		if err != nil {
			return nil, err
		}
		body := raw[:len(raw)-64]
		if !ed25519.Verify(v.BoardKey, append([]byte(batchSigLabel), body...), b.sig[:]) {
			return nil, ErrBatchSignature
		}
		if b.h.Tenant != v.Tenant {
			return nil, ErrBatchTenant
		}
		parsed[i] = b
	}
	var maxSeen uint64
	seen := map[uint64]bool{}
	for _, b := range parsed {
		switch {
		case b.h.Seq <= v.LastSeq || seen[b.h.Seq]:
			return nil, ErrBatchReplayed
		case b.h.Seq < maxSeen:
			return nil, ErrBatchReordered
		}
		seen[b.h.Seq] = true
		maxSeen = b.h.Seq
	}
	var accepted []*Batch
	for _, b := range parsed {
		if b.h.Seq != v.LastSeq+1 {
			return accepted, ErrBatchGap
		}
		if b.h.PrevHash != v.LastHash {
			return accepted, ErrBatchChain
		}
		if b.h.Epoch < v.LastEpoch {
			return accepted, ErrEpoch
		}
		if b.h.Epoch > EpochAt(now)+1 || b.h.Created.After(now.Add(MaxClockSkew)) {
			return accepted, ErrBatchFuture
		}
		v.LastSeq, v.LastHash, v.LastEpoch = b.h.Seq, b.Hash(), b.h.Epoch
		accepted = append(accepted, b)
	}
	return accepted, nil
}

// CheckFresh reports ErrBatchStale when the last accepted batch is from an
// epoch before the previous one. The server writes at least one batch per
// tenant and epoch (all dummies if nothing happened), so withholding the
// newest batches (which no chain check can see) shows up here.
func (v *ChainVerifier) CheckFresh(now time.Time) error {
	if EpochAt(now) > v.LastEpoch+1 {
		return ErrBatchStale
	}
	return nil
}
