package storetest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/store"
	"github.com/hisoka-project/hisoka/store/backup"
	"github.com/hisoka-project/hisoka/store/ledger"
)

// Options are passed to a Factory.
type Options struct {
	Signer          crypto.Signer
	CheckpointEvery uint64
	Now             func() time.Time
}

// Factory opens a fresh, empty store for one subtest; it registers its own
// cleanup with t.
type Factory func(t *testing.T, o Options) store.Store

// Clock is a settable test clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Key is the suite's fixed checkpoint key.
func Key() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x42}, ed25519.SeedSize))
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func open(t *testing.T, f Factory) (store.Store, *Clock) {
	c := NewClock(t0)
	return f(t, Options{Signer: Key(), CheckpointEvery: 50, Now: c.Now}), c
}

// Run runs the whole suite.
func Run(t *testing.T, f Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, Factory)
	}{
		{"AppendRead", testAppendRead},
		{"ConcurrentAppends", testConcurrentAppends},
		{"TenantIsolation", testIsolation},
		{"InvalidInput", testInvalid},
		{"Query", testQuery},
		{"QueryPagingConcurrent", testPagingConcurrent},
		{"Export", testExport},
		{"Retention", testRetention},
		{"Ledger", testLedger},
		{"Tamper", testTamper},
		{"TamperStored", testTamperStored},
		{"Tenants", testTenants},
		{"Resources", testResources},
		{"Catalogue", testCatalogue},
		{"KeysAndState", testKeysState},
		{"Counters", testCounters},
		{"Boards", testBoards},
		{"Audit", testAudit},
		{"BackupRestore", testBackup},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, f) })
	}
}

// Rec makes a test record.
func Rec(i int, at time.Time, line string) store.Record {
	return store.Record{
		Time: at, Received: at.Add(time.Second), Host: fmt.Sprintf("host-%d", i%3), App: "nova-compute",
		Severity: uint8(i % 8), Source: "10.0.0.1:514",
		Fields: map[string]string{"request_id": fmt.Sprintf("req-%d", i), "project": fmt.Sprintf("p%d", i%2)},
		Line:   line,
	}
}

func recs(n, offset int, start time.Time, step time.Duration) []store.Record {
	out := make([]store.Record, n)
	for i := range out {
		k := offset + i
		out[i] = Rec(k, start.Add(time.Duration(i)*step), fmt.Sprintf("line %d word%d instance Spawned OK", k, k%5))
	}
	return out
}

