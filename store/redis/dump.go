package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hisoka-project/hisoka/store"
)

// Dump implements store.Dumper.
func (s *Store) Dump(ctx context.Context, tenant string, fn func(store.Row) error) error {
	tenants := []string{tenant}
	if tenant == "" {
		if err := s.dumpGlobals(ctx, fn); err != nil {
			return err
		}
		var err error
		if tenants, err = s.c.SMembers(ctx, s.gk("known")).Result(); err != nil {
			return wrap(err)
		}
		sort.Strings(tenants)
	} else if err := store.ValidTenant(tenant); err != nil {
		return err
	}
	for _, t := range tenants {
		if err := s.dumpTenant(ctx, t, fn); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func (s *Store) dumpHash(ctx context.Context, key string, kind store.RowKind, tenant string, fn func(store.Row) error) error {
	m, err := s.c.HGetAll(ctx, key).Result()
	if err != nil {
		return wrap(err)
	}
	for _, k := range sortedKeys(m) {
		if err := fn(store.Row{Kind: kind, Tenant: tenant, Key: []byte(k), Value: []byte(m[k])}); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) dumpGlobals(ctx context.Context, fn func(store.Row) error) error {
	if err := s.dumpHash(ctx, s.gk("cat"), store.RowCatalogue, "", fn); err != nil {
		return err
	}
	v, err := s.c.Get(ctx, s.gk("catpub")).Bytes()
	if err == nil {
		if err := fn(store.Row{Kind: store.RowPublished, Value: v}); err != nil {
			return err
		}
	} else if err != goredis.Nil {
		return wrap(err)
	}
	if err := s.dumpHash(ctx, s.gk("keys"), store.RowKey, "", fn); err != nil {
		return err
	}
	return s.dumpHash(ctx, s.gk("state"), store.RowState, "", fn)
}

func (s *Store) dumpTenant(ctx context.Context, t string, fn func(store.Row) error) error {
	if v, err := s.c.HGet(ctx, s.gk("tenants"), t).Bytes(); err == nil {
		if err := fn(store.Row{Kind: store.RowTenant, Tenant: t, Value: v}); err != nil {
			return err
		}
	} else if err != goredis.Nil {
		return wrap(err)
	}
	if err := s.dumpHash(ctx, s.tk(t, "res"), store.RowResource, t, fn); err != nil {
		return err
	}
	if err := s.dumpHash(ctx, s.tk(t, "ctr"), store.RowCounter, t, fn); err != nil {
		return err
	}
	boards, err := s.c.ZRange(ctx, s.tk(t, "board"), 0, -1).Result()
	if err != nil {
		return wrap(err)
	}
	for _, b := range boards {
		if err := fn(store.Row{Kind: store.RowBoard, Tenant: t, Value: []byte(b)}); err != nil {
			return err
		}
	}
	audit, err := s.c.ZRange(ctx, s.tk(t, "audit"), 0, -1).Result()
	if err != nil {
		return wrap(err)
	}
	for _, a := range audit {
		_, js, _ := strings.Cut(a, ":")
		if err := fn(store.Row{Kind: store.RowAccess, Tenant: t, Value: []byte(js)}); err != nil {
			return err
		}
	}
	return s.DumpLog(ctx, t, fn)
}

// Load implements store.Loader.
func (s *Store) Load(ctx context.Context, rows []store.Row) error {
	for _, r := range rows {
		if err := s.loadRow(ctx, r); err != nil {
			return fmt.Errorf("store/redis: load row kind %d: %w", r.Kind, err)
		}
	}
	return nil
}

func (s *Store) loadRow(ctx context.Context, r store.Row) error {
	switch r.Kind {
	case store.RowCatalogue:
		if len(r.Key) != 8 {
			return store.ErrCorrupt
		}
		return wrap(s.c.HSet(ctx, s.gk("cat"), string(r.Key), r.Value).Err())
	case store.RowPublished:
		return wrap(s.c.Set(ctx, s.gk("catpub"), r.Value, 0).Err())
	case store.RowKey:
		return s.PutKey(ctx, string(r.Key), r.Value)
	case store.RowState:
		return s.PutState(ctx, string(r.Key), r.Value)
	case store.RowTenant:
		var t store.Tenant
		if err := decodeJSON(r.Value, &t); err != nil {
			return err
		}
		return s.PutTenant(ctx, t)
	case store.RowResource:
		var res store.Resource
		if err := decodeJSON(r.Value, &res); err != nil {
			return err
		}
		return s.PutResource(ctx, res)
	case store.RowCounter:
		if err := store.ValidTenant(r.Tenant); err != nil {
			return err
		}
		if _, err := strconv.ParseInt(string(r.Value), 10, 64); err != nil {
			return store.ErrCorrupt
		}
		if err := s.c.HSet(ctx, s.tk(r.Tenant, "ctr"), string(r.Key), r.Value).Err(); err != nil {
			return wrap(err)
		}
		return s.known(ctx, r.Tenant, false)
	case store.RowBoard:
		var bb store.BoardBatch
		if err := decodeJSON(r.Value, &bb); err != nil {
			return err
		}
		if err := store.ValidTenant(r.Tenant); err != nil {
			return err
		}
		v, _ := json.Marshal(bb)
		_, err := s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			p.ZRemRangeByScore(ctx, s.tk(r.Tenant, "board"), u(bb.Seq), u(bb.Seq))
			p.ZAdd(ctx, s.tk(r.Tenant, "board"), goredis.Z{Score: float64(bb.Seq), Member: v})
			for _, d := range bb.Detections {
				p.SAdd(ctx, s.tk(r.Tenant, "det"), d)
			}
			p.Eval(ctx, `local c = tonumber(redis.call('GET', KEYS[1]) or '0'); if c < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end; return 1`, []string{s.tk(r.Tenant, "bhead")}, u(bb.Seq))
			return nil
		})
		if err != nil {
			return wrap(err)
		}
		return s.known(ctx, r.Tenant, false)
	case store.RowAccess:
		var a store.Access
		if err := decodeJSON(r.Value, &a); err != nil {
			return err
		}
		a.Tenant = r.Tenant
		return s.AppendAccess(ctx, a)
	case store.RowLogHead, store.RowLogBlock, store.RowCheckpoint:
		return s.LoadLog(ctx, r)
	}
	return fmt.Errorf("%w: unknown row kind", store.ErrInvalidArg)
}
