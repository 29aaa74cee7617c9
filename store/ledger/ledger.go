package ledger

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Errors. Verification errors wrap exactly one of these.
var (
	ErrAltered       = errors.New("ledger: record altered")
	ErrDeleted       = errors.New("ledger: record missing")
	ErrInserted      = errors.New("ledger: record inserted or duplicated")
	ErrReordered     = errors.New("ledger: records reordered")
	ErrBadCheckpoint = errors.New("ledger: bad checkpoint")
	ErrMalformed     = errors.New("ledger: malformed proof")
)

// Hash is a SHA-256 value.
type Hash [32]byte

const (
	tagLeaf    = 0x00
	tagChain   = 0x01
	tagGenesis = 0x02
	label      = "hisoka-ledger-v1"
	cpLabel    = "hisoka-ledger-checkpoint-v1"
)

// Genesis is c0 for a tenant.
func Genesis(tenant string) Hash {
	h := sha256.New()
	h.Write([]byte{tagGenesis})
	h.Write([]byte(label))
	h.Write(binary.AppendUvarint(nil, uint64(len(tenant))))
	h.Write([]byte(tenant))
	var out Hash
	h.Sum(out[:0])
	return out
}

// Leaf hashes one record's canonical encoding.
func Leaf(record []byte) Hash {
	var buf [1]byte
	h := sha256.New()
	buf[0] = tagLeaf
	h.Write(buf[:])
	h.Write(record)
	var out Hash
	h.Sum(out[:0])
	return out
}

// Next extends the chain: c_i = SHA-256(0x01 || prev || leaf).
func Next(prev, leaf Hash) Hash {
	var buf [65]byte
	buf[0] = tagChain
	copy(buf[1:], prev[:])
	copy(buf[33:], leaf[:])
	return sha256.Sum256(buf[:])
}

// Checkpoint is a signed statement that the tenant's chain had head Head
// after record Seq, made at Time.
type Checkpoint struct {
	Tenant string
	Seq    uint64
	Head   Hash
	Time   time.Time
	Sig    []byte // Ed25519 over SignedMessage
}

// SignedMessage is the exact message signed:
// "hisoka-ledger-checkpoint-v1" 0x00 uvarint(len tenant) tenant u64(seq) head i64(unix ns).
func (c *Checkpoint) SignedMessage() []byte {
	b := make([]byte, 0, len(cpLabel)+1+10+len(c.Tenant)+8+32+8)
	b = append(b, cpLabel...)
	b = append(b, 0)
	b = binary.AppendUvarint(b, uint64(len(c.Tenant)))
	b = append(b, c.Tenant...)
	b = binary.BigEndian.AppendUint64(b, c.Seq)
	b = append(b, c.Head[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(c.Time.UnixNano()))
	return b
}

// Sign signs c with signer, which must hold an Ed25519 key
// (ed25519.PrivateKey is a crypto.Signer). Time is truncated to nanoseconds UTC.
func Sign(signer crypto.Signer, c Checkpoint) (Checkpoint, error) {
	if _, ok := signer.Public().(ed25519.PublicKey); !ok {
		return Checkpoint{}, fmt.Errorf("%w: signer is not Ed25519", ErrBadCheckpoint)
	}
	c.Time = time.Unix(0, c.Time.UnixNano()).UTC()
	sig, err := signer.Sign(nil, c.SignedMessage(), crypto.Hash(0))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("ledger: signing checkpoint: %w", err)
	}
	c.Sig = sig
	return c, nil
}

// Verify checks c's signature under pub.
func (c *Checkpoint) Verify(pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize || len(c.Sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: key or signature size", ErrBadCheckpoint)
	}
	if !ed25519.Verify(pub, c.SignedMessage(), c.Sig) {
		return fmt.Errorf("%w: signature does not verify", ErrBadCheckpoint)
	}
	return nil
}

