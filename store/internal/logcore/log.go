package logcore

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/zstd"

	"github.com/hisoka-project/hisoka/store"
	"github.com/hisoka-project/hisoka/store/ledger"
)

// Block bounds.
const (
	MaxBlockRecords = 4096
	MaxBlockRaw     = 8 << 20
	maxDecoded      = MaxBlockRaw + store.MaxLineLen + 64<<10
	hourNs          = int64(time.Hour)
	maxBucketSpan   = 24 * 31 // hours; longer ranges scan metas
	conflictRetries = 20
)

// Engine is what a backend provides for logs. Every method takes a valid
// tenant id. Commit, Trim and SetHead are atomic.
type Engine interface {
	// Head returns the tenant's head (zero if none).
	Head(ctx context.Context, tenant string) (Head, error)
	// Commit stores blocks and next atomically if the stored head's Seq is
	// still prev.Seq, else returns store.ErrConflict.
	Commit(ctx context.Context, tenant string, prev, next Head, blocks []*Block) error
	// Metas calls fn with metas in seq order: ascending those with
	// Last >= from, descending those with Last <= from; until fn returns false.
	Metas(ctx context.Context, tenant string, from uint64, desc bool, fn func(*Meta) (bool, error)) error
	// Meta returns one block's meta (store.ErrNotFound if absent).
	Meta(ctx context.Context, tenant string, last uint64) (*Meta, error)
	// Data returns one block's compressed records.
	Data(ctx context.Context, tenant string, last uint64) ([]byte, error)
	// BucketBlocks returns the Last of blocks with records in hour buckets
	// from..to inclusive (possibly stale or repeated).
	BucketBlocks(ctx context.Context, tenant string, from, to int64) ([]uint64, error)
	// Trim removes the given blocks (all with Last <= next.Base, by range)
	// and their bucket entries, and sets next, if the head's Seq is prev.Seq.
	Trim(ctx context.Context, tenant string, prev, next Head, removed []*Meta) error
	PutCheckpoint(ctx context.Context, tenant string, seq uint64, cp []byte) error
	Checkpoints(ctx context.Context, tenant string, after uint64, limit int) ([][]byte, error)
	// LastCheckpoint returns the newest checkpoint (store.ErrNotFound if none).
	LastCheckpoint(ctx context.Context, tenant string) ([]byte, error)
	// LogTenants lists tenants that have a log head.
	LogTenants(ctx context.Context) ([]string, error)
	// DropLog removes the tenant's log entirely (restore).
	DropLog(ctx context.Context, tenant string) error
	SetHead(ctx context.Context, tenant string, h Head) error
	PutBlock(ctx context.Context, tenant string, b *Block) error
	ListTenants(ctx context.Context) ([]store.Tenant, error)
}

// Options configure a Log.
type Options struct {
	Signer          crypto.Signer    // Ed25519; nil: no checkpoints
	CheckpointEvery uint64           // records between automatic checkpoints (default 10000)
	Now             func() time.Time // default time.Now
}

// Log implements store.Log over an Engine.
type Log struct {
	e     Engine
	opt   Options
	enc   *zstd.Encoder
	dec   *zstd.Decoder
	mu    sync.Mutex
	tens  map[string]*tenantState
	sets  sync.Pool // *hashSet, term hashes of a block being built
	cols  sync.Pool // *[]byte, column encoding of a block being built
	norms sync.Pool // *blockScratch
}

// blockScratch is reused between appends: a block's normalized records and
// their sorted field names.
type blockScratch struct {
	norm []store.Record
	keys fieldKeys
}

type tenantState struct {
	mu     sync.Mutex
	cpSeq  uint64
	cpInit bool
}

// New returns a Log over e.
func New(e Engine, opt Options) (*Log, error) {
	if opt.CheckpointEvery == 0 {
		opt.CheckpointEvery = 10000
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)), zstd.WithWindowSize(1<<20))
	if err != nil {
		return nil, err
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(maxDecoded), zstd.WithDecoderConcurrency(0))
	if err != nil {
		return nil, err
	}
	return &Log{e: e, opt: opt, enc: enc, dec: dec, tens: map[string]*tenantState{}}, nil
}

// Close releases the codec resources.
func (l *Log) Close() {
	l.dec.Close()
}

func (l *Log) state(tenant string) *tenantState {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.tens[tenant]
	if s == nil {
		s = &tenantState{}
		l.tens[tenant] = s
	}
	return s
}

func effTime(r *store.Record) int64 {
	if r.Time.IsZero() {
		return r.Received.UnixNano()
	}
	return r.Time.UnixNano()
}

func bucketOf(ns int64) int64 {
	if ns < 0 {
		return (ns+1)/hourNs - 1
	}
	return ns / hourNs
}

