package redis

import (
	"context"
	"encoding/binary"
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hisoka-project/hisoka/store"
	"github.com/hisoka-project/hisoka/store/internal/logcore"
)

// engine implements logcore.Engine on Redis.
type engine struct{ s *Store }

var _ logcore.Engine = engine{}

const metaPage = 64

// commitScript: KEYS head meta data tb; ARGV prevSeq prevBase newBin newSeq
// newBase nblocks, then per block: last meta data nbuckets bucket...
var commitScript = goredis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'seq', 'base')
if (h[1] or '0') ~= ARGV[1] or (h[2] or '0') ~= ARGV[2] then
  return redis.error_reply('CONFLICT')
end
local i = 7
for b = 1, tonumber(ARGV[6]) do
  local last = ARGV[i]
  redis.call('ZADD', KEYS[2], last, ARGV[i+1])
  redis.call('HSET', KEYS[3], last, ARGV[i+2])
  local nb = tonumber(ARGV[i+3])
  for k = 1, nb do
    local bk = ARGV[i+3+k]
    redis.call('ZADD', KEYS[4], bk, last .. ':' .. bk)
  end
  i = i + 4 + nb
end
redis.call('HSET', KEYS[1], 'seq', ARGV[4], 'base', ARGV[5], 'bin', ARGV[3])
return 'OK'
`)

// trimScript: KEYS head meta data tb; ARGV prevSeq prevBase newBin newSeq
// newBase ndata, data fields..., tb members...
var trimScript = goredis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'seq', 'base')
if (h[1] or '0') ~= ARGV[1] or (h[2] or '0') ~= ARGV[2] then
  return redis.error_reply('CONFLICT')
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[5])
local n = tonumber(ARGV[6])
for i = 7, 6 + n do
  redis.call('HDEL', KEYS[3], ARGV[i])
end
for i = 7 + n, #ARGV do
  redis.call('ZREM', KEYS[4], ARGV[i])
end
redis.call('HSET', KEYS[1], 'seq', ARGV[4], 'base', ARGV[5], 'bin', ARGV[3])
return 'OK'
`)

func (e engine) keys(tenant string) []string {
	return []string{e.s.tk(tenant, "head"), e.s.tk(tenant, "meta"), e.s.tk(tenant, "data"), e.s.tk(tenant, "tb")}
}

func u(v uint64) string { return strconv.FormatUint(v, 10) }

func conflict(err error) error {
	if err != nil && strings.Contains(err.Error(), "CONFLICT") {
		return store.ErrConflict
	}
	return wrap(err)
}

func (e engine) Head(ctx context.Context, tenant string) (logcore.Head, error) {
	var h logcore.Head
	v, err := e.s.c.HGet(ctx, e.s.tk(tenant, "head"), "bin").Bytes()
	if err == goredis.Nil {
		return h, nil
	}
	if err != nil {
		return h, wrap(err)
	}
	return h, h.UnmarshalBinary(v)
}

func (e engine) Commit(ctx context.Context, tenant string, prev, next logcore.Head, blocks []*logcore.Block) error {
	args := []any{u(prev.Seq), u(prev.Base), next.MarshalBinary(), u(next.Seq), u(next.Base), len(blocks)}
	for _, b := range blocks {
		args = append(args, u(b.Last), b.Meta.MarshalBinary(), b.Data, len(b.Buckets))
		for _, k := range b.Buckets {
			args = append(args, strconv.FormatInt(k, 10))
		}
	}
	if err := conflict(commitScript.Run(ctx, e.s.c, e.keys(tenant), args...).Err()); err != nil {
		return err
	}
	if prev.Seq == 0 {
		return e.s.known(ctx, tenant, true)
	}
	return nil
}

func decodeMeta(v string) (*logcore.Meta, error) {
	m := new(logcore.Meta)
	if _, err := m.UnmarshalBinary([]byte(v)); err != nil {
		return nil, err
	}
	return m, nil
}

func (e engine) Metas(ctx context.Context, tenant string, from uint64, desc bool, fn func(*logcore.Meta) (bool, error)) error {
	key := e.s.tk(tenant, "meta")
	bound := u(from)
	for {
		var page []string
		var err error
		if desc {
			page, err = e.s.c.ZRevRangeByScore(ctx, key, &goredis.ZRangeBy{Max: bound, Min: "-inf", Count: metaPage}).Result()
		} else {
			page, err = e.s.c.ZRangeByScore(ctx, key, &goredis.ZRangeBy{Min: bound, Max: "+inf", Count: metaPage}).Result()
		}
		if err != nil {
			return wrap(err)
		}
		for _, v := range page {
			m, err := decodeMeta(v)
			if err != nil {
				return err
			}
			if ok, err := fn(m); !ok || err != nil {
				return err
			}
			bound = "(" + u(m.Last)
		}
		if len(page) < metaPage {
			return nil
		}
	}
}

