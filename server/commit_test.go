package server

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/store"
	"github.com/hisoka-project/hisoka/store/embedded"
)

// TestGroupCommit: concurrent appends through one committer get disjoint,
// contiguous sequence ranges, each holding exactly the caller's records.
func TestGroupCommit(t *testing.T) {
	db, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var c committer
	const callers, each = 16, 50
	type got struct{ first, last uint64 }
	res := make([]got, callers)
	var wg sync.WaitGroup
	now := time.Now()
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			recs := make([]store.Record, each)
			for j := range recs {
				recs[j] = store.Record{Time: now, Received: now, Line: fmt.Sprintf("caller %d line %d", i, j)}
			}
			f, l, err := c.append(t.Context(), db, "t", recs)
			if err != nil {
				t.Error(err)
			}
			res[i] = got{f, l}
		}()
	}
	wg.Wait()
	sorted := append([]got(nil), res...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].first < sorted[j].first })
	next := uint64(1)
	for _, r := range sorted {
		if r.first != next || r.last != r.first+each-1 {
			t.Fatalf("ranges %+v", sorted)
		}
		next = r.last + 1
	}
	for i, r := range res {
		recs, err := db.ReadAfter(t.Context(), "t", r.first-1, each)
		if err != nil {
			t.Fatal(err)
		}
		for j, rec := range recs {
			if rec.Line != fmt.Sprintf("caller %d line %d", i, j) {
				t.Fatalf("caller %d record %d: %q", i, j, rec.Line)
			}
		}
	}
}
