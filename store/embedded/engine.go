package embedded

import (
	"context"
	"encoding/binary"
	"math"

	"github.com/cockroachdb/pebble/v2"

	"github.com/hisoka-project/hisoka/store"
	"github.com/hisoka-project/hisoka/store/internal/logcore"
)

// engine implements logcore.Engine on Pebble. Writers of one tenant are
// serialized by logcore, and Pebble's lock file keeps other processes out,
// so the head check in Commit and Trim cannot race.
type engine struct{ s *DB }

var _ logcore.Engine = engine{}

func (e engine) Head(ctx context.Context, tenant string) (logcore.Head, error) {
	var h logcore.Head
	v, err := e.s.get(tkey(kHead, tenant))
	if err == store.ErrNotFound {
		return h, nil
	}
	if err != nil {
		return h, err
	}
	return h, h.UnmarshalBinary(v)
}

func (e engine) checkHead(ctx context.Context, tenant string, prev logcore.Head) error {
	cur, err := e.Head(ctx, tenant)
	if err != nil {
		return err
	}
	if cur.Seq != prev.Seq || cur.Base != prev.Base {
		return store.ErrConflict
	}
	return nil
}

func (e engine) putBlock(b *pebble.Batch, tenant string, bl *logcore.Block) {
	last := be(bl.Last)
	b.Set(tkey(kMeta, tenant, last), bl.Meta.MarshalBinary(), nil)
	b.Set(tkey(kData, tenant, last), bl.Data, nil)
	for _, k := range bl.Buckets {
		b.Set(tkey(kBucket, tenant, bei(k), last), nil, nil)
	}
}

func (e engine) Commit(ctx context.Context, tenant string, prev, next logcore.Head, blocks []*logcore.Block) error {
	if err := e.checkHead(ctx, tenant, prev); err != nil {
		return err
	}
	b := e.s.db.NewBatch()
	for _, bl := range blocks {
		e.putBlock(b, tenant, bl)
	}
	b.Set(tkey(kHead, tenant), next.MarshalBinary(), nil)
	return e.s.commit(b)
}

func (e engine) Metas(ctx context.Context, tenant string, from uint64, desc bool, fn func(*logcore.Meta) (bool, error)) error {
	prefix := tkey(kMeta, tenant)
	var start []byte
	if desc {
		if from < math.MaxUint64 {
			start = tkey(kMeta, tenant, be(from+1))
		}
	} else {
		start = tkey(kMeta, tenant, be(from))
	}
	return e.s.each(ctx, prefix, start, desc, func(k, v []byte) (bool, error) {
		m := new(logcore.Meta)
		if _, err := m.UnmarshalBinary(v); err != nil {
			return false, err
		}
		return fn(m)
	})
}

func (e engine) Meta(ctx context.Context, tenant string, last uint64) (*logcore.Meta, error) {
	v, err := e.s.get(tkey(kMeta, tenant, be(last)))
	if err != nil {
		return nil, err
	}
	m := new(logcore.Meta)
	if _, err := m.UnmarshalBinary(v); err != nil {
		return nil, err
	}
	return m, nil
}

func (e engine) Data(ctx context.Context, tenant string, last uint64) ([]byte, error) {
	return e.s.get(tkey(kData, tenant, be(last)))
}

func (e engine) BucketBlocks(ctx context.Context, tenant string, from, to int64) ([]uint64, error) {
	prefix := tkey(kBucket, tenant)
	end := bei(to)
	var out []uint64
	err := e.s.each(ctx, prefix, tkey(kBucket, tenant, bei(from)), false, func(k, v []byte) (bool, error) {
		rest := k[len(prefix):]
		if len(rest) != 16 {
			return false, store.ErrCorrupt
		}
		if string(rest[:8]) > string(end) {
			return false, nil
		}
		out = append(out, binary.BigEndian.Uint64(rest[8:]))
		return true, nil
	})
	return out, err
}

func (e engine) Trim(ctx context.Context, tenant string, prev, next logcore.Head, removed []*logcore.Meta) error {
	if err := e.checkHead(ctx, tenant, prev); err != nil {
		return err
	}
	b := e.s.db.NewBatch()
	end := be(next.Base + 1)
	b.DeleteRange(tkey(kMeta, tenant), tkey(kMeta, tenant, end), nil)
	b.DeleteRange(tkey(kData, tenant), tkey(kData, tenant, end), nil)
	for _, m := range removed {
		for _, k := range m.Buckets {
			b.Delete(tkey(kBucket, tenant, bei(k), be(m.Last)), nil)
		}
	}
	b.Set(tkey(kHead, tenant), next.MarshalBinary(), nil)
	return e.s.commit(b)
}

func (e engine) PutCheckpoint(ctx context.Context, tenant string, seq uint64, cp []byte) error {
	return e.s.set(tkey(kCheckpoint, tenant, be(seq)), cp)
}

func (e engine) Checkpoints(ctx context.Context, tenant string, after uint64, limit int) ([][]byte, error) {
	var out [][]byte
	if after == math.MaxUint64 {
		return nil, nil
	}
	err := e.s.each(ctx, tkey(kCheckpoint, tenant), tkey(kCheckpoint, tenant, be(after+1)), false, func(k, v []byte) (bool, error) {
		out = append(out, append([]byte(nil), v...))
		return len(out) < limit, nil
	})
	return out, err
}

func (e engine) LastCheckpoint(ctx context.Context, tenant string) ([]byte, error) {
	var out []byte
	err := e.s.each(ctx, tkey(kCheckpoint, tenant), nil, true, func(k, v []byte) (bool, error) {
		out = append([]byte(nil), v...)
		return false, nil
	})
	if err == nil && out == nil {
		err = store.ErrNotFound
	}
	return out, err
}

func (e engine) LogTenants(ctx context.Context) ([]string, error) {
	var out []string
	err := e.s.each(ctx, []byte{kHead}, nil, false, func(k, v []byte) (bool, error) {
		t, _, ok := splitTenant(k)
		if !ok {
			return false, store.ErrCorrupt
		}
		out = append(out, t)
		return true, nil
	})
	return out, err
}

func (e engine) DropLog(ctx context.Context, tenant string) error {
	b := e.s.db.NewBatch()
	for _, k := range []byte{kHead, kMeta, kData, kBucket, kCheckpoint} {
		p := tkey(k, tenant)
		b.DeleteRange(p, prefixEnd(p), nil)
	}
	return e.s.commit(b)
}

func (e engine) SetHead(ctx context.Context, tenant string, h logcore.Head) error {
	return e.s.set(tkey(kHead, tenant), h.MarshalBinary())
}

func (e engine) PutBlock(ctx context.Context, tenant string, bl *logcore.Block) error {
	b := e.s.db.NewBatch()
	e.putBlock(b, tenant, bl)
	return e.s.commit(b)
}

func (e engine) ListTenants(ctx context.Context) ([]store.Tenant, error) {
	return e.s.ListTenants(ctx)
}
