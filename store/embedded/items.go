package embedded

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/hisoka-project/hisoka/store"
)

func decodeJSON(v []byte, out any) error {
	if err := json.Unmarshal(v, out); err != nil {
		return fmt.Errorf("%w: %v", store.ErrCorrupt, err)
	}
	return nil
}

// PutTenant implements store.Tenants.
func (s *DB) PutTenant(ctx context.Context, t store.Tenant) error {
	if err := store.ValidTenant(t.ID); err != nil {
		return err
	}
	v, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return s.set(tkey(kTenant, t.ID), v)
}

// GetTenant implements store.Tenants.
func (s *DB) GetTenant(ctx context.Context, id string) (store.Tenant, error) {
	var t store.Tenant
	if err := store.ValidTenant(id); err != nil {
		return t, err
	}
	v, err := s.get(tkey(kTenant, id))
	if err != nil {
		return t, err
	}
	return t, decodeJSON(v, &t)
}

// ListTenants implements store.Tenants.
func (s *DB) ListTenants(ctx context.Context) ([]store.Tenant, error) {
	var out []store.Tenant
	err := s.each(ctx, []byte{kTenant}, nil, false, func(k, v []byte) (bool, error) {
		var t store.Tenant
		if err := decodeJSON(v, &t); err != nil {
			return false, err
		}
		out = append(out, t)
		return true, nil
	})
	return out, err
}

// DeleteTenant implements store.Tenants. It removes the registration only;
// the tenant's logs stay until retention or an operator removes them.
func (s *DB) DeleteTenant(ctx context.Context, id string) error {
	if err := store.ValidTenant(id); err != nil {
		return err
	}
	if _, err := s.get(tkey(kTenant, id)); err != nil {
		return err
	}
	b := s.db.NewBatch()
	b.Delete(tkey(kTenant, id), nil)
	return s.commit(b)
}

// PutResource implements store.Resources.
func (s *DB) PutResource(ctx context.Context, r store.Resource) error {
	if err := r.Validate(); err != nil {
		return err
	}
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.db.NewBatch()
	if old, err := s.get(gkey(kOwner, []byte(r.ID))); err == nil && string(old) != r.Tenant {
		b.Delete(tkey(kResource, string(old), []byte(r.ID)), nil)
	}
	b.Set(gkey(kOwner, []byte(r.ID)), []byte(r.Tenant), nil)
	b.Set(tkey(kResource, r.Tenant, []byte(r.ID)), v, nil)
	return s.commit(b)
}

// GetResource implements store.Resources.
func (s *DB) GetResource(ctx context.Context, id string) (store.Resource, error) {
	var r store.Resource
	if err := store.ValidName(id); err != nil {
		return r, err
	}
	owner, err := s.get(gkey(kOwner, []byte(id)))
	if err != nil {
		return r, err
	}
	v, err := s.get(tkey(kResource, string(owner), []byte(id)))
	if err != nil {
		return r, err
	}
	return r, decodeJSON(v, &r)
}

// ListResources implements store.Resources.
func (s *DB) ListResources(ctx context.Context, tenant string) ([]store.Resource, error) {
	if err := store.ValidTenant(tenant); err != nil {
		return nil, err
	}
	var out []store.Resource
	err := s.each(ctx, tkey(kResource, tenant), nil, false, func(k, v []byte) (bool, error) {
		var r store.Resource
		if err := decodeJSON(v, &r); err != nil {
			return false, err
		}
		out = append(out, r)
		return true, nil
	})
	return out, err
}

// DeleteResource implements store.Resources.
func (s *DB) DeleteResource(ctx context.Context, id string) error {
	if err := store.ValidName(id); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	owner, err := s.get(gkey(kOwner, []byte(id)))
	if err != nil {
		return err
	}
	b := s.db.NewBatch()
	b.Delete(gkey(kOwner, []byte(id)), nil)
	b.Delete(tkey(kResource, string(owner), []byte(id)), nil)
	return s.commit(b)
}

// PutCatalogue implements store.Catalogue.
func (s *DB) PutCatalogue(ctx context.Context, version uint64, data []byte) error {
	return s.set(gkey(kCatalogue, be(version)), data)
}

// GetCatalogue implements store.Catalogue.
func (s *DB) GetCatalogue(ctx context.Context, version uint64) ([]byte, error) {
	return s.get(gkey(kCatalogue, be(version)))
}

// ListCatalogues implements store.Catalogue.
func (s *DB) ListCatalogues(ctx context.Context) ([]uint64, error) {
	var out []uint64
	err := s.each(ctx, []byte{kCatalogue}, nil, false, func(k, v []byte) (bool, error) {
		if len(k) != 9 {
			return false, store.ErrCorrupt
		}
		out = append(out, binary.BigEndian.Uint64(k[1:]))
		return true, nil
	})
	return out, err
}

// Publish implements store.Catalogue.
func (s *DB) Publish(ctx context.Context, version uint64) error {
	if _, err := s.GetCatalogue(ctx, version); err != nil {
		return err
	}
	return s.set([]byte{kPublished}, be(version))
}

// Published implements store.Catalogue.
func (s *DB) Published(ctx context.Context) (uint64, []byte, error) {
	v, err := s.get([]byte{kPublished})
	if err != nil {
		return 0, nil, err
	}
	if len(v) != 8 {
		return 0, nil, store.ErrCorrupt
	}
	ver := binary.BigEndian.Uint64(v)
	data, err := s.GetCatalogue(ctx, ver)
	return ver, data, err
}