// Append implements store.Appender.
func (l *Log) Append(ctx context.Context, tenant string, recs []store.Record) (uint64, uint64, error) {
	if err := store.ValidTenant(tenant); err != nil {
		return 0, 0, err
	}
	if len(recs) == 0 {
		return 0, 0, nil
	}
	now := l.opt.Now()
	for i := range recs {
		if err := recs[i].Validate(); err != nil {
			return 0, 0, fmt.Errorf("record %d: %w", i, err)
		}
		if recs[i].Received.IsZero() {
			// build stamps it with now, and encodes it unchecked.
			stamped := store.Record{Received: now}
			if err := stamped.Validate(); err != nil {
				return 0, 0, fmt.Errorf("record %d: receive time: %w", i, err)
			}
		}
	}
	st := l.state(tenant)
	st.mu.Lock()
	defer st.mu.Unlock()
	for try := 0; ; try++ {
		prev, err := l.e.Head(ctx, tenant)
		if err != nil {
			return 0, 0, err
		}
		next, blocks, err := l.build(tenant, prev, recs, now)
		if err != nil {
			return 0, 0, err
		}
		err = l.e.Commit(ctx, tenant, prev, next, blocks)
		if errors.Is(err, store.ErrConflict) && try < conflictRetries {
			continue
		}
		if err != nil {
			return 0, 0, err
		}
		if l.opt.Signer != nil {
			if err := l.autoCheckpoint(ctx, tenant, st, next); err != nil {
				return prev.Seq + 1, next.Seq, err
			}
		}
		return prev.Seq + 1, next.Seq, nil
	}
}

// build encodes recs after prev into blocks.
func (l *Log) build(tenant string, prev Head, recs []store.Record, now time.Time) (Head, []*Block, error) {
	next := prev
	if next.Seq == 0 {
		next.Chain = ledger.Genesis(tenant)
		next.BaseChain = next.Chain
	}
	// Cut the batch into blocks first, so that each block's Bloom filter
	// (which needs only the lines and fields) is built on another core
	// while this one encodes, hashes and compresses.
	type span struct {
		start, end int
		size       int // sum of estimates: bounds the column encoding
		bloom      chan bloom
	}
	var spans []span
	for start := 0; start < len(recs); {
		end, size := start, 0
		for end < len(recs) && end-start < MaxBlockRecords && size < MaxBlockRaw {
			size += estimate(&recs[end])
			end++
		}
		sp := span{start: start, end: end, size: size, bloom: make(chan bloom, 1)}
		go func(rs []store.Record, out chan<- bloom) { out <- l.bloomOf(rs) }(recs[start:end], sp.bloom)
		spans = append(spans, sp)
		start = end
	}
	blocks := make([]*Block, 0, len(spans))
	// norm holds one block's normalized records at a time, keys their
	// sorted field names; both are reused across appends (the chain
	// goroutine is done with them before build returns), cleared so that
	// they keep no record's strings alive.
	sc, _ := l.norms.Get().(*blockScratch)
	if sc == nil {
		sc = new(blockScratch)
	}
	if want := min(len(recs), MaxBlockRecords); cap(sc.norm) < want {
		sc.norm = make([]store.Record, 0, want)
	}
	norm, keys := sc.norm[:0], &sc.keys
	defer func() {
		clear(norm[:cap(norm)])
		sc.norm = norm[:0]
		keys.reset()
		l.norms.Put(sc)
	}()
	buckets := map[int64]struct{}{}
	type chained struct {
		head  Head
		bytes int
	}
	for _, sp := range spans {
		cur := &Block{Meta: Meta{First: next.Seq + 1, Prev: next.Chain, Appended: now.UnixNano()}}
		norm = norm[:0]
		keys.reset()
		clear(buckets)
		for i := sp.start; i < sp.end; i++ {
			r := recs[i]
			r.Seq = cur.First + uint64(i-sp.start)
			if r.Received.IsZero() {
				r.Received = now
			}
			r.Received = r.Received.UTC()
			r.Time = r.Time.UTC()
			norm = append(norm, r)
			keys.add(r.Fields)
			t := effTime(&r)
			if i == sp.start || t < cur.MinTime {
				cur.MinTime = t
			}
			if i == sp.start || t > cur.MaxTime {
				cur.MaxTime = t
			}
			buckets[bucketOf(t)] = struct{}{}
		}
		cur.Last = cur.First + uint64(len(norm)) - 1
		// The chain (canonical encoding and SHA-256) runs beside the compression.
		done := make(chan chained, 1)
		go func(h Head, rs []store.Record) {
			var canon []byte
			n := 0
			for i := range rs {
				// Valid: checked by Append, Received set to now if zero.
				canon = rs[i].AppendBinaryKeys(canon[:0], keys.of(i))
				h.Chain = ledger.Next(h.Chain, ledger.Leaf(canon))
				n += len(canon)
			}
			h.Seq += uint64(len(rs))
			h.Records += uint64(len(rs))
			h.Bytes += uint64(n)
			done <- chained{head: h, bytes: n}
		}(next, norm)
		for k := range buckets {
			cur.Buckets = append(cur.Buckets, k)
		}
		sort.Slice(cur.Buckets, func(i, j int) bool { return cur.Buckets[i] < cur.Buckets[j] })
		colBuf, _ := l.cols.Get().(*[]byte)
		if colBuf == nil {
			colBuf = new([]byte)
		}
		if cap(*colBuf) < sp.size+16 {
			*colBuf = make([]byte, 0, sp.size+16)
		}
		cols := encodeColumnsKeys((*colBuf)[:0], norm, keys)
		cur.Data = l.enc.EncodeAll(cols, make([]byte, 0, len(cols)/4+64))
		*colBuf = cols[:0]
		l.cols.Put(colBuf)
		c := <-done
		cur.Bloom = <-sp.bloom
		next = c.head
		cur.RawBytes = uint64(c.bytes)
		blocks = append(blocks, cur)
	}
	return next, blocks, nil
}