func (e engine) Meta(ctx context.Context, tenant string, last uint64) (*logcore.Meta, error) {
	v, err := e.s.c.ZRangeByScore(ctx, e.s.tk(tenant, "meta"), &goredis.ZRangeBy{Min: u(last), Max: u(last)}).Result()
	if err != nil {
		return nil, wrap(err)
	}
	if len(v) == 0 {
		return nil, store.ErrNotFound
	}
	return decodeMeta(v[0])
}

func (e engine) Data(ctx context.Context, tenant string, last uint64) ([]byte, error) {
	v, err := e.s.c.HGet(ctx, e.s.tk(tenant, "data"), u(last)).Bytes()
	return v, wrap(err)
}

func (e engine) BucketBlocks(ctx context.Context, tenant string, from, to int64) ([]uint64, error) {
	v, err := e.s.c.ZRangeByScore(ctx, e.s.tk(tenant, "tb"), &goredis.ZRangeBy{Min: strconv.FormatInt(from, 10), Max: strconv.FormatInt(to, 10)}).Result()
	if err != nil {
		return nil, wrap(err)
	}
	out := make([]uint64, 0, len(v))
	for _, m := range v {
		last, _, _ := strings.Cut(m, ":")
		n, err := strconv.ParseUint(last, 10, 64)
		if err != nil {
			return nil, store.ErrCorrupt
		}
		out = append(out, n)
	}
	return out, nil
}

func (e engine) Trim(ctx context.Context, tenant string, prev, next logcore.Head, removed []*logcore.Meta) error {
	args := []any{u(prev.Seq), u(prev.Base), next.MarshalBinary(), u(next.Seq), u(next.Base), len(removed)}
	for _, m := range removed {
		args = append(args, u(m.Last))
	}
	for _, m := range removed {
		for _, k := range m.Buckets {
			args = append(args, u(m.Last)+":"+strconv.FormatInt(k, 10))
		}
	}
	return conflict(trimScript.Run(ctx, e.s.c, e.keys(tenant), args...).Err())
}

func (e engine) PutCheckpoint(ctx context.Context, tenant string, seq uint64, cp []byte) error {
	key := e.s.tk(tenant, "cp")
	_, err := e.s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.ZRemRangeByScore(ctx, key, u(seq), u(seq))
		p.ZAdd(ctx, key, goredis.Z{Score: float64(seq), Member: cp})
		return nil
	})
	return wrap(err)
}

func (e engine) Checkpoints(ctx context.Context, tenant string, after uint64, limit int) ([][]byte, error) {
	v, err := e.s.c.ZRangeByScore(ctx, e.s.tk(tenant, "cp"), &goredis.ZRangeBy{Min: "(" + u(after), Max: "+inf", Count: int64(limit)}).Result()
	if err != nil {
		return nil, wrap(err)
	}
	out := make([][]byte, len(v))
	for i := range v {
		out[i] = []byte(v[i])
	}
	return out, nil
}

func (e engine) LastCheckpoint(ctx context.Context, tenant string) ([]byte, error) {
	v, err := e.s.c.ZRevRange(ctx, e.s.tk(tenant, "cp"), 0, 0).Result()
	if err != nil {
		return nil, wrap(err)
	}
	if len(v) == 0 {
		return nil, store.ErrNotFound
	}
	return []byte(v[0]), nil
}

func (e engine) LogTenants(ctx context.Context) ([]string, error) {
	v, err := e.s.c.SMembers(ctx, e.s.gk("logs")).Result()
	return v, wrap(err)
}

func (e engine) DropLog(ctx context.Context, tenant string) error {
	k := e.keys(tenant)
	return wrap(e.s.c.Del(ctx, append(k, e.s.tk(tenant, "cp"))...).Err())
}

func (e engine) SetHead(ctx context.Context, tenant string, h logcore.Head) error {
	if err := e.s.c.HSet(ctx, e.s.tk(tenant, "head"), "seq", u(h.Seq), "base", u(h.Base), "bin", h.MarshalBinary()).Err(); err != nil {
		return wrap(err)
	}
	return e.s.known(ctx, tenant, true)
}

func (e engine) PutBlock(ctx context.Context, tenant string, b *logcore.Block) error {
	_, err := e.s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.ZRemRangeByScore(ctx, e.s.tk(tenant, "meta"), u(b.Last), u(b.Last))
		p.ZAdd(ctx, e.s.tk(tenant, "meta"), goredis.Z{Score: float64(b.Last), Member: b.Meta.MarshalBinary()})
		p.HSet(ctx, e.s.tk(tenant, "data"), u(b.Last), b.Data)
		for _, k := range b.Buckets {
			p.ZAdd(ctx, e.s.tk(tenant, "tb"), goredis.Z{Score: float64(k), Member: u(b.Last) + ":" + strconv.FormatInt(k, 10)})
		}
		return nil
	})
	return wrap(err)
}

func (e engine) ListTenants(ctx context.Context) ([]store.Tenant, error) {
	return e.s.ListTenants(ctx)
}

// be8 encodes a version for a hash field.
func be8(v uint64) string { return string(binary.BigEndian.AppendUint64(nil, v)) }
