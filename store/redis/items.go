package redis

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hisoka-project/hisoka/store"
)

// known records that a tenant has data (for Dump), and a log when log is set.
func (s *Store) known(ctx context.Context, tenant string, log bool) error {
	_, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		p.SAdd(ctx, s.gk("known"), tenant)
		if log {
			p.SAdd(ctx, s.gk("logs"), tenant)
		}
		return nil
	})
	return wrap(err)
}

func decodeJSON(v []byte, out any) error {
	if err := json.Unmarshal(v, out); err != nil {
		return fmt.Errorf("%w: %v", store.ErrCorrupt, err)
	}
	return nil
}

// PutTenant implements store.Tenants.
func (s *Store) PutTenant(ctx context.Context, t store.Tenant) error {
	if err := store.ValidTenant(t.ID); err != nil {
		return err
	}
	v, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if err := s.c.HSet(ctx, s.gk("tenants"), t.ID, v).Err(); err != nil {
		return wrap(err)
	}
	return s.known(ctx, t.ID, false)
}

// GetTenant implements store.Tenants.
func (s *Store) GetTenant(ctx context.Context, id string) (store.Tenant, error) {
	var t store.Tenant
	if err := store.ValidTenant(id); err != nil {
		return t, err
	}
	v, err := s.c.HGet(ctx, s.gk("tenants"), id).Bytes()
	if err != nil {
		return t, wrap(err)
	}
	return t, decodeJSON(v, &t)
}

