package logcore

import (
	"context"
	"errors"
	"time"

	"github.com/hisoka-project/hisoka/store"
)

const trimChunk = 1024 // blocks removed per engine call

// Trim implements store.Retainer.
func (l *Log) Trim(ctx context.Context, tenant string, before time.Time) (uint64, error) {
	if err := store.ValidTenant(tenant); err != nil {
		return 0, err
	}
	st := l.state(tenant)
	st.mu.Lock()
	defer st.mu.Unlock()
	var total uint64
	for {
		n, more, err := l.trimChunk(ctx, tenant, before.UnixNano())
		total += n
		if err != nil || !more {
			return total, err
		}
	}
}

func (l *Log) trimChunk(ctx context.Context, tenant string, before int64) (uint64, bool, error) {
	for try := 0; ; try++ {
		prev, err := l.e.Head(ctx, tenant)
		if err != nil || prev.Records == 0 {
			return 0, false, err
		}
		var removed []*Meta
		var nextPrev *Meta
		err = l.e.Metas(ctx, tenant, prev.Base+1, false, func(m *Meta) (bool, error) {
			if m.Appended >= before || len(removed) == trimChunk {
				nextPrev = m
				return false, nil
			}
			removed = append(removed, m)
			return true, nil
		})
		if err != nil || len(removed) == 0 {
			return 0, false, err
		}
		next := prev
		last := removed[len(removed)-1]
		next.Base = last.Last
		if nextPrev != nil {
			next.BaseChain = nextPrev.Prev
		} else {
			next.BaseChain = prev.Chain
		}
		var n uint64
		for _, m := range removed {
			n += m.Last - m.First + 1
			next.Bytes -= min(next.Bytes, m.RawBytes)
		}
		next.Records -= min(next.Records, n)
		err = l.e.Trim(ctx, tenant, prev, next, removed)
		if errors.Is(err, store.ErrConflict) && try < conflictRetries {
			continue
		}
		if err != nil {
			return 0, false, err
		}
		return n, len(removed) == trimChunk, nil
	}
}

// EnforceRetention implements store.Retainer.
func (l *Log) EnforceRetention(ctx context.Context, now time.Time) (uint64, error) {
	ts, err := l.e.ListTenants(ctx)
	if err != nil {
		return 0, err
	}
	var total uint64
	for _, t := range ts {
		if t.Retention <= 0 {
			continue
		}
		n, err := l.Trim(ctx, t.ID, now.Add(-t.Retention))
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
