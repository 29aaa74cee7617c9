package crypto

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"
	"time"
)

// board builds n chained batches for tenant with real entries and padding.
func board(t *testing.T, kr *Keyring, tenant string, n, real, padTo int) [][]byte {
	t.Helper()
	tok := Token{1, 2, 3}
	var out [][]byte
	var prev *Batch
	epoch := EpochAt(testNow)
	counter := uint64(0)
	for i := 0; i < n; i++ {
		h := FirstHeader(tenant, epoch, testNow)
		if prev != nil {
			h = prev.Next(epoch, testNow.Add(time.Duration(i)*time.Minute))
		}
		var es []Entry
		for j := 0; j < real; j++ {
			e, err := NewEntry(&tok, tenant, epoch, counter, Payload{Start: testNow, End: testNow, Severity: 2, Count: 1})
			if err != nil {
				t.Fatal(err)
			}
			counter++
			es = append(es, e)
		}
		b, err := kr.SealBatch(h, es, padTo)
		if err != nil {
			t.Fatal(err)
		}
		wire, _ := b.MarshalBinary()
		out = append(out, wire)
		prev = b
	}
	return out
}

func TestBatchChainAccepts(t *testing.T) {
	kr := newTestKeyring(t)
	bs := board(t, kr, "tenant-a", 5, 3, 8)
	v := &ChainVerifier{BoardKey: kr.BoardPublicKey(), Tenant: "tenant-a"}
	got, err := v.Verify(bs[:2]...)
	if err != nil || len(got) != 2 {
		t.Fatalf("got %d, %v", len(got), err)
	}
	got, err = v.Verify(bs[2:]...)
	if err != nil || len(got) != 3 || v.LastSeq != 5 {
		t.Fatalf("got %d, %v, last %d", len(got), err, v.LastSeq)
	}
	for _, b := range got {
		if len(b.Entries()) != 8 {
			t.Fatalf("padded batch has %d entries", len(b.Entries()))
		}
	}
}

func TestBatchTamperingDetected(t *testing.T) {
	kr := newTestKeyring(t)
	other := newTestKeyring(t)
	bs := board(t, kr, "tenant-a", 4, 2, 4)
	otherTenant := board(t, kr, "tenant-b", 2, 2, 4)
	forged := board(t, other, "tenant-a", 2, 2, 4)
	flip := func(b []byte, i int) []byte { c := bytes.Clone(b); c[i] ^= 1; return c }
	// A second history signed by the right key: same seq 2, different content.
	fork := board(t, kr, "tenant-a", 2, 1, 0)
	cases := []struct {
		name     string
		lastSeq  uint64
		batches  [][]byte
		want     error
		accepted int
	}{
		{"entry byte altered", 0, [][]byte{bs[0], flip(bs[1], len(bs[1])-100)}, ErrBatchSignature, 0},
		{"header altered (seq)", 0, [][]byte{flip(bs[0], 12)}, ErrBatchSignature, 0},
		{"signature altered", 0, [][]byte{flip(bs[0], len(bs[0])-1)}, ErrBatchSignature, 0},
		{"signed by another key", 0, [][]byte{forged[0]}, ErrBatchSignature, 0},
		{"another tenant's batch", 0, [][]byte{otherTenant[0]}, ErrBatchTenant, 0},
		{"dropped batch", 0, [][]byte{bs[0], bs[2]}, ErrBatchGap, 1},
		{"withheld head", 0, [][]byte{bs[1]}, ErrBatchGap, 0},
		{"reordered", 0, [][]byte{bs[0], bs[2], bs[1]}, ErrBatchReordered, 0},
		{"replayed within a poll", 0, [][]byte{bs[0], bs[0]}, ErrBatchReplayed, 0},
		{"replayed across polls", 2, [][]byte{bs[1]}, ErrBatchReplayed, 0},
		{"history rewritten", 0, [][]byte{bs[0], fork[1]}, ErrBatchChain, 1},
		{"truncated", 0, [][]byte{bs[0][:len(bs[0])-1]}, ErrMalformed, 0},
		{"empty", 0, [][]byte{nil}, ErrMalformed, 0},
	}
	if _, err := (&ChainVerifier{Tenant: "tenant-a"}).Verify(bs[0]); !errors.Is(err, ErrPublicKey) {
		t.Errorf("verifier without a board key: %v", err)
	}
	for _, c := range cases {
		v := &ChainVerifier{BoardKey: kr.BoardPublicKey(), Tenant: "tenant-a"}
		if c.lastSeq > 0 {
			if _, err := v.Verify(bs[:c.lastSeq]...); err != nil {
				t.Fatal(err)
			}
		}
		got, err := v.Verify(c.batches...)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
		if len(got) != c.accepted {
			t.Errorf("%s: accepted %d, want %d", c.name, len(got), c.accepted)
		}
	}
}