// ListTenants implements store.Tenants.
func (s *Store) ListTenants(ctx context.Context) ([]store.Tenant, error) {
	m, err := s.c.HGetAll(ctx, s.gk("tenants")).Result()
	if err != nil {
		return nil, wrap(err)
	}
	out := make([]store.Tenant, 0, len(m))
	for _, v := range m {
		var t store.Tenant
		if err := decodeJSON([]byte(v), &t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// DeleteTenant implements store.Tenants. It removes the registration only.
func (s *Store) DeleteTenant(ctx context.Context, id string) error {
	if err := store.ValidTenant(id); err != nil {
		return err
	}
	n, err := s.c.HDel(ctx, s.gk("tenants"), id).Result()
	if err != nil {
		return wrap(err)
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// PutResource implements store.Resources.
func (s *Store) PutResource(ctx context.Context, r store.Resource) error {
	if err := r.Validate(); err != nil {
		return err
	}
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, err := s.c.HGet(ctx, s.gk("owner"), r.ID).Result()
	if err != nil && err != goredis.Nil {
		return wrap(err)
	}
	if err == nil && old != r.Tenant {
		if err := s.c.HDel(ctx, s.tk(old, "res"), r.ID).Err(); err != nil {
			return wrap(err)
		}
	}
	if err := s.c.HSet(ctx, s.tk(r.Tenant, "res"), r.ID, v).Err(); err != nil {
		return wrap(err)
	}
	if err := s.c.HSet(ctx, s.gk("owner"), r.ID, r.Tenant).Err(); err != nil {
		return wrap(err)
	}
	return s.known(ctx, r.Tenant, false)
}

// GetResource implements store.Resources.
func (s *Store) GetResource(ctx context.Context, id string) (store.Resource, error) {
	var r store.Resource
	if err := store.ValidName(id); err != nil {
		return r, err
	}
	owner, err := s.c.HGet(ctx, s.gk("owner"), id).Result()
	if err != nil {
		return r, wrap(err)
	}
	v, err := s.c.HGet(ctx, s.tk(owner, "res"), id).Bytes()
	if err != nil {
		return r, wrap(err)
	}
	return r, decodeJSON(v, &r)
}

// ListResources implements store.Resources.
func (s *Store) ListResources(ctx context.Context, tenant string) ([]store.Resource, error) {
	if err := store.ValidTenant(tenant); err != nil {
		return nil, err
	}
	m, err := s.c.HGetAll(ctx, s.tk(tenant, "res")).Result()
	if err != nil {
		return nil, wrap(err)
	}
	out := make([]store.Resource, 0, len(m))
	for _, v := range m {
		var r store.Resource
		if err := decodeJSON([]byte(v), &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// DeleteResource implements store.Resources.
func (s *Store) DeleteResource(ctx context.Context, id string) error {
	if err := store.ValidName(id); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	owner, err := s.c.HGet(ctx, s.gk("owner"), id).Result()
	if err != nil {
		return wrap(err)
	}
	if err := s.c.HDel(ctx, s.tk(owner, "res"), id).Err(); err != nil {
		return wrap(err)
	}
	return wrap(s.c.HDel(ctx, s.gk("owner"), id).Err())
}

// PutCatalogue implements store.Catalogue.
func (s *Store) PutCatalogue(ctx context.Context, version uint64, data []byte) error {
	return wrap(s.c.HSet(ctx, s.gk("cat"), be8(version), data).Err())
}

// GetCatalogue implements store.Catalogue.
func (s *Store) GetCatalogue(ctx context.Context, version uint64) ([]byte, error) {
	v, err := s.c.HGet(ctx, s.gk("cat"), be8(version)).Bytes()
	return v, wrap(err)
}

// ListCatalogues implements store.Catalogue.
func (s *Store) ListCatalogues(ctx context.Context) ([]uint64, error) {
	ks, err := s.c.HKeys(ctx, s.gk("cat")).Result()
	if err != nil {
		return nil, wrap(err)
	}
	out := make([]uint64, 0, len(ks))
	for _, k := range ks {
		if len(k) != 8 {
			return nil, store.ErrCorrupt
		}
		out = append(out, binary.BigEndian.Uint64([]byte(k)))
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// Publish implements store.Catalogue.
func (s *Store) Publish(ctx context.Context, version uint64) error {
	if _, err := s.GetCatalogue(ctx, version); err != nil {
		return err
	}
	return wrap(s.c.Set(ctx, s.gk("catpub"), be8(version), 0).Err())
}

// Published implements store.Catalogue.
func (s *Store) Published(ctx context.Context) (uint64, []byte, error) {
	v, err := s.c.Get(ctx, s.gk("catpub")).Bytes()
	if err != nil {
		return 0, nil, wrap(err)
	}
	if len(v) != 8 {
		return 0, nil, store.ErrCorrupt
	}
	ver := binary.BigEndian.Uint64(v)
	data, err := s.GetCatalogue(ctx, ver)
	return ver, data, err
}

// PutKey implements store.Keys.
func (s *Store) PutKey(ctx context.Context, name string, blob []byte) error {
	if err := store.ValidName(name); err != nil {
		return err
	}
	return wrap(s.c.HSet(ctx, s.gk("keys"), name, blob).Err())
}

// GetKey implements store.Keys.
func (s *Store) GetKey(ctx context.Context, name string) ([]byte, error) {
	if err := store.ValidName(name); err != nil {
		return nil, err
	}
	v, err := s.c.HGet(ctx, s.gk("keys"), name).Bytes()
	return v, wrap(err)
}

// DeleteKey implements store.Keys.
func (s *Store) DeleteKey(ctx context.Context, name string) error {
	if err := store.ValidName(name); err != nil {
		return err
	}
	n, err := s.c.HDel(ctx, s.gk("keys"), name).Result()
	if err == nil && n == 0 {
		return store.ErrNotFound
	}
	return wrap(err)
}

// PutState implements store.States.
func (s *Store) PutState(ctx context.Context, name string, blob []byte) error {
	if err := store.ValidName(name); err != nil {
		return err
	}
	return wrap(s.c.HSet(ctx, s.gk("state"), name, blob).Err())
}

// GetState implements store.States.
func (s *Store) GetState(ctx context.Context, name string) ([]byte, error) {
	if err := store.ValidName(name); err != nil {
		return nil, err
	}
	v, err := s.c.HGet(ctx, s.gk("state"), name).Bytes()
	return v, wrap(err)
}

// AddCounter implements store.Counters.
func (s *Store) AddCounter(ctx context.Context, tenant, period string, delta int64) (int64, error) {
	if err := store.ValidTenant(tenant); err != nil {
		return 0, err
	}
	if err := store.ValidName(period); err != nil {
		return 0, err
	}
	var n *goredis.IntCmd
	_, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		n = p.HIncrBy(ctx, s.tk(tenant, "ctr"), period, delta)
		p.SAdd(ctx, s.gk("known"), tenant)
		return nil
	})
	if err != nil {
		return 0, wrap(err)
	}
	return n.Val(), nil
}

// boardScript: KEYS bhead board det; ARGV seq member detections...
var boardScript = goredis.NewScript(`
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if last + 1 ~= tonumber(ARGV[1]) then
  return redis.error_reply('CONFLICT')
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
for i = 3, #ARGV do
  redis.call('SADD', KEYS[3], ARGV[i])
end
return 'OK'
`)

// AppendBoard implements store.Boards.
func (s *Store) AppendBoard(ctx context.Context, tenant string, bb store.BoardBatch) error {
	if err := store.ValidTenant(tenant); err != nil {
		return err
	}
	for _, d := range bb.Detections {
		if err := store.ValidName(d); err != nil {
			return err
		}
	}
	v, err := json.Marshal(bb)
	if err != nil {
		return err
	}
	args := []any{u(bb.Seq), v}
	for _, d := range bb.Detections {
		args = append(args, d)
	}
	keys := []string{s.tk(tenant, "bhead"), s.tk(tenant, "board"), s.tk(tenant, "det")}
	if err := conflict(boardScript.Run(ctx, s.c, keys, args...).Err()); err != nil {
		return err
	}
	return s.known(ctx, tenant, false)
}

// HasDetection implements store.Boards.
func (s *Store) HasDetection(ctx context.Context, tenant, id string) (bool, error) {
	if err := store.ValidTenant(tenant); err != nil {
		return false, err
	}
	ok, err := s.c.SIsMember(ctx, s.tk(tenant, "det"), id).Result()
	return ok, wrap(err)
}

func decodeBoards(vs []string) ([]store.BoardBatch, error) {
	out := make([]store.BoardBatch, len(vs))
	for i, v := range vs {
		if err := decodeJSON([]byte(v), &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// BoardAfter implements store.Boards.
func (s *Store) BoardAfter(ctx context.Context, tenant string, after uint64, limit int) ([]store.BoardBatch, error) {
	if err := store.ValidTenant(tenant); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > store.MaxLimit {
		limit = store.MaxLimit
	}
	vs, err := s.c.ZRangeByScore(ctx, s.tk(tenant, "board"), &goredis.ZRangeBy{Min: "(" + u(after), Max: "+inf", Count: int64(limit)}).Result()
	if err != nil {
		return nil, wrap(err)
	}
	return decodeBoards(vs)
}

// LastBoard implements store.Boards.
func (s *Store) LastBoard(ctx context.Context, tenant string) (store.BoardBatch, error) {
	if err := store.ValidTenant(tenant); err != nil {
		return store.BoardBatch{}, err
	}
	vs, err := s.c.ZRevRange(ctx, s.tk(tenant, "board"), 0, 0).Result()
	if err != nil {
		return store.BoardBatch{}, wrap(err)
	}
	if len(vs) == 0 {
		return store.BoardBatch{}, store.ErrNotFound
	}
	out, err := decodeBoards(vs)
	if err != nil {
		return store.BoardBatch{}, err
	}
	return out[0], nil
}

// auditScript: KEYS audit aseq; ARGV score json.
var auditScript = goredis.NewScript(`
local n = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[1], ARGV[1], string.format('%020d', n) .. ':' .. ARGV[2])
return n
`)

func micro(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }

// AppendAccess implements store.Audit.
func (s *Store) AppendAccess(ctx context.Context, a store.Access) error {
	if err := store.ValidTenant(a.Tenant); err != nil {
		return err
	}
	if a.When.IsZero() {
		a.When = s.now()
	}
	a.When = a.When.UTC()
	v, err := json.Marshal(a)
	if err != nil {
		return err
	}
	keys := []string{s.tk(a.Tenant, "audit"), s.tk(a.Tenant, "aseq")}
	if err := auditScript.Run(ctx, s.c, keys, micro(a.When), v).Err(); err != nil {
		return wrap(err)
	}
	return s.known(ctx, a.Tenant, false)
}

// ListAccess implements store.Audit.
func (s *Store) ListAccess(ctx context.Context, tenant string, from, to time.Time, limit int) ([]store.Access, error) {
	if err := store.ValidTenant(tenant); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > store.MaxLimit {
		limit = store.MaxLimit
	}
	min, max := "-inf", "+inf"
	if !from.IsZero() {
		min = strconv.FormatInt(from.UnixMicro()-1, 10)
	}
	if !to.IsZero() {
		max = strconv.FormatInt(to.UnixMicro()+1, 10)
	}
	var out []store.Access
	for offset := int64(0); len(out) < limit; {
		vs, err := s.c.ZRangeByScore(ctx, s.tk(tenant, "audit"), &goredis.ZRangeBy{Min: min, Max: max, Offset: offset, Count: 256}).Result()
		if err != nil {
			return nil, wrap(err)
		}
		for _, v := range vs {
			_, js, ok := strings.Cut(v, ":")
			var a store.Access
			if !ok {
				return nil, store.ErrCorrupt
			}
			if err := decodeJSON([]byte(js), &a); err != nil {
				return nil, err
			}
			if (!from.IsZero() && a.When.Before(from)) || (!to.IsZero() && !a.When.Before(to)) {
				continue
			}
			out = append(out, a)
			if len(out) == limit {
				break
			}
		}
		if len(vs) < 256 {
			break
		}
		offset += int64(len(vs))
	}
	return out, nil
}
