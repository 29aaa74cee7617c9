package logcore

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/hisoka-project/hisoka/store"
)

const cursorVersion = 1

// Cursors are opaque to callers: version, direction, last seq returned.
func encodeCursor(desc bool, seq uint64) string {
	b := []byte{cursorVersion, 0}
	if desc {
		b[1] = 1
	}
	b = binary.BigEndian.AppendUint64(b, seq)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string, desc bool) (uint64, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != 10 || b[0] != cursorVersion || b[1] > 1 || (b[1] == 1) != desc {
		return 0, store.ErrBadCursor
	}
	seq := binary.BigEndian.Uint64(b[2:])
	if encodeCursor(desc, seq) != s { // one spelling only (no newlines, no spare bits)
		return 0, store.ErrBadCursor
	}
	return seq, nil
}

type matcher struct {
	from, to int64 // event time ns, [from, to); 0: open
	hasFrom  bool
	hasTo    bool
	terms    [][]string // each query term split into its words
	words    []string   // all words, for the Bloom filter
	fields   map[string]string
}

func (q *matcher) blockMayMatch(m *Meta) bool {
	if q.hasFrom && m.MaxTime < q.from {
		return false
	}
	if q.hasTo && m.MinTime >= q.to {
		return false
	}
	bl := bloom(m.Bloom)
	for _, w := range q.words {
		if !bl.has(w) {
			return false
		}
	}
	for k, v := range q.fields {
		if !bl.has(fieldKey(k, v)) {
			return false
		}
	}
	return true
}

func (q *matcher) match(r *store.Record, found []bool) bool {
	t := effTime(r)
	if (q.hasFrom && t < q.from) || (q.hasTo && t >= q.to) {
		return false
	}
	for k, v := range q.fields {
		if got, ok := r.Fields[k]; !ok || got != v {
			return false
		}
	}
	if len(q.words) == 0 {
		return true
	}
	clear(found)
	store.Terms(r.Line, func(w string) {
		for i, x := range q.words {
			if x == w {
				found[i] = true
			}
		}
	})
	for _, f := range found {
		if !f {
			return false
		}
	}
	return true
}

// Query implements store.Searcher.
func (l *Log) Query(ctx context.Context, tenant string, q store.Query) (store.Page, error) {
	if err := store.ValidTenant(tenant); err != nil {
		return store.Page{}, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = store.DefaultLimit
	}
	if limit > store.MaxLimit {
		limit = store.MaxLimit
	}
	m := matcher{fields: q.Fields}
	if !q.From.IsZero() {
		m.from, m.hasFrom = q.From.UnixNano(), true
	}
	if !q.To.IsZero() {
		m.to, m.hasTo = q.To.UnixNano(), true
	}
	if m.hasFrom && m.hasTo && m.to <= m.from {
		return store.Page{}, nil
	}
	for _, t := range q.Terms {
		m.words = append(m.words, store.SplitTerms(t)...)
	}
	if len(q.Terms) > 0 && len(m.words) == 0 {
		return store.Page{}, fmt.Errorf("%w: a query term has no words", store.ErrInvalidArg)
	}
	var cur uint64
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor, q.Desc)
		if err != nil {
			return store.Page{}, err
		}
		cur = c
	}
	head, err := l.e.Head(ctx, tenant)
	if err != nil {
		return store.Page{}, err
	}
	var out []store.Record
	found := make([]bool, len(m.words))
	visit := func(meta *Meta) (bool, error) {
		if meta.Last <= head.Base || meta.First > head.Seq {
			return true, nil
		}
		if q.Cursor != "" && ((!q.Desc && meta.Last <= cur) || (q.Desc && meta.First >= cur)) {
			return true, nil
		}
		if !m.blockMayMatch(meta) {
			return true, nil
		}
		recs, err := l.blockRecords(ctx, tenant, meta)
		if isNotFound(err) {
			return true, nil // trimmed by retention while the query ran
		}
		if err != nil {
			return false, err
		}
		for i := range recs {
			j := i
			if q.Desc {
				j = len(recs) - 1 - i
			}
			r := &recs[j]
			if q.Cursor != "" && ((!q.Desc && r.Seq <= cur) || (q.Desc && r.Seq >= cur)) {
				continue
			}
			if m.match(r, found) {
				out = append(out, *r)
				if len(out) == limit {
					return false, nil
				}
			}
		}
		return true, ctx.Err()
	}
	if m.hasFrom && m.hasTo && bucketOf(m.to-1)-bucketOf(m.from) <= maxBucketSpan {
		lasts, err := l.e.BucketBlocks(ctx, tenant, bucketOf(m.from), bucketOf(m.to-1))
		if err != nil {
			return store.Page{}, err
		}
		sort.Slice(lasts, func(i, j int) bool { return lasts[i] < lasts[j] })
		if q.Desc {
			sort.Slice(lasts, func(i, j int) bool { return lasts[i] > lasts[j] })
		}
		var prev uint64
		for i, last := range lasts {
			if i > 0 && last == prev {
				continue
			}
			prev = last
			meta, err := l.e.Meta(ctx, tenant, last)
			if err != nil {
				if isNotFound(err) {
					continue // trimmed since the bucket entry was read
				}
				return store.Page{}, err
			}
			if ok, err := visit(meta); err != nil {
				return store.Page{}, err
			} else if !ok {
				break
			}
		}
	} else {
		from := uint64(1)
		if q.Desc {
			from = head.Seq
			if q.Cursor != "" && cur > 0 {
				from = cur - 1 + MaxBlockRecords
			}
		} else if q.Cursor != "" {
			from = cur + 1
		}
		if err := l.e.Metas(ctx, tenant, from, q.Desc, visit); err != nil {
			return store.Page{}, err
		}
	}
	p := store.Page{Records: out}
	if len(out) == limit {
		p.Next = encodeCursor(q.Desc, out[len(out)-1].Seq)
	}
	return p, nil
}
