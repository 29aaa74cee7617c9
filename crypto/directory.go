package crypto

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"time"

	"github.com/hisoka-project/hisoka/crypto/internal/r255"
)

const directoryVersion = 1

// maxDirectoryKeys bounds the keys listed in one directory: a valid
// schedule (Overlap <= Length/2) has at most two keys evaluating at any
// instant, and a directory lists those evaluating at its issue time.
const maxDirectoryKeys = 2

// DirectoryKey is one published POPRF key.
type DirectoryKey struct {
	Period    uint64
	ID        KeyID
	PublicKey [32]byte
	// Start and End bound the period in which the server mints with this key.
	Start, End time.Time
}

// Directory is the public key directory served at GET /v1/keys: every
// POPRF key that currently evaluates, and the board key, signed by the board
// key. Every tenant receives the same bytes; [Directory.Hash] lets tenants
// compare what they were given.
type Directory struct {
	Issued   time.Time
	Schedule Schedule
	BoardKey ed25519.PublicKey
	Keys     []DirectoryKey
	hash     [32]byte
}

// Directory returns the signed directory of the keys that evaluate at now.
// Its issue time is when that set of keys last changed by the schedule
// ([Keyring.DirectoryIssued]), not now, and Ed25519 signatures are
// deterministic, so every call between two changes of the key set returns
// the same bytes: tenants comparing [Directory.Hash] see equal hashes.
func (k *Keyring) Directory(now time.Time) ([]byte, error) {
	if !representable(now) {
		return nil, ErrMalformed
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	listed := k.listed(now)
	issued := k.schedule.issued(listed, now)
	if !representable(issued) {
		return nil, ErrMalformed
	}
	b := []byte{directoryVersion}
	b = binary.BigEndian.AppendUint64(b, uint64(issued.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, uint64(k.schedule.Origin.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, uint64(k.schedule.Length))
	b = binary.BigEndian.AppendUint64(b, uint64(k.schedule.Overlap))
	b = append(b, k.board.Public().(ed25519.PublicKey)...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(listed)))
	for _, p := range listed {
		b = binary.BigEndian.AppendUint64(b, p)
		b = append(b, k.keys[p].pub[:]...)
	}
	sig := ed25519.Sign(k.board, append([]byte(directorySigLabel), b...))
	return append(b, sig...), nil
}

// DirectoryIssued returns the issue time [Keyring.Directory] would stamp
// at now: when the set of keys it lists last changed. A server that caches
// the directory bytes can key the cache by it.
func (k *Keyring) DirectoryIssued(now time.Time) time.Time {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.schedule.issued(k.listed(now), now)
}

// listed returns the periods of the keys that evaluate at now, ascending.
// Callers hold k.mu.
func (k *Keyring) listed(now time.Time) []uint64 {
	var listed []uint64
	for _, p := range sortedPeriods(k.keys) {
		if k.schedule.accepts(p, now) {
			listed = append(listed, p)
		}
	}
	if len(listed) > maxDirectoryKeys {
		listed = listed[len(listed)-maxDirectoryKeys:]
	}
	return listed
}

// issued returns when the set of listed keys (ascending periods, all
// evaluating at now) last changed by the schedule: the latest of the start
// of the newest key's evaluation window and, once passed, the end of the
// previous period's window (when the key before the oldest listed one was
// dropped). It moves only at schedule boundaries, so it is the same for
// every now between two of them, and every listed key evaluates at it.
// With nothing listed it is the schedule's origin.
func (s Schedule) issued(listed []uint64, now time.Time) time.Time {
	if len(listed) == 0 {
		return s.Origin
	}
	oldest, newest := listed[0], listed[len(listed)-1]
	t := s.Start(newest).Add(-s.Overlap)
	if oldest > 0 {
		if dropped := s.Start(oldest).Add(s.Overlap); dropped.After(t) && !dropped.After(now) {
			t = dropped
		}
	}
	return t
}

// ParseDirectory decodes a directory and verifies its signature with the
// board key the tenant pinned. Every key must be a valid, non-identity
// element, periods strictly increasing, and every key must evaluate at the
// directory's issue time under its schedule (so at most two keys).
func ParseDirectory(b []byte, trusted ed25519.PublicKey) (*Directory, error) {
	if len(trusted) != ed25519.PublicKeySize {
		return nil, ErrPublicKey
	}
	if len(b) < ed25519.SignatureSize {
		return nil, ErrMalformed
	}
	body, sig := b[:len(b)-ed25519.SignatureSize], b[len(b)-ed25519.SignatureSize:]
	r := reader{b: body}
	if r.u8() != directoryVersion {
		return nil, ErrMalformed
	}
	d := &Directory{}
	d.Issued = time.Unix(0, int64(r.u64())).UTC()
	d.Schedule.Origin = time.Unix(0, int64(r.u64())).UTC()
	d.Schedule.Length = time.Duration(r.u64())
	d.Schedule.Overlap = time.Duration(r.u64())
	d.BoardKey = append(ed25519.PublicKey(nil), r.take(ed25519.PublicKeySize)...)
	n := int(r.u16())
	if r.bad || n > maxDirectoryKeys || !d.Schedule.valid() {
		return nil, ErrMalformed
	}
	for i := 0; i < n; i++ {
		var k DirectoryKey
		k.Period = r.u64()
		copy(k.PublicKey[:], r.take(32))
		if r.bad || (i > 0 && d.Keys[i-1].Period >= k.Period) || !d.Schedule.accepts(k.Period, d.Issued) {
			return nil, ErrMalformed
		}
		e, err := new(r255.Element).SetCanonicalBytes(k.PublicKey[:])
		if err != nil {
			return nil, ErrInvalidElement
		}
		if e.IsIdentity() {
			return nil, ErrIdentityElement
		}
		k.ID = keyIDOf(k.PublicKey[:])
		k.Start = d.Schedule.Start(k.Period)
		k.End = d.Schedule.Start(k.Period + 1)
		d.Keys = append(d.Keys, k)
	}
	if !r.ok() {
		return nil, ErrMalformed
	}
	if subtle.ConstantTimeCompare(d.BoardKey, trusted) != 1 ||
		!ed25519.Verify(trusted, append([]byte(directorySigLabel), body...), sig) {
		return nil, ErrSignature
	}
	d.hash = sha256.Sum256(b)
	return d, nil
}

// Hash returns SHA-256 of the directory bytes, for tenants to compare
// (gossip) that they were all shown the same keys.
func (d *Directory) Hash() [32]byte { return d.hash }

// Key returns the listed key with this id.
func (d *Directory) Key(id KeyID) (DirectoryKey, error) {
	for _, k := range d.Keys {
		if k.ID == id {
			return k, nil
		}
	}
	return DirectoryKey{}, ErrUnknownKey
}

// KeyAt returns the key the server mints with at t.
func (d *Directory) KeyAt(t time.Time) (DirectoryKey, error) {
	p := d.Schedule.PeriodAt(t)
	for _, k := range d.Keys {
		if k.Period == p {
			return k, nil
		}
	}
	return DirectoryKey{}, ErrUnknownKey
}
