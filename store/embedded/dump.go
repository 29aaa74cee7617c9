package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/hisoka-project/hisoka/store"
)

// Dump implements store.Dumper.
func (s *DB) Dump(ctx context.Context, tenant string, fn func(store.Row) error) error {
	if tenant != "" {
		if err := store.ValidTenant(tenant); err != nil {
			return err
		}
	}
	emit := func(kind store.RowKind, t string, key, val []byte) error {
		return fn(store.Row{Kind: kind, Tenant: t, Key: bytes.Clone(key), Value: bytes.Clone(val)})
	}
	if tenant == "" {
		globals := []struct {
			k    byte
			kind store.RowKind
		}{{kCatalogue, store.RowCatalogue}, {kPublished, store.RowPublished}, {kKey, store.RowKey}, {kState, store.RowState}}
		for _, g := range globals {
			err := s.each(ctx, []byte{g.k}, nil, false, func(k, v []byte) (bool, error) {
				return true, emit(g.kind, "", k[1:], v)
			})
			if err != nil {
				return err
			}
		}
	}
	scoped := []struct {
		k    byte
		kind store.RowKind
	}{{kTenant, store.RowTenant}, {kResource, store.RowResource}, {kCounter, store.RowCounter}, {kBoard, store.RowBoard}, {kAudit, store.RowAccess}}
	for _, sc := range scoped {
		prefix := []byte{sc.k}
		if tenant != "" {
			prefix = tkey(sc.k, tenant)
		}
		err := s.each(ctx, prefix, nil, false, func(k, v []byte) (bool, error) {
			t, rest, ok := splitTenant(k)
			if !ok {
				return false, store.ErrCorrupt
			}
			if sc.kind == store.RowBoard || sc.kind == store.RowAccess {
				rest = nil
			}
			return true, emit(sc.kind, t, rest, v)
		})
		if err != nil {
			return err
		}
	}
	tenants := []string{tenant}
	if tenant == "" {
		var err error
		if tenants, err = (engine{s}).LogTenants(ctx); err != nil {
			return err
		}
	}
	for _, t := range tenants {
		if err := s.DumpLog(ctx, t, fn); err != nil {
			return err
		}
	}
	return nil
}

// Load implements store.Loader.
func (s *DB) Load(ctx context.Context, rows []store.Row) error {
	for _, r := range rows {
		if err := s.loadRow(ctx, r); err != nil {
			return fmt.Errorf("store/embedded: load row kind %d: %w", r.Kind, err)
		}
	}
	return nil
}

func (s *DB) loadRow(ctx context.Context, r store.Row) error {
	switch r.Kind {
	case store.RowCatalogue:
		if len(r.Key) != 8 {
			return store.ErrCorrupt
		}
		return s.PutCatalogue(ctx, binary.BigEndian.Uint64(r.Key), r.Value)
	case store.RowPublished:
		return s.set([]byte{kPublished}, r.Value)
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
		return s.set(tkey(kCounter, r.Tenant, r.Key), r.Value)
	case store.RowBoard:
		var bb store.BoardBatch
		if err := decodeJSON(r.Value, &bb); err != nil {
			return err
		}
		if err := store.ValidTenant(r.Tenant); err != nil {
			return err
		}
		v, _ := json.Marshal(bb)
		b := s.db.NewBatch()
		b.Set(tkey(kBoard, r.Tenant, be(bb.Seq)), v, nil)
		for _, d := range bb.Detections {
			b.Set(tkey(kDetection, r.Tenant, []byte(d)), be(bb.Seq), nil)
		}
		return s.commit(b)
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
