package crypto

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"log/slog"
	"sync"
	"time"

	"filippo.io/edwards25519"

	"github.com/hisoka-project/hisoka/crypto/internal/r255"
)

// KeyID names a POPRF key: SHA-256 over a label and the 32-byte encoded public key.
type KeyID [32]byte

// String returns the key id in hex.
func (id KeyID) String() string { return hex.EncodeToString(id[:]) }

func keyIDOf(pub []byte) KeyID {
	h := sha256.New()
	h.Write([]byte(keyIDLabel))
	h.Write(pub)
	return KeyID(h.Sum(nil))
}

// randomScalar draws a uniformly random non-zero scalar from rnd.
func randomScalar(rnd io.Reader) (*edwards25519.Scalar, error) {
	if rnd == nil {
		return nil, ErrNoRandomness
	}
	var buf [64]byte
	for {
		if _, err := io.ReadFull(rnd, buf[:]); err != nil {
			return nil, err
		}
		s, err := edwards25519.NewScalar().SetUniformBytes(buf[:])
		if err != nil {
			return nil, err
		}
		if s.Equal(edwards25519.NewScalar()) == 0 {
			return s, nil
		}
	}
}

// PeriodKey is the POPRF key of one key period. It holds a secret scalar
// and redacts itself in logs.
type PeriodKey struct {
	period uint64
	sk     *edwards25519.Scalar
	pub    [32]byte
	id     KeyID
}

func newPeriodKey(period uint64, sk *edwards25519.Scalar) *PeriodKey {
	k := &PeriodKey{period: period, sk: sk}
	copy(k.pub[:], new(r255.Element).ScalarBaseMult(sk).Bytes(nil))
	k.id = keyIDOf(k.pub[:])
	return k
}

// Period returns the key period this key serves.
func (k *PeriodKey) Period() uint64 { return k.period }

// ID returns the key id.
func (k *PeriodKey) ID() KeyID { return k.id }

// PublicKey returns a copy of the 32-byte encoded public key.
func (k *PeriodKey) PublicKey() []byte { return append([]byte(nil), k.pub[:]...) }

// LogValue redacts the secret.
func (k *PeriodKey) LogValue() slog.Value {
	return slog.GroupValue(slog.Uint64("period", k.period), slog.String("id", k.id.String()[:16]), slog.String("secret", "REDACTED"))
}

// Schedule fixes the key periods: period p covers [Origin + p*Length,
// Origin + (p+1)*Length). A period's key is published Overlap before its
// start and still evaluates until Overlap after its end. Overlap is at most
// Length/2, so at most two keys evaluate at any instant.
type Schedule struct {
	Origin  time.Time
	Length  time.Duration
	Overlap time.Duration
}

// PeriodAt returns the period containing t (0 before the origin).
func (s Schedule) PeriodAt(t time.Time) uint64 {
	if !t.After(s.Origin) || s.Length <= 0 {
		return 0
	}
	return uint64(t.Sub(s.Origin) / s.Length)
}

// Start returns the start of period p.
func (s Schedule) Start(p uint64) time.Time { return s.Origin.Add(time.Duration(p) * s.Length) }

// accepts reports whether the key of period p may evaluate at t.
func (s Schedule) accepts(p uint64, t time.Time) bool {
	return !t.Before(s.Start(p).Add(-s.Overlap)) && t.Before(s.Start(p+1).Add(s.Overlap))
}

func (s Schedule) valid() bool {
	return s.Length > 0 && s.Overlap >= 0 && s.Overlap <= s.Length/2
}

// Keyring is the server's key material: one POPRF key per key period, the
// Ed25519 board key that signs key directories and board batches, and the
// secret from which dummy entries are derived. It is safe for concurrent use
// and redacts itself in logs.
type Keyring struct {
	mu       sync.RWMutex
	schedule Schedule
	board    ed25519.PrivateKey
	dummy    [32]byte
	keys     map[uint64]*PeriodKey
}

// NewKeyring generates a board key, a dummy secret and the keys needed at
// now (see [Keyring.Rotate]).
func NewKeyring(rnd io.Reader, s Schedule, now time.Time) (*Keyring, error) {
	if !s.valid() {
		return nil, ErrMalformed
	}
	if rnd == nil {
		return nil, ErrNoRandomness
	}
	_, board, err := ed25519.GenerateKey(rnd)
	if err != nil {
		return nil, err
	}
	k := &Keyring{schedule: s, board: board, keys: map[uint64]*PeriodKey{}}
	if _, err := io.ReadFull(rnd, k.dummy[:]); err != nil {
		return nil, err
	}
	if _, err := k.Rotate(rnd, now); err != nil {
		return nil, err
	}
	return k, nil
}

