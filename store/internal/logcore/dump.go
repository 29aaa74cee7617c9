package logcore

import (
	"context"
	"fmt"
	"github.com/hisoka-project/hisoka/store/ledger"

	"github.com/hisoka-project/hisoka/store"
)

// DumpLog emits the tenant's log as rows: the head first, then blocks, then
// checkpoints.
func (l *Log) DumpLog(ctx context.Context, tenant string, fn func(store.Row) error) error {
	h, err := l.e.Head(ctx, tenant)
	if err != nil || h.Seq == 0 {
		return err
	}
	if err := fn(store.Row{Kind: store.RowLogHead, Tenant: tenant, Value: h.MarshalBinary()}); err != nil {
		return err
	}
	err = l.e.Metas(ctx, tenant, h.Base+1, false, func(m *Meta) (bool, error) {
		if m.First > h.Seq {
			return false, nil
		}
		data, err := l.e.Data(ctx, tenant, m.Last)
		if err != nil {
			return false, err
		}
		b := Block{Meta: *m, Data: data}
		return true, fn(store.Row{Kind: store.RowLogBlock, Tenant: tenant, Value: b.MarshalBinary()})
	})
	if err != nil {
		return err
	}
	var after uint64
	for {
		cps, err := l.e.Checkpoints(ctx, tenant, after, 1000)
		if err != nil {
			return err
		}
		for _, b := range cps {
			if err := fn(store.Row{Kind: store.RowCheckpoint, Tenant: tenant, Value: b}); err != nil {
				return err
			}
		}
		if len(cps) < 1000 {
			return nil
		}
		if after, err = cpSeq(cps[len(cps)-1]); err != nil {
			return err
		}
	}
}

// LoadLog applies one log row. A head row replaces the tenant's log.
func (l *Log) LoadLog(ctx context.Context, r store.Row) error {
	if err := store.ValidTenant(r.Tenant); err != nil {
		return err
	}
	st := l.state(r.Tenant)
	st.mu.Lock()
	defer st.mu.Unlock()
	switch r.Kind {
	case store.RowLogHead:
		var h Head
		if err := h.UnmarshalBinary(r.Value); err != nil {
			return err
		}
		if err := l.e.DropLog(ctx, r.Tenant); err != nil {
			return err
		}
		st.cpInit = false
		return l.e.SetHead(ctx, r.Tenant, h)
	case store.RowLogBlock:
		var b Block
		if err := b.UnmarshalBinary(r.Value); err != nil {
			return err
		}
		return l.e.PutBlock(ctx, r.Tenant, &b)
	case store.RowCheckpoint:
		s, err := cpSeq(r.Value)
		if err != nil {
			return err
		}
		st.cpInit = false
		return l.e.PutCheckpoint(ctx, r.Tenant, s, r.Value)
	}
	return fmt.Errorf("%w: not a log row", store.ErrInvalidArg)
}

// cpSeq decodes a stored checkpoint and returns its seq.
func cpSeq(b []byte) (uint64, error) {
	var cp ledger.Checkpoint
	if err := cp.UnmarshalBinary(b); err != nil {
		return 0, fmt.Errorf("%w: checkpoint: %v", store.ErrCorrupt, err)
	}
	return cp.Seq, nil
}