func TestStoredBatchRoundTrip(t *testing.T) {
	kr := newTestKeyring(t)
	tok := Token{9}
	var es []Entry
	for i := uint64(0); i < 5; i++ {
		e, _ := NewEntry(&tok, "tenant-a", 7, i, Payload{Start: testNow, End: testNow.Add(time.Minute), Count: 3})
		es = append(es, e)
	}
	b, err := kr.SealBatch(FirstHeader("tenant-a", 7, testNow), es, 32)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := b.MarshalStored()
	if len(stored) >= 32*EntrySize {
		t.Fatalf("stored form holds dummies: %d bytes", len(stored))
	}
	// A restarted server (keyring reloaded from bytes) serves the same batch.
	kb, _ := kr.MarshalBinary()
	kr2, err := ParseKeyring(kb)
	if err != nil {
		t.Fatal(err)
	}
	back, err := kr2.OpenStored(stored)
	if err != nil {
		t.Fatal(err)
	}
	w1, _ := b.MarshalBinary()
	w2, _ := back.MarshalBinary()
	if !bytes.Equal(w1, w2) || back.Hash() != b.Hash() || back.Seq() != 1 {
		t.Fatal("stored batch does not reopen identically")
	}
	next := back.Next(7, testNow)
	if next.Seq != 2 || next.PrevHash != b.Hash() {
		t.Fatal("Next does not chain")
	}
	// Dummies are not distinguishable by size or position: every entry has
	// the same size and entries are sorted by tag.
	if len(back.Entries()) != 32 {
		t.Fatal("padding lost")
	}
}

func TestSealBatchRejects(t *testing.T) {
	kr := newTestKeyring(t)
	cases := []struct {
		name string
		h    BatchHeader
	}{
		{"no tenant", BatchHeader{Seq: 1}},
		{"seq zero", BatchHeader{Tenant: "t"}},
		{"first batch with prev hash", BatchHeader{Tenant: "t", Seq: 1, PrevHash: [32]byte{1}}},
	}
	for _, c := range cases {
		if _, err := kr.SealBatch(c.h, nil, 0); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v", c.name, err)
		}
	}
	if _, err := kr.SealBatch(FirstHeader("t", 0, testNow), nil, MaxBatchEntries+1); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized pad: got %v", err)
	}
}