// PutKey implements store.Keys.
func (s *DB) PutKey(ctx context.Context, name string, blob []byte) error {
	if err := store.ValidName(name); err != nil {
		return err
	}
	return s.set(gkey(kKey, []byte(name)), blob)
}

// GetKey implements store.Keys.
func (s *DB) GetKey(ctx context.Context, name string) ([]byte, error) {
	if err := store.ValidName(name); err != nil {
		return nil, err
	}
	return s.get(gkey(kKey, []byte(name)))
}

// DeleteKey implements store.Keys.
func (s *DB) DeleteKey(ctx context.Context, name string) error {
	if _, err := s.GetKey(ctx, name); err != nil {
		return err
	}
	b := s.db.NewBatch()
	b.Delete(gkey(kKey, []byte(name)), nil)
	return s.commit(b)
}

// PutState implements store.States.
func (s *DB) PutState(ctx context.Context, name string, blob []byte) error {
	if err := store.ValidName(name); err != nil {
		return err
	}
	return s.set(gkey(kState, []byte(name)), blob)
}

// GetState implements store.States.
func (s *DB) GetState(ctx context.Context, name string) ([]byte, error) {
	if err := store.ValidName(name); err != nil {
		return nil, err
	}
	return s.get(gkey(kState, []byte(name)))
}

// AddCounter implements store.Counters.
func (s *DB) AddCounter(ctx context.Context, tenant, period string, delta int64) (int64, error) {
	if err := store.ValidTenant(tenant); err != nil {
		return 0, err
	}
	if err := store.ValidName(period); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := tkey(kCounter, tenant, []byte(period))
	var cur int64
	v, err := s.get(k)
	switch {
	case err == nil:
		if cur, err = strconv.ParseInt(string(v), 10, 64); err != nil {
			return 0, store.ErrCorrupt
		}
	case err != store.ErrNotFound:
		return 0, err
	}
	cur += delta
	return cur, s.set(k, strconv.AppendInt(nil, cur, 10))
}

// AppendBoard implements store.Boards.
func (s *DB) AppendBoard(ctx context.Context, tenant string, bb store.BoardBatch) error {
	if err := store.ValidTenant(tenant); err != nil {
		return err
	}
	for _, d := range bb.Detections {
		if err := store.ValidName(d); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	last, err := s.LastBoard(ctx, tenant)
	if err != nil && err != store.ErrNotFound {
		return err
	}
	if bb.Seq != last.Seq+1 {
		return fmt.Errorf("%w: board seq %d, expected %d", store.ErrConflict, bb.Seq, last.Seq+1)
	}
	v, err := json.Marshal(bb)
	if err != nil {
		return err
	}
	b := s.db.NewBatch()
	b.Set(tkey(kBoard, tenant, be(bb.Seq)), v, nil)
	for _, d := range bb.Detections {
		b.Set(tkey(kDetection, tenant, []byte(d)), be(bb.Seq), nil)
	}
	return s.commit(b)
}

// HasDetection implements store.Boards.
func (s *DB) HasDetection(ctx context.Context, tenant, id string) (bool, error) {
	if err := store.ValidTenant(tenant); err != nil {
		return false, err
	}
	_, err := s.get(tkey(kDetection, tenant, []byte(id)))
	if err == store.ErrNotFound {
		return false, nil
	}
	return err == nil, err
}

// BoardAfter implements store.Boards.
func (s *DB) BoardAfter(ctx context.Context, tenant string, after uint64, limit int) ([]store.BoardBatch, error) {
	if err := store.ValidTenant(tenant); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > store.MaxLimit {
		limit = store.MaxLimit
	}
	var out []store.BoardBatch
	if after == ^uint64(0) {
		return nil, nil
	}
	err := s.each(ctx, tkey(kBoard, tenant), tkey(kBoard, tenant, be(after+1)), false, func(k, v []byte) (bool, error) {
		var bb store.BoardBatch
		if err := decodeJSON(v, &bb); err != nil {
			return false, err
		}
		out = append(out, bb)
		return len(out) < limit, nil
	})
	return out, err
}

// LastBoard implements store.Boards.
func (s *DB) LastBoard(ctx context.Context, tenant string) (store.BoardBatch, error) {
	var bb store.BoardBatch
	if err := store.ValidTenant(tenant); err != nil {
		return bb, err
	}
	found := false
	err := s.each(ctx, tkey(kBoard, tenant), nil, true, func(k, v []byte) (bool, error) {
		found = true
		return false, decodeJSON(v, &bb)
	})
	if err == nil && !found {
		err = store.ErrNotFound
	}
	return bb, err
}

// AppendAccess implements store.Audit.
func (s *DB) AppendAccess(ctx context.Context, a store.Access) error {
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
	return s.set(tkey(kAudit, a.Tenant, bei(a.When.UnixNano()), be(s.seq.Add(1))), v)
}

// ListAccess implements store.Audit.
func (s *DB) ListAccess(ctx context.Context, tenant string, from, to time.Time, limit int) ([]store.Access, error) {
	if err := store.ValidTenant(tenant); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > store.MaxLimit {
		limit = store.MaxLimit
	}
	var start []byte
	if !from.IsZero() {
		start = tkey(kAudit, tenant, bei(from.UnixNano()))
	}
	var out []store.Access
	err := s.each(ctx, tkey(kAudit, tenant), start, false, func(k, v []byte) (bool, error) {
		var a store.Access
		if err := decodeJSON(v, &a); err != nil {
			return false, err
		}
		if !to.IsZero() && !a.When.Before(to) {
			return false, nil
		}
		out = append(out, a)
		return len(out) < limit, nil
	})
	return out, err
}
