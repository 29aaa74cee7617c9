package embedded

import (
	"bytes"
	"context"
	"crypto"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/hisoka-project/hisoka/store"
	"github.com/hisoka-project/hisoka/store/internal/logcore"
)

// Options configure a DB.
type Options struct {
	// Signer signs ledger checkpoints (an ed25519.PrivateKey or another
	// crypto.Signer with an Ed25519 key). Without it no checkpoints are made.
	Signer crypto.Signer
	// CheckpointEvery is the number of records between automatic checkpoints
	// (default 10000). Time-based checkpoints: call CheckpointAll on a timer.
	CheckpointEvery uint64
	// Now is the clock (default time.Now).
	Now func() time.Time
	// CacheBytes is Pebble's block cache size (default 64 MiB).
	CacheBytes int64
}

// DB is the embedded store.
type DB struct {
	*logcore.Log
	db     *pebble.DB
	cache  *pebble.Cache
	now    func() time.Time
	mu     sync.Mutex // boards, counters, resources
	seq    atomic.Uint64
	closed atomic.Bool
}

var _ store.Store = (*DB)(nil)

// Open opens (creating if needed) the store in dir.
func Open(dir string, opt Options) (*DB, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.CacheBytes == 0 {
		opt.CacheBytes = 64 << 20
	}
	cache := pebble.NewCache(opt.CacheBytes)
	po := &pebble.Options{
		Cache:                      cache,
		FormatMajorVersion:         pebble.FormatNewest,
		MemTableSize:               64 << 20,
		L0CompactionThreshold:      4,
		L0StopWritesThreshold:      24,
		CompactionConcurrencyRange: func() (int, int) { return 1, 2 },
		Logger:                     quietLogger{},
	}
	db, err := pebble.Open(dir, po)
	if err != nil {
		cache.Unref()
		return nil, fmt.Errorf("store/embedded: open: %w", err)
	}
	s := &DB{db: db, cache: cache, now: opt.Now}
	s.seq.Store(uint64(opt.Now().UnixNano()))
	s.Log, err = logcore.New(engine{s}, logcore.Options{Signer: opt.Signer, CheckpointEvery: opt.CheckpointEvery, Now: opt.Now})
	if err != nil {
		db.Close()
		cache.Unref()
		return nil, err
	}
	return s, nil
}

// Close flushes and closes the database.
func (s *DB) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.Log.Close()
	err := s.db.Close()
	s.cache.Unref()
	return err
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...interface{})  {}
func (quietLogger) Errorf(string, ...interface{}) {}
func (quietLogger) Fatalf(format string, args ...interface{}) {
	panic(fmt.Sprintf("pebble: "+format, args...))
}

// Key kinds.
const (
	kHead       = 'h'
	kMeta       = 'm'
	kData       = 'd'
	kBucket     = 'i'
	kCheckpoint = 'c'
	kTenant     = 't'
	kResource   = 'r'
	kOwner      = 'o'
	kCatalogue  = 'v'
	kPublished  = 'p'
	kKey        = 'k'
	kState      = 's'
	kCounter    = 'n'
	kBoard      = 'b'
	kDetection  = 'x'
	kAudit      = 'a'
)

// tkey builds kind | uvarint(len tenant) | tenant | parts...
func tkey(kind byte, tenant string, parts ...[]byte) []byte {
	n := 1 + binary.MaxVarintLen64 + len(tenant)
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 0, n)
	b = append(b, kind)
	b = binary.AppendUvarint(b, uint64(len(tenant)))
	b = append(b, tenant...)
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// gkey builds kind | rest, for service-wide items.
func gkey(kind byte, rest []byte) []byte {
	return append([]byte{kind}, rest...)
}

// splitTenant decodes the tenant from a tkey, returning it and the rest.
func splitTenant(k []byte) (string, []byte, bool) {
	if len(k) < 1 {
		return "", nil, false
	}
	n, w := binary.Uvarint(k[1:])
	if w <= 0 || n > uint64(len(k)-1-w) {
		return "", nil, false
	}
	return string(k[1+w : 1+w+int(n)]), k[1+w+int(n):], true
}

func be(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// bei encodes a signed value so that byte order is numeric order.
func bei(v int64) []byte { return be(uint64(v) ^ (1 << 63)) }

// prefixEnd is the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	e := bytes.Clone(p)
	for i := len(e) - 1; i >= 0; i-- {
		if e[i] < 0xff {
			e[i]++
			return e[:i+1]
		}
	}
	return nil
}

func (s *DB) get(k []byte) ([]byte, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	v, c, err := s.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store/embedded: %w", err)
	}
	out := bytes.Clone(v)
	c.Close()
	return out, nil
}

func (s *DB) set(k, v []byte) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	if err := s.db.Set(k, v, pebble.Sync); err != nil {
		return fmt.Errorf("store/embedded: %w", err)
	}
	return nil
}

func (s *DB) commit(b *pebble.Batch) error {
	defer b.Close()
	if s.closed.Load() {
		return store.ErrClosed
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("store/embedded: %w", err)
	}
	return nil
}

// each iterates keys with the given prefix (from start, if set), calling fn
// with key and value (valid only during the call) until it returns false.
func (s *DB) each(ctx context.Context, prefix, start []byte, reverse bool, fn func(k, v []byte) (bool, error)) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	o := &pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)}
	if start != nil {
		if reverse {
			o.UpperBound = start
		} else {
			o.LowerBound = start
		}
	}
	it, err := s.db.NewIter(o)
	if err != nil {
		return fmt.Errorf("store/embedded: %w", err)
	}
	defer it.Close()
	ok := it.First()
	if reverse {
		ok = it.Last()
	}
	for n := 0; ok; n++ {
		if n%256 == 255 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("store/embedded: %w", err)
		}
		cont, err := fn(it.Key(), v)
		if err != nil || !cont {
			return err
		}
		if reverse {
			ok = it.Prev()
		} else {
			ok = it.Next()
		}
	}
	return it.Error()
}