func enc(t *testing.T, r store.Record) []byte {
	t.Helper()
	b, err := r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameRecord compares everything but Seq.
func sameRecord(t *testing.T, got, want store.Record) {
	t.Helper()
	want.Seq = got.Seq
	if !bytes.Equal(enc(t, got), enc(t, want)) {
		t.Fatalf("record %d differs:\n got %+v\nwant %+v", got.Seq, got, want)
	}
}

func mustAppend(t *testing.T, s store.Appender, tenant string, rs []store.Record) (uint64, uint64) {
	t.Helper()
	a, b, err := s.Append(context.Background(), tenant, rs)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return a, b
}

func testAppendRead(t *testing.T, f Factory) {
	s, _ := open(t, f)
	ctx := context.Background()
	in := recs(130, 0, t0, time.Second)
	if a, b := mustAppend(t, s, "t1", in[:100]); a != 1 || b != 100 {
		t.Fatalf("first batch seqs %d..%d", a, b)
	}
	if a, b := mustAppend(t, s, "t1", in[100:]); a != 101 || b != 130 {
		t.Fatalf("second batch seqs %d..%d", a, b)
	}
	if a, b, err := s.Append(ctx, "t1", nil); a != 0 || b != 0 || err != nil {
		t.Fatalf("empty append = %d %d %v", a, b, err)
	}
	got, err := s.ReadAfter(ctx, "t1", 0, 0)
	if err != nil || len(got) != 130 {
		t.Fatalf("ReadAfter: %d records, %v", len(got), err)
	}
	for i := range got {
		if got[i].Seq != uint64(i+1) {
			t.Fatalf("seq %d at %d", got[i].Seq, i)
		}
		sameRecord(t, got[i], in[i])
	}
	got, err = s.ReadAfter(ctx, "t1", 95, 10)
	if err != nil || len(got) != 10 || got[0].Seq != 96 || got[9].Seq != 105 {
		t.Fatalf("ReadAfter(95, 10) = %d records %v", len(got), err)
	}
	got, _ = s.ReadAfter(ctx, "t1", 130, 10)
	if len(got) != 0 {
		t.Fatalf("ReadAfter past the end returned %d", len(got))
	}
	u, err := s.Usage(ctx, "t1")
	if err != nil || u.Records != 130 || u.First != 1 || u.Last != 130 || u.Bytes == 0 {
		t.Fatalf("Usage = %+v, %v", u, err)
	}
	u, err = s.Usage(ctx, "nobody")
	if err != nil || u != (store.Usage{}) {
		t.Fatalf("Usage of an empty tenant = %+v, %v", u, err)
	}
	// A batch larger than one block.
	big := recs(5000, 1000, t0, time.Millisecond)
	if a, b := mustAppend(t, s, "t2", big); a != 1 || b != 5000 {
		t.Fatalf("big batch %d..%d", a, b)
	}
	got, _ = s.ReadAfter(ctx, "t2", 4090, 20)
	if len(got) != 20 || got[0].Seq != 4091 {
		t.Fatalf("read across blocks: %d", len(got))
	}
	for i := range got {
		sameRecord(t, got[i], big[4090+i])
	}
}

// Adversarial tenant ids: each sees only its own records and items.
var adversarial = []string{
	"a", "a:b", "{a}", "a}", "{a", "}", "{", "a:b:c", "a{b}c", "日本語テナント", "ü", "a\x00b",
	strings.Repeat("x", store.MaxTenantLen), strings.Repeat("x", store.MaxTenantLen-1),
	"hk:{a}:head", "platform", "quarantine", " a", "A",
}

func testIsolation(t *testing.T, f Factory) {
	s, _ := open(t, f)
	ctx := context.Background()
	for i, id := range adversarial {
		rs := make([]store.Record, i+1)
		for j := range rs {
			rs[j] = Rec(j, t0.Add(time.Duration(j)*time.Second), fmt.Sprintf("tenant%d record%d", i, j))
		}
		mustAppend(t, s, id, rs)
		if err := s.PutTenant(ctx, store.Tenant{ID: id, Created: t0, Settings: map[string]string{"n": fmt.Sprint(i)}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddCounter(ctx, id, "p", int64(i+1)); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendBoard(ctx, id, store.BoardBatch{Seq: 1, Data: []byte{byte(i)}, Detections: []string{fmt.Sprint("d", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	for i, id := range adversarial {
		got, err := s.ReadAfter(ctx, id, 0, 0)
		if err != nil || len(got) != i+1 {
			t.Fatalf("tenant %d: %d records, %v", i, len(got), err)
		}
		want := fmt.Sprintf("tenant%d ", i)
		for _, r := range got {
			if !strings.HasPrefix(r.Line, want) {
				t.Fatalf("tenant %d sees another tenant's record", i)
			}
		}
		p, err := s.Query(ctx, id, store.Query{Terms: []string{"record0"}})
		if err != nil || len(p.Records) != 1 || !strings.HasPrefix(p.Records[0].Line, want) {
			t.Fatalf("tenant %d query: %v %v", i, p.Records, err)
		}
		tn, err := s.GetTenant(ctx, id)
		if err != nil || tn.Settings["n"] != fmt.Sprint(i) {
			t.Fatalf("tenant %d row: %+v %v", i, tn, err)
		}
		if n, _ := s.AddCounter(ctx, id, "p", 0); n != int64(i+1) {
			t.Fatalf("tenant %d counter %d", i, n)
		}
		bb, err := s.LastBoard(ctx, id)
		if err != nil || bb.Seq != 1 || bb.Data[0] != byte(i) {
			t.Fatalf("tenant %d board %+v %v", i, bb, err)
		}
		for j := range adversarial {
			has, _ := s.HasDetection(ctx, id, fmt.Sprint("d", j))
			if has != (i == j) {
				t.Fatalf("tenant %d HasDetection(d%d) = %v", i, j, has)
			}
		}
		if err := backup.Verify(ctx, s, Key().Public().(ed25519.PublicKey), []string{id}); err != nil {
			t.Fatalf("tenant %d verify: %v", i, err)
		}
	}
	ts, err := s.ListTenants(ctx)
	if err != nil || len(ts) != len(adversarial) {
		t.Fatalf("ListTenants: %d, %v", len(ts), err)
	}
}

func testInvalid(t *testing.T, f Factory) {
	s, _ := open(t, f)
	ctx := context.Background()
	bad := []struct {
		id  string
		why string
	}{
		{"", "empty"},
		{strings.Repeat("x", store.MaxTenantLen+1), "one byte too long"},
		{strings.Repeat("日", 100), "too long in bytes though 100 runes"},
		{"a\xffb", "not UTF-8"},
	}
	for _, b := range bad {
		if _, _, err := s.Append(ctx, b.id, recs(1, 0, t0, 0)); !errors.Is(err, store.ErrInvalidTenant) {
			t.Errorf("Append %s: %v", b.why, err)
		}
		if _, err := s.Query(ctx, b.id, store.Query{}); !errors.Is(err, store.ErrInvalidTenant) {
			t.Errorf("Query %s: %v", b.why, err)
		}
		if err := s.PutTenant(ctx, store.Tenant{ID: b.id}); !errors.Is(err, store.ErrInvalidTenant) {
			t.Errorf("PutTenant %s: %v", b.why, err)
		}
		if err := s.AppendBoard(ctx, b.id, store.BoardBatch{Seq: 1}); !errors.Is(err, store.ErrInvalidTenant) {
			t.Errorf("AppendBoard %s: %v", b.why, err)
		}
		if _, err := s.AddCounter(ctx, b.id, "p", 1); !errors.Is(err, store.ErrInvalidTenant) {
			t.Errorf("AddCounter %s: %v", b.why, err)
		}
	}
	badRecs := []struct {
		r   store.Record
		why string
	}{
		{store.Record{Line: strings.Repeat("x", store.MaxLineLen+1)}, "line too long"},
		{store.Record{Severity: 8}, "severity 8"},
		{store.Record{Time: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)}, "time out of range"},
		{store.Record{Fields: map[string]string{"": "v"}}, "empty field name"},
	}
	for _, b := range badRecs {
		if _, _, err := s.Append(ctx, "t", []store.Record{Rec(0, t0, "ok"), b.r}); !errors.Is(err, store.ErrInvalidRecord) {
			t.Errorf("Append with %s: %v", b.why, err)
		}
	}
	if u, _ := s.Usage(ctx, "t"); u.Records != 0 {
		t.Fatalf("a rejected batch stored %d records", u.Records)
	}
	if _, err := s.Query(ctx, "t", store.Query{Cursor: "garbage"}); !errors.Is(err, store.ErrBadCursor) {
		t.Errorf("bad cursor: %v", err)
	}
	if _, err := s.Query(ctx, "t", store.Query{Terms: []string{"..."}}); !errors.Is(err, store.ErrInvalidArg) {
		t.Errorf("term without words: %v", err)
	}
}

func seqs(rs []store.Record) []uint64 {
	out := make([]uint64, len(rs))
	for i := range rs {
		out[i] = rs[i].Seq
	}
	return out
}

func testQuery(t *testing.T, f Factory) {
	s, _ := open(t, f)
	ctx := context.Background()
	// 3 days of records, one a minute, plus some out-of-order event times.
	var all []store.Record
	for day := 0; day < 3; day++ {
		rs := make([]store.Record, 24*60)
		for i := range rs {
			k := day*24*60 + i
			at := t0.Add(time.Duration(k) * time.Minute)
			line := fmt.Sprintf("2026 nova.compute.manager [req-%d] [instance: %08d] Took %d seconds to spawn", k, k%97, k%13)
			if k%10 == 0 {
				line += " ERROR Failed to attach volume"
			}
			rs[i] = Rec(k, at, line)
		}
		mustAppend(t, s, "q", rs)
		all = append(all, rs...)
	}
	late := Rec(99999, t0.Add(-time.Hour), "late arrival ERROR clock skew")
	mustAppend(t, s, "q", []store.Record{late})
	all = append(all, late)
	for i := range all {
		all[i].Seq = uint64(i + 1)
	}
	match := func(q store.Query) []uint64 {
		var out []uint64
		for _, r := range all {
			if !q.From.IsZero() && r.Time.Before(q.From) || !q.To.IsZero() && !r.Time.Before(q.To) {
				continue
			}
			ok := true
			for _, term := range q.Terms {
				words := store.SplitTerms(r.Line)
				for _, w := range store.SplitTerms(term) {
					ok = ok && slices.Contains(words, w)
				}
			}
			for k, v := range q.Fields {
				ok = ok && r.Fields[k] == v
			}
			if ok {
				out = append(out, r.Seq)
			}
		}
		if q.Desc {
			slices.Reverse(out)
		}
		return out
	}
	day2 := t0.Add(24 * time.Hour)
	queries := []struct {
		name string
		q    store.Query
	}{
		{"one hour, one term", store.Query{From: day2, To: day2.Add(time.Hour), Terms: []string{"error"}}},
		{"one hour, one term, descending", store.Query{From: day2, To: day2.Add(time.Hour), Terms: []string{"ERROR"}, Desc: true}},
		{"term only", store.Query{Terms: []string{"attach"}}},
		{"two terms", store.Query{Terms: []string{"failed", "volume"}}},
		{"phrase splits into words", store.Query{Terms: []string{"attach volume"}}},
		{"field", store.Query{Fields: map[string]string{"request_id": "req-77"}}},
		{"field and term", store.Query{Fields: map[string]string{"project": "p1"}, Terms: []string{"error"}, From: day2, To: day2.Add(6 * time.Hour)}},
		{"uuid-like term", store.Query{Terms: []string{"req-1234"}}},
		{"absent term", store.Query{Terms: []string{"nonexistentword"}}},
		{"time only", store.Query{From: day2.Add(30 * time.Minute), To: day2.Add(90 * time.Minute)}},
		{"open end", store.Query{From: t0.Add(71 * time.Hour), Terms: []string{"error"}}},
		{"late event by time", store.Query{From: t0.Add(-2 * time.Hour), To: t0, Terms: []string{"skew"}}},
		{"long range", store.Query{From: t0.Add(-100 * 24 * time.Hour), To: t0.Add(100 * 24 * time.Hour), Terms: []string{"skew"}}},
		{"whole, descending", store.Query{Terms: []string{"error"}, Desc: true}},
		{"empty range", store.Query{From: day2, To: day2}},
	}
	for _, qq := range queries {
		t.Run(qq.name, func(t *testing.T) {
			want := match(qq.q)
			for _, limit := range []int{7, 1000} {
				q := qq.q
				q.Limit = limit
				var got []uint64
				for pages := 0; ; pages++ {
					p, err := s.Query(ctx, "q", q)
					if err != nil {
						t.Fatal(err)
					}
					if len(p.Records) > limit {
						t.Fatalf("page of %d > limit %d", len(p.Records), limit)
					}
					got = append(got, seqs(p.Records)...)
					if p.Next == "" {
						break
					}
					if pages > 2000 {
						t.Fatal("paging does not end")
					}
					q.Cursor = p.Next
				}
				if !slices.Equal(got, want) {
					t.Fatalf("limit %d: got %d records %v..., want %d %v...", limit, len(got), head(got), len(want), head(want))
				}
			}
		})
	}
	// A cursor of one direction is refused in the other.
	p, _ := s.Query(ctx, "q", store.Query{Limit: 1})
	if _, err := s.Query(ctx, "q", store.Query{Cursor: p.Next, Desc: true}); !errors.Is(err, store.ErrBadCursor) {
		t.Fatalf("cursor reused in the other direction: %v", err)
	}
}

func head(s []uint64) []uint64 {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}

// Paging ascending while another goroutine appends: no record is lost or
// repeated, and every record present at the start is seen.
func testPagingConcurrent(t *testing.T, f Factory) {
	s, _ := open(t, f)
	ctx := context.Background()
	mustAppend(t, s, "c", recs(500, 0, t0, time.Second))
	var stop atomic.Bool
	done := make(chan error, 1)
	go func() {
		for i := 0; !stop.Load() && i < 200; i++ {
			if _, _, err := s.Append(ctx, "c", recs(10, 1000+i*10, t0.Add(time.Hour), time.Millisecond)); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	seen := map[uint64]bool{}
	q := store.Query{Terms: []string{"instance"}, Limit: 13}
	var last uint64
	for {
		p, err := s.Query(ctx, "c", q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Records {
			if seen[r.Seq] || r.Seq <= last {
				t.Fatalf("seq %d repeated or out of order", r.Seq)
			}
			seen[r.Seq], last = true, r.Seq
		}
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	stop.Store(true)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for i := uint64(1); i <= last; i++ {
		if !seen[i] {
			t.Fatalf("seq %d lost while paging", i)
		}
	}
	if last < 500 {
		t.Fatalf("paging ended at %d", last)
	}
}

func testExport(t *testing.T, f Factory) {
	s, _ := open(t, f)
	ctx := context.Background()
	in := recs(300, 0, t0, time.Second)
	mustAppend(t, s, "e", in)
	var got []store.Record
	if err := s.Export(ctx, "e", 10, 250, func(r store.Record) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 241 || got[0].Seq != 10 || got[240].Seq != 250 {
		t.Fatalf("export 10..250: %d records", len(got))
	}
	stopErr := errors.New("stop")
	n := 0
	err := s.Export(ctx, "e", 1, 0, func(r store.Record) error {
		n++
		if n == 5 {
			return stopErr
		}
		return nil
	})
	if !errors.Is(err, stopErr) || n != 5 {
		t.Fatalf("export did not stop on the callback's error: %v after %d", err, n)
	}
}

func testRetention(t *testing.T, f Factory) {
	s, clock := open(t, f)
	ctx := context.Background()
	pub := Key().Public().(ed25519.PublicKey)
	// Four batches, a day apart.
	for i := 0; i < 4; i++ {
		mustAppend(t, s, "r", recs(100, i*100, clock.Now(), time.Second))
		clock.Add(24 * time.Hour)
	}
	if _, err := s.Checkpoint(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	if err := s.PutTenant(ctx, store.Tenant{ID: "r", Retention: 60 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	// now = t0+96h; keep 60h: batches appended at t0 and t0+24h go.
	n, err := s.EnforceRetention(ctx, clock.Now())
	if err != nil || n != 200 {
		t.Fatalf("EnforceRetention removed %d, %v", n, err)
	}
	u, _ := s.Usage(ctx, "r")
	if u.First != 201 || u.Last != 400 || u.Records != 200 {
		t.Fatalf("usage after retention %+v", u)
	}
	got, _ := s.ReadAfter(ctx, "r", 0, 0)
	if len(got) != 200 || got[0].Seq != 201 {
		t.Fatalf("after trim ReadAfter(0) starts at %d (%d records)", got[0].Seq, len(got))
	}
	p, _ := s.Query(ctx, "r", store.Query{Terms: []string{"instance"}, Limit: 1000})
	if len(p.Records) != 200 {
		t.Fatalf("query after trim found %d", len(p.Records))
	}
	p, _ = s.Query(ctx, "r", store.Query{From: t0, To: t0.Add(time.Hour), Terms: []string{"instance"}})
	if len(p.Records) != 0 {
		t.Fatalf("trimmed records still found by time: %d", len(p.Records))
	}
	if _, err := s.Prove(ctx, "r", 150, 250); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("proof into the trimmed range: %v", err)
	}
	// What remains verifies, from its first record, against the old checkpoint and new ones.
	if err := backup.Verify(ctx, s, pub, []string{"r"}); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, "r", recs(10, 900, clock.Now(), time.Second))
	if err := backup.Verify(ctx, s, pub, []string{"r"}); err != nil {
		t.Fatal(err)
	}
	// Nothing more to trim; trimming everything leaves an empty, appendable log.
	if n, _ := s.Trim(ctx, "r", t0.Add(48*time.Hour)); n != 0 {
		t.Fatalf("second trim removed %d", n)
	}
	if n, _ := s.Trim(ctx, "r", clock.Now().Add(time.Hour)); n != 210 {
		t.Fatalf("full trim removed %d", n)
	}
	if a, _ := mustAppend(t, s, "r", recs(1, 0, clock.Now(), 0)); a != 411 {
		t.Fatalf("append after full trim got seq %d", a)
	}
	if err := backup.Verify(ctx, s, pub, []string{"r"}); err != nil {
		t.Fatal(err)
	}
}

func testLedger(t *testing.T, f Factory) {
	s, clock := open(t, f)
	ctx := context.Background()
	pub := Key().Public().(ed25519.PublicKey)
	if _, err := s.Checkpoint(ctx, "l"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("checkpoint of an empty log: %v", err)
	}
	for i := 0; i < 7; i++ {
		mustAppend(t, s, "l", recs(20, i*20, clock.Now(), time.Second))
		clock.Add(time.Minute)
	}
	// Every 50 records: checkpoints at 60 (first batch end past 50), 120.
	cps, err := s.Checkpoints(ctx, "l", 0, 0)
	if err != nil || len(cps) < 2 {
		t.Fatalf("automatic checkpoints: %d, %v", len(cps), err)
	}
	if err := ledger.VerifyCheckpoints(pub, "l", cps); err != nil {
		t.Fatal(err)
	}
	cp, err := s.Checkpoint(ctx, "l")
	if err != nil || cp.Seq != 140 {
		t.Fatalf("Checkpoint = %d, %v", cp.Seq, err)
	}
	again, _ := s.Checkpoint(ctx, "l")
	if !again.Equal(&cp) {
		t.Fatal("an unchanged head was checkpointed twice")
	}
	all, _ := s.ReadAfter(ctx, "l", 0, 0)
	for _, r := range [][2]uint64{{1, 140}, {1, 1}, {37, 93}, {140, 140}, {61, 120}} {
		p, err := s.Prove(ctx, "l", r[0], r[1])
		if err != nil {
			t.Fatalf("Prove(%d, %d): %v", r[0], r[1], err)
		}
		if err := store.VerifyRecords(pub, &p, all[r[0]-1:r[1]]); err != nil {
			t.Fatalf("Verify(%d, %d): %v", r[0], r[1], err)
		}
		b, _ := p.MarshalBinary()
		var q ledger.Proof
		if err := q.UnmarshalBinary(b); err != nil || store.VerifyRecords(pub, &q, all[r[0]-1:r[1]]) != nil {
			t.Fatalf("proof does not survive encoding: %v", err)
		}
	}
	// A proof past the last checkpoint makes a new one.
	mustAppend(t, s, "l", recs(3, 500, clock.Now(), time.Second))
	p, err := s.Prove(ctx, "l", 141, 143)
	if err != nil || p.Checkpoint.Seq != 143 {
		t.Fatalf("Prove past the last checkpoint: %v", err)
	}
	if _, err := s.Prove(ctx, "l", 100, 200); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Prove past the head: %v", err)
	}
	if err := s.CheckpointAll(ctx); err != nil {
		t.Fatal(err)
	}
}

func testTamper(t *testing.T, f Factory) {
	s, _ := open(t, f)
	ctx := context.Background()
	pub := Key().Public().(ed25519.PublicKey)
	mustAppend(t, s, "x", recs(40, 0, t0, time.Second))
	p, err := s.Prove(ctx, "x", 5, 30)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.ReadAfter(ctx, "x", 4, 26)
	cases := []struct {
		name   string
		tamper func(rs []store.Record, p *ledger.Proof) []store.Record
		want   error
	}{
		{"untouched", func(rs []store.Record, p *ledger.Proof) []store.Record { return rs }, nil},
		{"altered line", func(rs []store.Record, p *ledger.Proof) []store.Record {
			rs[3].Line += "!"
			return rs
		}, ledger.ErrAltered},
		{"altered field", func(rs []store.Record, p *ledger.Proof) []store.Record {
			rs[3].Fields = map[string]string{"project": "other"}
			return rs
		}, ledger.ErrAltered},
		{"altered time", func(rs []store.Record, p *ledger.Proof) []store.Record {
			rs[0].Time = rs[0].Time.Add(time.Nanosecond)
			return rs
		}, ledger.ErrAltered},
		{"deleted", func(rs []store.Record, p *ledger.Proof) []store.Record { return slices.Delete(rs, 7, 8) }, ledger.ErrDeleted},
		{"inserted", func(rs []store.Record, p *ledger.Proof) []store.Record {
			return slices.Insert(rs, 3, rs[3])
		}, ledger.ErrInserted},
		{"reordered", func(rs []store.Record, p *ledger.Proof) []store.Record {
			rs[4], rs[5] = rs[5], rs[4]
			return rs
		}, ledger.ErrReordered},
		{"checkpoint altered", func(rs []store.Record, p *ledger.Proof) []store.Record {
			p.Checkpoint.Time = p.Checkpoint.Time.Add(time.Second)
			return rs
		}, ledger.ErrBadCheckpoint},
		{"checkpoint signature removed", func(rs []store.Record, p *ledger.Proof) []store.Record {
			p.Checkpoint.Sig = nil
			return rs
		}, ledger.ErrBadCheckpoint},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs := slices.Clone(got)
			for i := range rs {
				rs[i].Fields = maps(rs[i].Fields)
			}
			pp := p
			pp.Tail = slices.Clone(p.Tail)
			pp.Checkpoint.Sig = slices.Clone(p.Checkpoint.Sig)
			rs = c.tamper(rs, &pp)
			err := store.VerifyRecords(pub, &pp, rs)
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	// A checkpoint listed by the store and then altered fails the list check.
	cps, _ := s.Checkpoints(ctx, "x", 0, 0)
	if len(cps) == 0 {
		t.Fatal("no checkpoints")
	}
	cps[0].Head[5] ^= 0x20
	if err := ledger.VerifyCheckpoints(pub, "x", cps); !errors.Is(err, ledger.ErrBadCheckpoint) {
		t.Fatalf("altered stored checkpoint: %v", err)
	}
}

func maps(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func testTenants(t *testing.T, f Factory) {
	s, _ := open(t, f)
	ctx := context.Background()
	pub := Key().Public().(ed25519.PublicKey)
	in := store.Tenant{ID: "acme", PublicKey: pub, Created: t0, Retention: 365 * 24 * time.Hour, Quota: 1 << 30, Settings: map[string]string{"tier": "gold"}}
	if err := s.PutTenant(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetTenant(ctx, "acme")
	if err != nil || !bytes.Equal(got.PublicKey, pub) || !got.Created.Equal(t0) || got.Retention != in.Retention || got.Quota != in.Quota || got.Settings["tier"] != "gold" {
		t.Fatalf("GetTenant = %+v, %v", got, err)
	}
	if _, err := s.GetTenant(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing tenant: %v", err)
	}
	if err := s.DeleteTenant(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetTenant(ctx, "acme"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted tenant: %v", err)
	}
	if err := s.DeleteTenant(ctx, "acme"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting twice: %v", err)
	}
}

func testResources(t *testing.T, f Factory) {
	s, _ := open(t, f)
	ctx := context.Background()
	r := store.Resource{ID: "vm-1", Kind: store.KindVM, Tenant: "a", Addresses: []string{"10.0.0.5", "fe80::1"}, Host: "cmp-3", Site: "tokyo", Project: "p1"}
	if err := s.PutResource(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := s.PutResource(ctx, store.Resource{ID: "vol-1", Kind: store.KindVolume, Tenant: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutResource(ctx, store.Resource{ID: "x", Kind: "toaster", Tenant: "a"}); !errors.Is(err, store.ErrInvalidArg) {
		t.Fatalf("bad kind: %v", err)
	}
	got, err := s.GetResource(ctx, "vm-1")
	if err != nil || got.Tenant != "a" || !slices.Equal(got.Addresses, r.Addresses) || got.Site != "tokyo" {
		t.Fatalf("GetResource = %+v, %v", got, err)
	}
	// Moving a resource to another tenant removes it from the first.
	r.Tenant = "a:b"
	if err := s.PutResource(ctx, r); err != nil {
		t.Fatal(err)
	}
	la, _ := s.ListResources(ctx, "a")
	lb, _ := s.ListResources(ctx, "a:b")
	if len(la) != 1 || la[0].ID != "vol-1" || len(lb) != 1 || lb[0].ID != "vm-1" {
		t.Fatalf("after move: a=%v a:b=%v", la, lb)
	}
	if err := s.DeleteResource(ctx, "vm-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetResource(ctx, "vm-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted resource: %v", err)
	}
	if lb, _ := s.ListResources(ctx, "a:b"); len(lb) != 0 {
		t.Fatalf("deleted resource still listed")
	}
}

func testCatalogue(t *testing.T, f Factory) {
	s, _ := open(t, f)
	ctx := context.Background()
	if _, _, err := s.Published(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("nothing published: %v", err)
	}
	for v := uint64(1); v <= 3; v++ {
		if err := s.PutCatalogue(ctx, v, []byte(fmt.Sprint("catalogue ", v))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Publish(ctx, 9); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("publishing a missing version: %v", err)
	}
	if err := s.Publish(ctx, 2); err != nil {
		t.Fatal(err)
	}
	v, data, err := s.Published(ctx)
	if err != nil || v != 2 || string(data) != "catalogue 2" {
		t.Fatalf("Published = %d %q %v", v, data, err)
	}
	vs, err := s.ListCatalogues(ctx)
	if err != nil || !slices.Equal(vs, []uint64{1, 2, 3}) {
		t.Fatalf("ListCatalogues = %v %v", vs, err)
	}
}

func testKeysState(t *testing.T, f Factory) {
	s, _ := open(t, f)
	ctx := context.Background()
	if err := s.PutKey(ctx, "poprf/2026-03", []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	k, err := s.GetKey(ctx, "poprf/2026-03")
	if err != nil || !bytes.Equal(k, []byte{1, 2, 3}) {
		t.Fatalf("GetKey = %v %v", k, err)
	}
	if err := s.DeleteKey(ctx, "poprf/2026-03"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetKey(ctx, "poprf/2026-03"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted key: %v", err)
	}
	if err := s.PutKey(ctx, "", nil); !errors.Is(err, store.ErrInvalidArg) {
		t.Fatalf("empty key name: %v", err)
	}
	if err := s.PutState(ctx, "pipeline/cursor", []byte("42")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutState(ctx, "pipeline/cursor", []byte("43")); err != nil {
		t.Fatal(err)
	}
	st, err := s.GetState(ctx, "pipeline/cursor")
	if err != nil || string(st) != "43" {
		t.Fatalf("GetState = %q %v", st, err)
	}
	if _, err := s.GetState(ctx, "none"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing state: %v", err)
	}
}

func testCounters(t *testing.T, f Factory) {
	s, _ := open(t, f)
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				if _, err := s.AddCounter(ctx, "t", "2026-03", 2); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	n, err := s.AddCounter(ctx, "t", "2026-03", -1)
	if err != nil || n != 399 {
		t.Fatalf("counter = %d, %v", n, err)
	}
	if n, _ := s.AddCounter(ctx, "t", "2026-04", 0); n != 0 {
		t.Fatalf("another period = %d", n)
	}
}

func testBoards(t *testing.T, f Factory) {
	s, _ := open(t, f)
	ctx := context.Background()
	if _, err := s.LastBoard(ctx, "b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("empty board: %v", err)
	}
	if err := s.AppendBoard(ctx, "b", store.BoardBatch{Seq: 2}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("first batch at 2: %v", err)
	}
	for i := uint64(1); i <= 5; i++ {
		if err := s.AppendBoard(ctx, "b", store.BoardBatch{Seq: i, Data: []byte{byte(i)}, Detections: []string{fmt.Sprint("det-", i), fmt.Sprint("det-", i, "b")}}); err != nil {
			t.Fatal(err)
		}
	}
	// A conflicting append stores nothing, detections included.
	if err := s.AppendBoard(ctx, "b", store.BoardBatch{Seq: 5, Detections: []string{"det-x"}}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate seq: %v", err)
	}
	if has, _ := s.HasDetection(ctx, "b", "det-x"); has {
		t.Fatal("a refused batch's detection was stored")
	}
	if has, _ := s.HasDetection(ctx, "b", "det-3b"); !has {
		t.Fatal("detection missing")
	}
	got, err := s.BoardAfter(ctx, "b", 2, 2)
	if err != nil || len(got) != 2 || got[0].Seq != 3 || got[1].Seq != 4 || got[0].Data[0] != 3 {
		t.Fatalf("BoardAfter = %+v %v", got, err)
	}
	last, err := s.LastBoard(ctx, "b")
	if err != nil || last.Seq != 5 || !slices.Equal(last.Detections, []string{"det-5", "det-5b"}) {
		t.Fatalf("LastBoard = %+v %v", last, err)
	}
	// Racing appenders: exactly one wins each seq.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.AppendBoard(ctx, "b", store.BoardBatch{Seq: 6})
			if err == nil {
				wins.Add(1)
			} else if !errors.Is(err, store.ErrConflict) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d appenders won seq 6", wins.Load())
	}
}

func testAudit(t *testing.T, f Factory) {
	s, _ := open(t, f)
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		a := store.Access{Who: fmt.Sprint("user", i%2), When: t0.Add(time.Duration(i) * time.Minute), Tenant: "t", Action: "query", Query: fmt.Sprint("error AND n=", i), Count: int64(i)}
		if err := s.AppendAccess(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AppendAccess(ctx, store.Access{Who: "op", When: t0, Tenant: "t:x"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListAccess(ctx, "t", t0.Add(2*time.Minute), t0.Add(5*time.Minute), 0)
	if err != nil || len(got) != 3 || got[0].Count != 2 || got[2].Count != 4 || got[1].Query != "error AND n=3" || got[1].Who != "user1" {
		t.Fatalf("ListAccess = %+v %v", got, err)
	}
	all, _ := s.ListAccess(ctx, "t", time.Time{}, time.Time{}, 4)
	if len(all) != 4 || !all[0].When.Equal(t0) {
		t.Fatalf("ListAccess limit 4 = %d", len(all))
	}
	other, _ := s.ListAccess(ctx, "t:x", time.Time{}, time.Time{}, 0)
	if len(other) != 1 {
		t.Fatalf("audit isolation: %d", len(other))
	}
}

func testBackup(t *testing.T, f Factory) {
	src, clock := open(t, f)
	ctx := context.Background()
	pub := Key().Public().(ed25519.PublicKey)
	for _, id := range []string{"a", "a:b", "{a}"} {
		mustAppend(t, src, id, recs(120, 0, clock.Now(), time.Second))
		if err := src.PutTenant(ctx, store.Tenant{ID: id, Created: t0}); err != nil {
			t.Fatal(err)
		}
		if err := src.AppendBoard(ctx, id, store.BoardBatch{Seq: 1, Data: []byte("x"), Detections: []string{"d1"}}); err != nil {
			t.Fatal(err)
		}
		if err := src.AppendAccess(ctx, store.Access{Who: "w", When: t0, Tenant: id, Action: "query"}); err != nil {
			t.Fatal(err)
		}
		if _, err := src.AddCounter(ctx, id, "p", 7); err != nil {
			t.Fatal(err)
		}
		if err := src.PutResource(ctx, store.Resource{ID: "vm-" + id, Kind: store.KindVM, Tenant: id}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := src.Trim(ctx, "a", t0.Add(time.Hour)); err != nil { // trims all of a
		t.Fatal(err)
	}
	mustAppend(t, src, "a", recs(5, 0, clock.Now(), time.Second))
	src.PutCatalogue(ctx, 1, []byte("cat"))
	src.Publish(ctx, 1)
	src.PutKey(ctx, "k", []byte("secret"))
	src.PutState(ctx, "s", []byte("state"))

	var whole, one bytes.Buffer
	st, err := backup.Write(ctx, src, "", &whole)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Tenants) != 3 || st.ByKind[store.RowLogHead] != 3 {
		t.Fatalf("whole backup stats %+v", st)
	}
	if _, err := backup.Write(ctx, src, "a:b", &one); err != nil {
		t.Fatal(err)
	}
	dst, _ := open(t, f)
	if _, err := backup.Restore(ctx, dst, bytes.NewReader(whole.Bytes())); err != nil {
		t.Fatal(err)
	}
	if err := backup.Verify(ctx, dst, pub, []string{"a", "a:b", "{a}"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "a:b", "{a}"} {
		u1, _ := src.Usage(ctx, id)
		u2, _ := dst.Usage(ctx, id)
		if u1 != u2 {
			t.Fatalf("%q usage %+v after restore %+v", id, u2, u1)
		}
		r1, _ := src.ReadAfter(ctx, id, 0, 0)
		r2, _ := dst.ReadAfter(ctx, id, 0, 0)
		if len(r1) != len(r2) {
			t.Fatalf("%q: %d records restored of %d", id, len(r2), len(r1))
		}
		for i := range r1 {
			if !bytes.Equal(enc(t, r1[i]), enc(t, r2[i])) {
				t.Fatalf("%q record %d differs after restore", id, i)
			}
		}
		if has, _ := dst.HasDetection(ctx, id, "d1"); !has {
			t.Fatalf("%q detection lost", id)
		}
		if n, _ := dst.AddCounter(ctx, id, "p", 0); n != 7 {
			t.Fatalf("%q counter %d", id, n)
		}
		if a, _ := dst.ListAccess(ctx, id, time.Time{}, time.Time{}, 0); len(a) != 1 {
			t.Fatalf("%q audit %d", id, len(a))
		}
		if _, err := dst.GetResource(ctx, "vm-"+id); err != nil {
			t.Fatalf("%q resource: %v", id, err)
		}
	}
	if v, data, err := dst.Published(ctx); err != nil || v != 1 || string(data) != "cat" {
		t.Fatalf("catalogue after restore: %v", err)
	}
	if k, _ := dst.GetKey(ctx, "k"); string(k) != "secret" {
		t.Fatal("key lost")
	}
	// The restored log continues: appends chain on and verify.
	mustAppend(t, dst, "a:b", recs(10, 0, clock.Now(), time.Second))
	if err := backup.Verify(ctx, dst, pub, []string{"a:b"}); err != nil {
		t.Fatal(err)
	}
	// A per-tenant backup restores only that tenant.
	dst2, _ := open(t, f)
	st, err = backup.Restore(ctx, dst2, bytes.NewReader(one.Bytes()))
	if err != nil || len(st.Tenants) != 1 || !st.Tenants["a:b"] {
		t.Fatalf("tenant restore %+v %v", st, err)
	}
	if u, _ := dst2.Usage(ctx, "a"); u.Records != 0 {
		t.Fatal("a per-tenant backup restored another tenant")
	}
	if err := backup.Verify(ctx, dst2, pub, []string{"a:b"}); err != nil {
		t.Fatal(err)
	}
	// A damaged file is refused before anything is loaded.
	bad := bytes.Clone(whole.Bytes())
	bad[len(bad)/2] ^= 0xff
	dst3, _ := open(t, f)
	if _, err := backup.Restore(ctx, dst3, bytes.NewReader(bad)); err == nil {
		t.Fatal("damaged backup restored")
	}
	if ts, _ := dst3.ListTenants(ctx); len(ts) != 0 {
		t.Fatal("a damaged backup loaded rows")
	}
}

// Appends racing on one tenant get disjoint, contiguous seq ranges, and the
// chain verifies; appends to other tenants run beside them.
func testConcurrentAppends(t *testing.T, f Factory) {
	s, _ := open(t, f)
	ctx := context.Background()
	var mu sync.Mutex
	got := map[uint64]bool{}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				a, b, err := s.Append(ctx, "shared", recs(10, g*1000+i*10, t0, time.Millisecond))
				if err != nil || b-a != 9 {
					t.Errorf("append: %d..%d %v", a, b, err)
					return
				}
				mu.Lock()
				for q := a; q <= b; q++ {
					if got[q] {
						t.Errorf("seq %d assigned twice", q)
					}
					got[q] = true
				}
				mu.Unlock()
				if _, _, err := s.Append(ctx, fmt.Sprint("own", g), recs(3, i, t0, time.Second)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if len(got) != 400 {
		t.Fatalf("%d seqs assigned", len(got))
	}
	for q := uint64(1); q <= 400; q++ {
		if !got[q] {
			t.Fatalf("seq %d missing", q)
		}
	}
	pub := Key().Public().(ed25519.PublicKey)
	if err := backup.Verify(ctx, s, pub, []string{"shared", "own0", "own3"}); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.Usage(ctx, "own2"); u.Records != 30 {
		t.Fatalf("own2 has %d records", u.Records)
	}
}
