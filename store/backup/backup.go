package backup

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/klauspost/compress/zstd"

	"github.com/hisoka-project/hisoka/store"
	"github.com/hisoka-project/hisoka/store/ledger"
)

// Errors.
var (
	ErrCorrupt = errors.New("backup: corrupt or truncated file")
	ErrVerify  = errors.New("backup: verification failed")
)

const (
	magic       = "HISOKA-BACKUP-1\n"
	maxField    = 64 << 20
	loadBatch   = 256
	trailerKind = 0
)

// Stats counts what a backup holds.
type Stats struct {
	Rows    uint64
	ByKind  map[store.RowKind]uint64
	Tenants map[string]bool
}

func newStats() Stats {
	return Stats{ByKind: map[store.RowKind]uint64{}, Tenants: map[string]bool{}}
}

func (s *Stats) add(r *store.Row) {
	s.Rows++
	s.ByKind[r.Kind]++
	if r.Tenant != "" {
		s.Tenants[r.Tenant] = true
	}
}

// Write dumps src (everything with tenant "", else that tenant) to w as one
// compressed backup.
func Write(ctx context.Context, src store.Dumper, tenant string, w io.Writer) (Stats, error) {
	st := newStats()
	zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		return st, err
	}
	bw := bufio.NewWriterSize(zw, 1<<20)
	sum := sha256.New()
	out := io.MultiWriter(bw, sum)
	if _, err := bw.WriteString(magic); err != nil {
		return st, err
	}
	var frame []byte
	err = src.Dump(ctx, tenant, func(r store.Row) error {
		if r.Kind == trailerKind {
			return fmt.Errorf("backup: row kind 0")
		}
		frame = frame[:0]
		frame = append(frame, byte(r.Kind))
		for _, f := range [][]byte{[]byte(r.Tenant), r.Key, r.Value} {
			frame = binary.AppendUvarint(frame, uint64(len(f)))
			frame = append(frame, f...)
		}
		st.add(&r)
		_, err := out.Write(frame)
		return err
	})
	if err != nil {
		zw.Close()
		return st, err
	}
	tr := binary.BigEndian.AppendUint64([]byte{trailerKind}, st.Rows)
	tr = sum.Sum(tr)
	if _, err := bw.Write(tr); err != nil {
		return st, err
	}
	if err := bw.Flush(); err != nil {
		return st, err
	}
	return st, zw.Close()
}

type reader struct {
	br  *bufio.Reader
	sum hash.Hash
	buf []byte
}

func (r *reader) uvarint() (uint64, error) {
	v, err := binary.ReadUvarint(r.br)
	if err != nil {
		return 0, ErrCorrupt
	}
	var tmp [binary.MaxVarintLen64]byte
	r.sum.Write(binary.AppendUvarint(tmp[:0], v))
	return v, nil
}

func (r *reader) field() ([]byte, error) {
	n, err := r.uvarint()
	if err != nil || n > maxField {
		return nil, ErrCorrupt
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r.br, b); err != nil {
		return nil, ErrCorrupt
	}
	r.sum.Write(b)
	return b, nil
}

// read calls fn for every row and checks the trailer.
func read(r io.Reader, fn func(store.Row) error) (Stats, error) {
	st := newStats()
	zr, err := zstd.NewReader(r, zstd.WithDecoderMaxMemory(1<<30))
	if err != nil {
		return st, ErrCorrupt
	}
	defer zr.Close()
	rd := &reader{br: bufio.NewReaderSize(zr, 1<<20), sum: sha256.New()}
	head := make([]byte, len(magic))
	if _, err := io.ReadFull(rd.br, head); err != nil || string(head) != magic {
		return st, ErrCorrupt
	}
	for {
		k, err := rd.br.ReadByte()
		if err != nil {
			return st, ErrCorrupt
		}
		if k == trailerKind {
			var tr [8 + sha256.Size]byte
			if _, err := io.ReadFull(rd.br, tr[:]); err != nil {
				return st, ErrCorrupt
			}
			if binary.BigEndian.Uint64(tr[:8]) != st.Rows || string(tr[8:]) != string(rd.sum.Sum(nil)) {
				return st, ErrCorrupt
			}
			if _, err := rd.br.ReadByte(); err != io.EOF {
				return st, ErrCorrupt
			}
			return st, nil
		}
		rd.sum.Write([]byte{k})
		var row store.Row
		row.Kind = store.RowKind(k)
		t, err := rd.field()
		if err != nil {
			return st, err
		}
		row.Tenant = string(t)
		if row.Key, err = rd.field(); err != nil {
			return st, err
		}
		if row.Value, err = rd.field(); err != nil {
			return st, err
		}
		st.add(&row)
		if fn != nil {
			if err := fn(row); err != nil {
				return st, err
			}
		}
	}
}

// Check reads a whole backup and checks its structure and checksum.
func Check(r io.Reader) (Stats, error) { return read(r, nil) }

// Restore checks the backup first, then loads it into dst (replacing the
// logs of every tenant it holds). Restore into an empty store for an exact
// copy.
func Restore(ctx context.Context, dst store.Loader, r io.ReadSeeker) (Stats, error) {
	if st, err := Check(r); err != nil {
		return st, err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return Stats{}, err
	}
	batch := make([]store.Row, 0, loadBatch)
	st, err := read(r, func(row store.Row) error {
		batch = append(batch, row)
		if len(batch) < loadBatch {
			return nil
		}
		err := dst.Load(ctx, batch)
		batch = batch[:0]
		return err
	})
	if err != nil {
		return st, err
	}
	if len(batch) > 0 {
		err = dst.Load(ctx, batch)
	}
	return st, err
}

// LogSource is what Verify reads.
type LogSource interface {
	store.Usager
	store.Exporter
	store.Ledger
}

// verifyChunk bounds the records held in memory at once by Verify.
const verifyChunk = 50000

// Verify proves and verifies every retained record of each tenant against
// its checkpoints under pub, as a tenant would. Long logs are verified in
// contiguous ranges of verifyChunk records, each against a signed
// checkpoint, which together cover the whole retained range.
func Verify(ctx context.Context, s LogSource, pub ed25519.PublicKey, tenants []string) error {
	for _, t := range tenants {
		u, err := s.Usage(ctx, t)
		if err != nil {
			return err
		}
		if u.Records == 0 {
			continue
		}
		for from := u.First; from <= u.Last; from += verifyChunk {
			to := min(u.Last, from+verifyChunk-1)
			if err := verifyRange(ctx, s, pub, t, from, to); err != nil {
				return err
			}
		}
	}
	return nil
}

func verifyRange(ctx context.Context, s LogSource, pub ed25519.PublicKey, t string, from, to uint64) error {
	p, err := s.Prove(ctx, t, from, to)
	if err != nil {
		return fmt.Errorf("%w: prove: %w", ErrVerify, err)
	}
	es := make([]ledger.Entry, 0, to-from+1)
	err = s.Export(ctx, t, from, to, func(r store.Record) error {
		b, err := r.MarshalBinary()
		es = append(es, ledger.Entry{Seq: r.Seq, Data: b})
		return err
	})
	if err != nil {
		return err
	}
	if err := ledger.Verify(pub, &p, es); err != nil {
		return fmt.Errorf("%w: %w", ErrVerify, err)
	}
	return nil
}
