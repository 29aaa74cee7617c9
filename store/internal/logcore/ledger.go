package logcore

import (
	"context"
	"errors"
	"fmt"

	"github.com/hisoka-project/hisoka/store"
	"github.com/hisoka-project/hisoka/store/ledger"
)

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

func (l *Log) lastCheckpoint(ctx context.Context, tenant string) (ledger.Checkpoint, error) {
	b, err := l.e.LastCheckpoint(ctx, tenant)
	if err != nil {
		return ledger.Checkpoint{}, err
	}
	var cp ledger.Checkpoint
	if err := cp.UnmarshalBinary(b); err != nil {
		return ledger.Checkpoint{}, fmt.Errorf("%w: checkpoint: %v", store.ErrCorrupt, err)
	}
	return cp, nil
}

// autoCheckpoint checkpoints when CheckpointEvery records passed; st is locked.
func (l *Log) autoCheckpoint(ctx context.Context, tenant string, st *tenantState, h Head) error {
	if !st.cpInit {
		cp, err := l.lastCheckpoint(ctx, tenant)
		if err != nil && !isNotFound(err) {
			return err
		}
		st.cpSeq, st.cpInit = cp.Seq, true
	}
	if h.Seq-st.cpSeq < l.opt.CheckpointEvery {
		return nil
	}
	_, err := l.sign(ctx, tenant, st, h)
	return err
}

func (l *Log) sign(ctx context.Context, tenant string, st *tenantState, h Head) (ledger.Checkpoint, error) {
	cp, err := ledger.Sign(l.opt.Signer, ledger.Checkpoint{Tenant: tenant, Seq: h.Seq, Head: h.Chain, Time: l.opt.Now()})
	if err != nil {
		return ledger.Checkpoint{}, err
	}
	b, err := cp.MarshalBinary()
	if err != nil {
		return ledger.Checkpoint{}, err
	}
	if err := l.e.PutCheckpoint(ctx, tenant, cp.Seq, b); err != nil {
		return ledger.Checkpoint{}, err
	}
	st.cpSeq, st.cpInit = cp.Seq, true
	return cp, nil
}

// Checkpoint implements store.Ledger.
func (l *Log) Checkpoint(ctx context.Context, tenant string) (ledger.Checkpoint, error) {
	if err := store.ValidTenant(tenant); err != nil {
		return ledger.Checkpoint{}, err
	}
	if l.opt.Signer == nil {
		return ledger.Checkpoint{}, store.ErrNoSigner
	}
	st := l.state(tenant)
	st.mu.Lock()
	defer st.mu.Unlock()
	h, err := l.e.Head(ctx, tenant)
	if err != nil {
		return ledger.Checkpoint{}, err
	}
	if h.Seq == 0 {
		return ledger.Checkpoint{}, fmt.Errorf("%w: no records", store.ErrNotFound)
	}
	last, err := l.lastCheckpoint(ctx, tenant)
	if err != nil && !isNotFound(err) {
		return ledger.Checkpoint{}, err
	}
	if err == nil && last.Seq >= h.Seq {
		return last, nil
	}
	return l.sign(ctx, tenant, st, h)
}

// CheckpointAll implements store.Ledger.
func (l *Log) CheckpointAll(ctx context.Context) error {
	ts, err := l.e.LogTenants(ctx)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if _, err := l.Checkpoint(ctx, t); err != nil && !isNotFound(err) {
			return err
		}
	}
	return nil
}

// Checkpoints implements store.Ledger.
func (l *Log) Checkpoints(ctx context.Context, tenant string, after uint64, limit int) ([]ledger.Checkpoint, error) {
	if err := store.ValidTenant(tenant); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > store.MaxLimit {
		limit = store.MaxLimit
	}
	bs, err := l.e.Checkpoints(ctx, tenant, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]ledger.Checkpoint, len(bs))
	for i, b := range bs {
		if err := out[i].UnmarshalBinary(b); err != nil {
			return nil, fmt.Errorf("%w: checkpoint: %v", store.ErrCorrupt, err)
		}
	}
	return out, nil
}

// Prove implements store.Ledger.
func (l *Log) Prove(ctx context.Context, tenant string, from, to uint64) (ledger.Proof, error) {
	if err := store.ValidTenant(tenant); err != nil {
		return ledger.Proof{}, err
	}
	h, err := l.e.Head(ctx, tenant)
	if err != nil {
		return ledger.Proof{}, err
	}
	if from <= h.Base || to < from || to > h.Seq {
		return ledger.Proof{}, fmt.Errorf("%w: range not retained", store.ErrNotFound)
	}
	cps, err := l.e.Checkpoints(ctx, tenant, to-1, 1)
	if err != nil {
		return ledger.Proof{}, err
	}
	var cp ledger.Checkpoint
	if len(cps) == 0 {
		if cp, err = l.Checkpoint(ctx, tenant); err != nil {
			return ledger.Proof{}, err
		}
	} else if err := cp.UnmarshalBinary(cps[0]); err != nil {
		return ledger.Proof{}, fmt.Errorf("%w: checkpoint: %v", store.ErrCorrupt, err)
	}
	p := ledger.Proof{Tenant: tenant, From: from, To: to, Checkpoint: cp}
	started := false
	err = l.e.Metas(ctx, tenant, from, false, func(m *Meta) (bool, error) {
		if m.First > cp.Seq {
			return false, nil
		}
		c := m.Prev
		if !started {
			if m.First > from {
				return false, fmt.Errorf("%w: block for seq %d missing", store.ErrCorrupt, from)
			}
			if m.First == from {
				p.Prev, started = c, true
			}
		}
		if started && m.Last < to {
			return true, nil // whole block inside the range: nothing to collect
		}
		recs, err := l.blockRecords(ctx, tenant, m)
		if err != nil {
			return false, err
		}
		buf := make([]byte, 0, 512)
		for i := range recs {
			s := recs[i].Seq
			if s > cp.Seq {
				return false, nil
			}
			if !started && s < from {
				buf, _ = recs[i].AppendBinary(buf[:0])
				c = ledger.Next(c, ledger.Leaf(buf))
				continue
			}
			if !started {
				p.Prev, started = c, true
			}
			if s > to {
				buf, _ = recs[i].AppendBinary(buf[:0])
				p.Tail = append(p.Tail, ledger.Leaf(buf))
			}
		}
		return true, ctx.Err()
	})
	if err != nil {
		return ledger.Proof{}, err
	}
	if !started || uint64(len(p.Tail)) != cp.Seq-to {
		return ledger.Proof{}, fmt.Errorf("%w: blocks missing for proof", store.ErrCorrupt)
	}
	return p, nil
}