// estimate bounds a record's canonical size from above.
func estimate(r *store.Record) int {
	n := 64 + len(r.Line) + len(r.Host) + len(r.App) + len(r.Source)
	for k, v := range r.Fields {
		n += len(k) + len(v) + 2*binaryMaxVarint
	}
	return n
}

const binaryMaxVarint = 10

// bloomOf builds the Bloom filter of the terms and fields of rs.
func (l *Log) bloomOf(rs []store.Record) bloom {
	terms, _ := l.sets.Get().(*hashSet)
	if terms == nil {
		terms = new(hashSet)
	}
	defer l.sets.Put(terms)
	terms.reset()
	var scratch [store.MaxTermLen + 8]byte
	addTerm := terms.addBytes
	key := make([]byte, 0, 256)
	for i := range rs {
		store.TermBytes(rs[i].Line, scratch[:0], addTerm)
		for k, v := range rs[i].Fields {
			key = appendFieldKey(key[:0], k, v)
			terms.add(xxhash.Sum64(key))
		}
	}
	bl := newBloom(terms.len())
	terms.each(bl.addHash)
	return bl
}

// decode decompresses a block's records.
func (l *Log) decode(data []byte, m *Meta) ([]store.Record, error) {
	cols, err := l.dec.DecodeAll(data, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: block %d: %v", store.ErrCorrupt, m.Last, err)
	}
	return decodeColumns(cols, m.First, int(m.Last-m.First+1))
}

func (l *Log) blockRecords(ctx context.Context, tenant string, m *Meta) ([]store.Record, error) {
	data, err := l.e.Data(ctx, tenant, m.Last)
	if err != nil {
		return nil, err
	}
	return l.decode(data, m)
}

// ReadAfter implements store.Reader.
func (l *Log) ReadAfter(ctx context.Context, tenant string, after uint64, limit int) ([]store.Record, error) {
	if err := store.ValidTenant(tenant); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > store.MaxLimit {
		limit = store.MaxLimit
	}
	var out []store.Record
	err := l.scan(ctx, tenant, after+1, 0, func(r *store.Record) (bool, error) {
		out = append(out, *r)
		return len(out) < limit, nil
	})
	return out, err
}

// scan calls fn for records from..to (to 0: no bound) in order.
func (l *Log) scan(ctx context.Context, tenant string, from, to uint64, fn func(*store.Record) (bool, error)) error {
	if from == 0 {
		from = 1
	}
	return l.e.Metas(ctx, tenant, from, false, func(m *Meta) (bool, error) {
		if to != 0 && m.First > to {
			return false, nil
		}
		recs, err := l.blockRecords(ctx, tenant, m)
		if isNotFound(err) {
			return true, nil // trimmed by retention while reading
		}
		if err != nil {
			return false, err
		}
		for i := range recs {
			if recs[i].Seq < from {
				continue
			}
			if to != 0 && recs[i].Seq > to {
				return false, nil
			}
			if ok, err := fn(&recs[i]); !ok || err != nil {
				return false, err
			}
		}
		return true, ctx.Err()
	})
}

// Export implements store.Exporter.
func (l *Log) Export(ctx context.Context, tenant string, from, to uint64, fn func(store.Record) error) error {
	if err := store.ValidTenant(tenant); err != nil {
		return err
	}
	if to != 0 && to < from {
		return fmt.Errorf("%w: export range", store.ErrInvalidArg)
	}
	return l.scan(ctx, tenant, from, to, func(r *store.Record) (bool, error) {
		return true, fn(*r)
	})
}

// Usage implements store.Usager.
func (l *Log) Usage(ctx context.Context, tenant string) (store.Usage, error) {
	if err := store.ValidTenant(tenant); err != nil {
		return store.Usage{}, err
	}
	h, err := l.e.Head(ctx, tenant)
	if err != nil {
		return store.Usage{}, err
	}
	u := store.Usage{Records: h.Records, Bytes: h.Bytes, Last: h.Seq, Appended: h.Seq}
	if h.Records > 0 {
		u.First = h.Base + 1
	}
	return u, nil
}

// BlockRecords decodes the records of a block as stored (for tests that
// tamper with stored data, and for tools).
func (l *Log) BlockRecords(b *Block) ([]store.Record, error) { return l.decode(b.Data, &b.Meta) }

// EncodeBlockRecords replaces b's data with rs (kept as given: no seq
// assignment, no chain update); for tests that tamper with stored data.
func (l *Log) EncodeBlockRecords(b *Block, rs []store.Record) {
	b.Data = l.enc.EncodeAll(encodeColumns(nil, rs), nil)
}