// VerifyCheckpoints checks a tenant's list of checkpoints: every signature,
// the tenant, and strictly increasing Seq with non-decreasing Time.
func VerifyCheckpoints(pub ed25519.PublicKey, tenant string, cps []Checkpoint) error {
	for i := range cps {
		if cps[i].Tenant != tenant {
			return fmt.Errorf("%w: checkpoint %d is for another tenant", ErrBadCheckpoint, i)
		}
		if err := cps[i].Verify(pub); err != nil {
			return fmt.Errorf("checkpoint %d: %w", i, err)
		}
		if i > 0 && (cps[i].Seq <= cps[i-1].Seq || cps[i].Time.Before(cps[i-1].Time)) {
			return fmt.Errorf("%w: checkpoints %d and %d out of order", ErrBadCheckpoint, i-1, i)
		}
	}
	return nil
}

// Entry is one record as the verifier sees it: the seq it claims and its
// canonical encoding (which contains the seq too).
type Entry struct {
	Seq  uint64
	Data []byte
}

// Proof shows that records From..To are the tenant's complete, unaltered
// records in that range.
type Proof struct {
	Tenant     string
	From, To   uint64
	Prev       Hash   // c_{From-1}
	Tail       []Hash // leaf hashes of records To+1 .. Checkpoint.Seq
	Checkpoint Checkpoint
}

// Verify checks entries against p and pub. It returns nil only if entries
// are exactly records p.From..p.To, in order, as they were when checkpointed.
func Verify(pub ed25519.PublicKey, p *Proof, entries []Entry) error {
	if p.From == 0 || p.To < p.From || p.Checkpoint.Seq != p.To+uint64(len(p.Tail)) {
		return fmt.Errorf("%w: inconsistent range", ErrMalformed)
	}
	if p.Checkpoint.Tenant != p.Tenant {
		return fmt.Errorf("%w: checkpoint is for another tenant", ErrBadCheckpoint)
	}
	if err := p.Checkpoint.Verify(pub); err != nil {
		return err
	}
	if p.From == 1 && p.Prev != Genesis(p.Tenant) {
		return fmt.Errorf("%w: chain does not start at genesis", ErrAltered)
	}
	// Order, duplicates, gaps and strays, from the claimed seqs.
	want := p.To - p.From + 1
	for i := range entries {
		s := entries[i].Seq
		if s < p.From || s > p.To {
			return fmt.Errorf("%w: seq %d outside %d..%d", ErrInserted, s, p.From, p.To)
		}
		if i > 0 {
			switch prev := entries[i-1].Seq; {
			case s == prev:
				return fmt.Errorf("%w: seq %d twice", ErrInserted, s)
			case s < prev:
				return fmt.Errorf("%w: seq %d after %d", ErrReordered, s, prev)
			}
		}
	}
	if uint64(len(entries)) != want {
		// Sorted, unique and within range but fewer than want: some are missing.
		missing := p.From
		for i := range entries {
			if entries[i].Seq != missing {
				break
			}
			missing++
		}
		return fmt.Errorf("%w: seq %d", ErrDeleted, missing)
	}
	c := p.Prev
	for i := range entries {
		if seqOf(entries[i].Data) != entries[i].Seq {
			return fmt.Errorf("%w: seq %d does not match its encoding", ErrAltered, entries[i].Seq)
		}
		c = Next(c, Leaf(entries[i].Data))
	}
	for _, l := range p.Tail {
		c = Next(c, l)
	}
	if c != p.Checkpoint.Head {
		return fmt.Errorf("%w: chain does not reach the checkpoint head", ErrAltered)
	}
	return nil
}

// seqOf reads the seq from a canonical record encoding (format byte, then
// the big-endian seq); a short encoding gives 0, which never matches.
func seqOf(data []byte) uint64 {
	if len(data) < 9 {
		return 0
	}
	return binary.BigEndian.Uint64(data[1:9])
}

// Equal reports whether two checkpoints are identical.
func (c *Checkpoint) Equal(o *Checkpoint) bool {
	return c.Tenant == o.Tenant && c.Seq == o.Seq && c.Head == o.Head &&
		c.Time.Equal(o.Time) && bytes.Equal(c.Sig, o.Sig)
}