// Rotate makes sure keys exist for the period containing now and, within
// Overlap of the next period's start, for the next period; it deletes keys
// whose evaluation window has closed. It reports whether anything changed;
// the caller then persists [Keyring.MarshalBinary] and republishes
// [Keyring.Directory].
func (k *Keyring) Rotate(rnd io.Reader, now time.Time) (changed bool, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	cur := k.schedule.PeriodAt(now)
	want := []uint64{cur}
	if k.schedule.accepts(cur+1, now) {
		want = append(want, cur+1)
	}
	for _, p := range want {
		if _, ok := k.keys[p]; ok {
			continue
		}
		sk, err := randomScalar(rnd)
		if err != nil {
			return changed, err
		}
		k.keys[p] = newPeriodKey(p, sk)
		changed = true
	}
	for p := range k.keys {
		if !k.schedule.accepts(p, now) && p < cur {
			delete(k.keys, p)
			changed = true
		}
	}
	return changed, nil
}

// Schedule returns the keyring's period schedule.
func (k *Keyring) Schedule() Schedule { return k.schedule }

// BoardPublicKey returns the Ed25519 key that signs directories and batches.
// Tenants pin it.
func (k *Keyring) BoardPublicKey() ed25519.PublicKey {
	return append(ed25519.PublicKey(nil), k.board.Public().(ed25519.PublicKey)...)
}

// KeyForPeriod returns the key of period p.
func (k *Keyring) KeyForPeriod(p uint64) (*PeriodKey, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	key, ok := k.keys[p]
	if !ok {
		return nil, ErrUnknownKey
	}
	return key, nil
}

// keyByID returns the key with this id if it may evaluate at now.
func (k *Keyring) keyByID(id KeyID, now time.Time) (*PeriodKey, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	for _, key := range k.keys {
		if key.id == id && k.schedule.accepts(key.period, now) {
			return key, nil
		}
	}
	return nil, ErrUnknownKey
}

// LogValue redacts every secret.
func (k *Keyring) LogValue() slog.Value {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return slog.GroupValue(slog.Int("keys", len(k.keys)), slog.String("secrets", "REDACTED"))
}

const keyringVersion = 1

// MarshalBinary serialises the keyring, secrets included, for storage:
// version, schedule (origin Unix nanoseconds, length, overlap), the board
// key's 32-byte seed, the dummy secret, then each period and secret scalar.
// Store it encrypted at rest.
func (k *Keyring) MarshalBinary() ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	b := []byte{keyringVersion}
	b = binary.BigEndian.AppendUint64(b, uint64(k.schedule.Origin.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, uint64(k.schedule.Length))
	b = binary.BigEndian.AppendUint64(b, uint64(k.schedule.Overlap))
	b = append(b, k.board.Seed()...)
	b = append(b, k.dummy[:]...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(k.keys)))
	for _, p := range sortedPeriods(k.keys) {
		b = binary.BigEndian.AppendUint64(b, p)
		b = append(b, k.keys[p].sk.Bytes()...)
	}
	return b, nil
}

// ParseKeyring decodes [Keyring.MarshalBinary].
func ParseKeyring(b []byte) (*Keyring, error) {
	r := reader{b: b}
	if r.u8() != keyringVersion {
		return nil, ErrMalformed
	}
	k := &Keyring{keys: map[uint64]*PeriodKey{}}
	k.schedule.Origin = time.Unix(0, int64(r.u64())).UTC()
	k.schedule.Length = time.Duration(r.u64())
	k.schedule.Overlap = time.Duration(r.u64())
	seed := r.take(ed25519.SeedSize)
	copy(k.dummy[:], r.take(32))
	n := int(r.u16())
	var last uint64
	for i := 0; i < n && !r.bad; i++ {
		p := r.u64()
		sk, err := edwards25519.NewScalar().SetCanonicalBytes(r.take(32))
		if err != nil || sk.Equal(edwards25519.NewScalar()) == 1 {
			return nil, ErrMalformed
		}
		if i > 0 && p <= last {
			return nil, ErrMalformed // periods strictly increasing: one encoding per keyring
		}
		last = p
		k.keys[p] = newPeriodKey(p, sk)
	}
	if !r.ok() || !k.schedule.valid() {
		return nil, ErrMalformed
	}
	k.board = ed25519.NewKeyFromSeed(seed)
	return k, nil
}

func sortedPeriods(m map[uint64]*PeriodKey) []uint64 {
	ps := make([]uint64, 0, len(m))
	for p := range m {
		ps = append(ps, p)
	}
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j] < ps[j-1]; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
	return ps
}