func TestMatcherFindsOwnEntries(t *testing.T) {
	kr := newTestKeyring(t)
	tenant := "tenant-a"
	epoch := EpochAt(testNow)
	toks := make([]Token, 20)
	m := NewMatcher(tenant, epoch, 0)
	for i := range toks {
		rand.Read(toks[i][:])
		if err := m.Subscribe(string(rune('A'+i)), &toks[i], 0); err != nil {
			t.Fatal(err)
		}
	}
	// Sub 0 fires 9 times (more than the window) in one batch, sub 1 twice
	// with counter 1 lost, sub 2 never; plus 5 entries for tokens the tenant
	// does not hold and dummies.
	var es []Entry
	add := func(tok *Token, counter uint64) {
		e, err := NewEntry(tok, tenant, epoch, counter, Payload{Start: testNow, End: testNow, Count: uint32(counter)})
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, e)
	}
	for c := uint64(0); c < 9; c++ {
		add(&toks[0], c)
	}
	add(&toks[1], 0)
	add(&toks[1], 2)
	for i := 0; i < 5; i++ {
		var stranger Token
		rand.Read(stranger[:])
		add(&stranger, 0)
	}
	b, err := kr.SealBatch(FirstHeader(tenant, epoch, testNow), es, 64)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Match(b)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, n := range got {
		count[n.SubscriptionID]++
		if n.Payload.Count != uint32(n.Counter) {
			t.Fatalf("payload of counter %d opened as %d", n.Counter, n.Payload.Count)
		}
	}
	if count["A"] != 9 || count["B"] != 2 || len(got) != 11 {
		t.Fatalf("matched %v", count)
	}
	if next, _ := m.Next("A"); next != 9 {
		t.Fatalf("next for A = %d", next)
	}
	// An unsubscribed token no longer matches; the others still do.
	if !m.Unsubscribe("B") || m.Unsubscribe("B") {
		t.Fatal("Unsubscribe does not report what it knew")
	}
	es2 := []Entry{}
	for _, tc := range []struct {
		tok *Token
		c   uint64
	}{{&toks[1], 3}, {&toks[0], 9}} {
		e, err := NewEntry(tc.tok, tenant, epoch, tc.c, Payload{Start: testNow, End: testNow, Count: uint32(tc.c)})
		if err != nil {
			t.Fatal(err)
		}
		es2 = append(es2, e)
	}
	bu, _ := kr.SealBatch(b.Next(epoch, testNow), es2, 0)
	if got, err := m.Match(bu); err != nil || len(got) != 1 || got[0].SubscriptionID != "A" {
		t.Fatalf("after unsubscribe: %v %v", got, err)
	}
	// A restarted tenant resumes from the persisted counters.
	m2 := NewMatcher(tenant, m.Epoch(), 0)
	nA, _ := m.Next("A")
	m2.Subscribe("A", &toks[0], nA)
	es = nil
	add(&toks[0], nA)
	b2, _ := kr.SealBatch(b.Next(epoch, testNow), es, 8)
	got, err = m2.Match(b2)
	if err != nil || len(got) != 1 || got[0].Counter != nA {
		t.Fatalf("resume: %v %v", got, err)
	}
	// The next epoch restarts counters; tags of the old epoch no longer match.
	es = nil
	add(&toks[0], 10)
	old, _ := kr.SealBatch(b2.Next(epoch+1, testNow), es, 0)
	es = nil
	tokNew := toks[0]
	e, _ := NewEntry(&tokNew, tenant, epoch+1, 0, Payload{Start: testNow, End: testNow})
	es = append(es, e)
	fresh, _ := kr.SealBatch(b2.Next(epoch+1, testNow), es, 0)
	if got, _ := m2.Match(old); len(got) != 0 {
		t.Fatal("old epoch's tag matched in a new epoch")
	}
	m3 := NewMatcher(tenant, epoch, 0)
	m3.Subscribe("A", &toks[0], 0)
	if got, _ := m3.Match(fresh); len(got) != 1 {
		t.Fatal("new epoch entry not matched")
	}
	if _, err := m3.Match(b); !errors.Is(err, ErrEpoch) {
		t.Fatalf("earlier epoch: %v", err)
	}
	if err := m.Advance(epoch + 5); err != nil || len(m.table) != 19*int(m.window) {
		t.Fatalf("advance after unsubscribe: %v, %d tags", err, len(m.table))
	}
}

// Tags of one token are unlinkable across occurrences and epochs, and
// distinct between tenants' tokens.
func TestTagsDistinct(t *testing.T) {
	tok := Token{5}
	k := tok.TagKey()
	seen := map[Tag]bool{}
	for e := uint64(0); e < 10; e++ {
		for c := uint64(0); c < 10; c++ {
			tg := k.Tag(e, c)
			if seen[tg] {
				t.Fatal("repeated tag")
			}
			seen[tg] = true
		}
	}
	pk := tok.PayloadKey()
	if [32]byte(pk) == [32]byte(k) {
		t.Fatal("tag key equals payload key")
	}
	if tok.CounterKey(1) == tok.CounterKey(2) {
		t.Fatal("counter keys of two epochs are equal")
	}
}

func TestPayloadSealBinding(t *testing.T) {
	tok := Token{7}
	pk := tok.PayloadKey()
	p := Payload{Start: testNow, End: testNow.Add(time.Hour), Severity: 3, Count: 42}
	sealed, err := pk.Seal("tenant-a", 5, 1, p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pk.Open("tenant-a", 5, 1, sealed)
	if err != nil || !got.Start.Equal(p.Start) || !got.End.Equal(p.End) || got.Count != 42 || got.Severity != 3 {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	other := Token{8}
	opk := other.PayloadKey()
	wrong := []struct {
		name    string
		k       *PayloadKey
		tenant  string
		e, c    uint64
		payload []byte
	}{
		{"other tenant", &pk, "tenant-b", 5, 1, sealed},
		{"other epoch", &pk, "tenant-a", 6, 1, sealed},
		{"other counter", &pk, "tenant-a", 5, 2, sealed},
		{"other token", &opk, "tenant-a", 5, 1, sealed},
		{"flipped bit", &pk, "tenant-a", 5, 1, append([]byte{sealed[0] ^ 1}, sealed[1:]...)},
		{"short", &pk, "tenant-a", 5, 1, sealed[:10]},
	}
	for _, w := range wrong {
		if _, err := w.k.Open(w.tenant, w.e, w.c, w.payload); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: got %v", w.name, err)
		}
	}
	if _, err := (Payload{Start: testNow, End: testNow.Add(-1)}).MarshalBinary(); !errors.Is(err, ErrMalformed) {
		t.Error("end before start accepted")
	}
	if _, err := (Payload{}).MarshalBinary(); !errors.Is(err, ErrMalformed) {
		t.Error("zero time (not representable in Unix nanoseconds) accepted")
	}
}

func TestDirectory(t *testing.T) {
	kr := newTestKeyring(t)
	b, err := kr.Directory(testNow)
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseDirectory(b, kr.BoardPublicKey())
	if err != nil {
		t.Fatal(err)
	}
	key, err := kr.KeyForPeriod(kr.Schedule().PeriodAt(testNow))
	if err != nil {
		t.Fatal(err)
	}
	dk, err := d.Key(key.ID())
	if err != nil || !bytes.Equal(dk.PublicKey[:], key.PublicKey()) {
		t.Fatal("directory misses the current key")
	}
	other := newTestKeyring(t)
	if _, err := ParseDirectory(b, other.BoardPublicKey()); !errors.Is(err, ErrSignature) {
		t.Errorf("wrong pinned key: %v", err)
	}
	c := bytes.Clone(b)
	c[len(c)-70] ^= 1
	if _, err := ParseDirectory(c, kr.BoardPublicKey()); err == nil {
		t.Error("altered directory accepted")
	}
	if _, err := ParseDirectory(b, ed25519.PublicKey{1}); !errors.Is(err, ErrPublicKey) {
		t.Errorf("short pinned key: %v", err)
	}
}

// Rotation: the next period's key appears within the overlap before its
// start, the old key keeps evaluating during the overlap after its end, then goes.
func TestRotation(t *testing.T) {
	s := testSchedule()
	start := s.Start(2)
	kr, err := NewKeyring(rand.Reader, s, start.Add(s.Length/2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kr.KeyForPeriod(3); err == nil {
		t.Fatal("next key exists too early")
	}
	if changed, err := kr.Rotate(rand.Reader, s.Start(3).Add(-s.Overlap/2)); err != nil || !changed {
		t.Fatal("no rotation in the overlap window")
	}
	k2, _ := kr.KeyForPeriod(2)
	k3, err := kr.KeyForPeriod(3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kr.keyByID(k2.ID(), s.Start(3).Add(s.Overlap/2)); err != nil {
		t.Fatal("old key stopped evaluating inside the overlap")
	}
	if _, err := kr.keyByID(k3.ID(), s.Start(3).Add(-s.Overlap/2)); err != nil {
		t.Fatal("new key not evaluating inside the overlap")
	}
	kr.Rotate(rand.Reader, s.Start(3).Add(s.Overlap+time.Second))
	if _, err := kr.KeyForPeriod(2); err == nil {
		t.Fatal("old key survived its window")
	}
	kb, _ := kr.MarshalBinary()
	kr2, err := ParseKeyring(kb)
	if err != nil {
		t.Fatal(err)
	}
	k3b, err := kr2.KeyForPeriod(3)
	if err != nil || k3b.ID() != k3.ID() || !bytes.Equal(kr2.BoardPublicKey(), kr.BoardPublicKey()) {
		t.Fatal("keyring does not round trip")
	}
}

func TestCheckFresh(t *testing.T) {
	v := &ChainVerifier{LastEpoch: EpochAt(testNow)}
	cases := []struct {
		now  time.Time
		want error
	}{
		{testNow, nil},
		{testNow.Add(EpochLength), nil},
		{testNow.Add(2 * EpochLength), ErrBatchStale},
	}
	for _, c := range cases {
		if err := v.CheckFresh(c.now); !errors.Is(err, c.want) {
			t.Errorf("at %v: got %v, want %v", c.now, err, c.want)
		}
	}
}

// A batch stamped with an epoch after the next one, or created more than
// MaxClockSkew ahead of the tenant's clock, is not accepted: it would
// silence CheckFresh (and expire the tenant's tokens early). The valid
// prefix of the poll is still accepted, and the same batch is accepted once
// the clock has caught up.
func TestChainVerifierRejectsFuture(t *testing.T) {
	kr := newTestKeyring(t)
	const tenant = "tenant-a"
	now := testNow
	epoch := EpochAt(now)
	first, _ := kr.SealBatch(FirstHeader(tenant, epoch, now), nil, 4)
	firstWire, _ := first.MarshalBinary()
	cases := []struct {
		name    string
		epoch   uint64
		created time.Time
		want    error
	}{
		{"now", epoch, now, nil},
		{"next epoch", epoch + 1, now, nil},
		{"created within the skew", epoch, now.Add(MaxClockSkew), nil},
		{"epoch two ahead", epoch + 2, now, ErrBatchFuture},
		{"epoch 2^40", 1 << 40, now, ErrBatchFuture},
		{"created beyond the skew", epoch, now.Add(MaxClockSkew + time.Second), ErrBatchFuture},
		{"created a year ahead", epoch, now.Add(365 * 24 * time.Hour), ErrBatchFuture},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			next, err := kr.SealBatch(first.Next(c.epoch, c.created), nil, 4)
			if err != nil {
				t.Fatal(err)
			}
			wire, _ := next.MarshalBinary()
			v := &ChainVerifier{BoardKey: kr.BoardPublicKey(), Tenant: tenant, Now: func() time.Time { return now }}
			got, err := v.Verify(firstWire, wire)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if c.want == nil {
				if len(got) != 2 {
					t.Fatalf("accepted %d", len(got))
				}
				return
			}
			if len(got) != 1 || v.LastSeq != 1 || v.LastEpoch != epoch {
				t.Fatalf("accepted %d, state %d/%d: the future batch moved the verifier", len(got), v.LastSeq, v.LastEpoch)
			}
			if err := v.CheckFresh(now.Add(2 * EpochLength)); !errors.Is(err, ErrBatchStale) {
				t.Fatalf("CheckFresh after a rejected future batch: %v", err)
			}
			// Once the clock has caught up, the same batch is accepted.
			later := c.created
			if e := time.Unix(int64(c.epoch)*int64(EpochLength/time.Second), 0); e.After(later) {
				later = e
			}
			if c.epoch < 1<<30 {
				if got, err := v.VerifyAt(later, wire); err != nil || len(got) != 1 {
					t.Fatalf("at %v: %d, %v", later, len(got), err)
				}
			}
		})
	}
}
