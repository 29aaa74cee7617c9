package crypto

import (
	"crypto/rand"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/cloudflare/circl/oprf"
)

func benchRequest(b *testing.B, kr *Keyring, n int) (*Registration, []byte) {
	b.Helper()
	dirBytes, _ := kr.Directory(testNow)
	dir, err := ParseDirectory(dirBytes, kr.BoardPublicKey())
	if err != nil {
		b.Fatal(err)
	}
	key, _ := dir.KeyAt(testNow)
	reg, req, err := Blind(rand.Reader, key, "tenant-a", testDescriptors(n))
	if err != nil {
		b.Fatal(err)
	}
	return reg, req
}

// BenchmarkBlindEvaluate measures the server's batch evaluation with one
// DLEQ proof; ns/element is the figure to quote.
func BenchmarkBlindEvaluate(b *testing.B) {
	kr := newTestKeyring(b)
	for _, n := range []int{1, 32} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			_, req := benchRequest(b, kr, n)
			for b.Loop() {
				if _, err := kr.Evaluate(rand.Reader, "tenant-a", testNow, req); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/element")
		})
	}
}

// BenchmarkFinalize measures the client: proof verification and unblinding.
func BenchmarkFinalize(b *testing.B) {
	kr := newTestKeyring(b)
	for _, n := range []int{1, 32} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			reg, req := benchRequest(b, kr, n)
			resp, err := kr.Evaluate(rand.Reader, "tenant-a", testNow, req)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := reg.Finalize(resp); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/element")
		})
	}
}

// BenchmarkMint runs circl's FullEvaluate and this package's minting side by
// side on the same key, tenant and fresh descriptors. "cold" means the
// token is not cached (the per-tenant, per-period inverse is); "cached" is a
// token cache hit. The target is cold >= 3x circl-FullEvaluate throughput.
func BenchmarkMint(b *testing.B) {
	kr := newTestKeyring(b)
	period := kr.Schedule().PeriodAt(testNow)
	key, _ := kr.KeyForPeriod(period)
	info, _ := Info("tenant-a", period)
	var priv oprf.PrivateKey
	if err := priv.UnmarshalBinary(oprf.SuiteRistretto255, key.sk.Bytes()); err != nil {
		b.Fatal(err)
	}
	srv := oprf.NewPartialObliviousServer(oprf.SuiteRistretto255, &priv)
	desc := func(i int) Descriptor {
		return Descriptor{PatternID: "nova.instance.live-migration", ResourceID: "instance-" + strconv.Itoa(i), Params: []Param{{"zone", "az1"}}}
	}
	b.Run("circl-FullEvaluate", func(b *testing.B) {
		i := 0
		for b.Loop() {
			enc, _ := desc(i).MarshalBinary()
			if _, err := srv.FullEvaluate(enc, info); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("cold", func(b *testing.B) {
		m := NewMinter(kr, 0)
		i := 0
		for b.Loop() {
			if _, err := m.Mint("tenant-a", period, desc(i)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	// The same two on every core: Minter is safe for concurrent use.
	b.Run("circl-FullEvaluate-parallel", func(b *testing.B) {
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				enc, _ := desc(int(next.Add(1))).MarshalBinary()
				if _, err := srv.FullEvaluate(enc, info); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("cold-parallel", func(b *testing.B) {
		m := NewMinter(kr, 0)
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := m.Mint("tenant-a", period, desc(int(next.Add(1)))); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("cached", func(b *testing.B) {
		m := NewMinter(kr, 1024)
		for i := 0; i < 512; i++ {
			m.Mint("tenant-a", period, desc(i))
		}
		i := 0
		for b.Loop() {
			if _, err := m.Mint("tenant-a", period, desc(i%512)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// matchFixture is a tenant with 10,000 subscriptions and a verified batch of
// 1,000 entries: 100 of them the tenant's, the rest other tenants' or dummies.
func matchFixture(b *testing.B) (*Batch, []Token) {
	b.Helper()
	kr := newTestKeyring(b)
	epoch := EpochAt(testNow)
	toks := make([]Token, 10000)
	for i := range toks {
		rand.Read(toks[i][:])
	}
	var es []Entry
	for i := 0; i < 100; i++ {
		e, _ := NewEntry(&toks[i*97], "tenant-a", epoch, 0, Payload{Start: testNow, End: testNow, Count: 1})
		es = append(es, e)
	}
	for i := 0; i < 400; i++ {
		var other Token
		rand.Read(other[:])
		e, _ := NewEntry(&other, "tenant-a", epoch, 0, Payload{Start: testNow, End: testNow})
		es = append(es, e)
	}
	bt, err := kr.SealBatch(FirstHeader("tenant-a", epoch, testNow), es, 1000)
	if err != nil {
		b.Fatal(err)
	}
	return bt, toks
}

func newMatcher(b *testing.B, toks []Token, epoch uint64) *Matcher {
	m := NewMatcher("tenant-a", epoch, 0)
	for i := range toks {
		if err := m.Subscribe(strconv.Itoa(i), &toks[i], 0); err != nil {
			b.Fatal(err)
		}
	}
	return m
}

// BenchmarkMatch is one tenant matching a 1,000-entry batch against 10,000
// subscriptions (target < 20 ms). Loading the subscriptions
// (BenchmarkMatcherBuild) is outside the timed loop; the per-epoch table
// rebuild is BenchmarkMatcherAdvance.
func BenchmarkMatch(b *testing.B) {
	bt, toks := matchFixture(b)
	m := newMatcher(b, toks, bt.Epoch())
	for b.Loop() {
		ns, err := m.Match(bt)
		if err != nil || len(ns) != 100 {
			b.Fatalf("matched %d: %v", len(ns), err)
		}
		b.StopTimer()
		rewind(m, ns)
		b.StartTimer()
	}
}

// rewind puts matched subscriptions back to counter 0, so the same batch
// matches again.
func rewind(m *Matcher, ns []Notification) {
	for _, n := range ns {
		i := m.ids[n.SubscriptionID]
		s := m.subs[i]
		m.drop(i, s.next, s.next+m.window)
		s.next = 0
		m.fill(i, 0)
	}
}

// BenchmarkMatcherBuild is loading 10,000 subscriptions at start-up (key
// derivations and the first tag table).
func BenchmarkMatcherBuild(b *testing.B) {
	toks := make([]Token, 10000)
	for i := range toks {
		rand.Read(toks[i][:])
	}
	for b.Loop() {
		newMatcher(b, toks, 1)
	}
}

// BenchmarkSealBatch is the server packing 100 entries padded to 1,000.
func BenchmarkSealBatch(b *testing.B) {
	kr := newTestKeyring(b)
	tok := Token{1}
	var es []Entry
	for i := uint64(0); i < 100; i++ {
		e, _ := NewEntry(&tok, "tenant-a", 1, i, Payload{Start: testNow, End: testNow})
		es = append(es, e)
	}
	for b.Loop() {
		if _, err := kr.SealBatch(FirstHeader("tenant-a", 1, testNow), es, 1000); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewEntry is building one notification entry (tag and sealed payload).
func BenchmarkNewEntry(b *testing.B) {
	tok := Token{1}
	p := Payload{Start: testNow, End: testNow, Count: 1}
	var c uint64
	for b.Loop() {
		if _, err := NewEntry(&tok, "tenant-a", 1, c, p); err != nil {
			b.Fatal(err)
		}
		c++
	}
}

// BenchmarkMatcherAdvance is the per-epoch cost for 10,000 subscriptions:
// recomputing every expected tag when the first batch of a new epoch arrives.
func BenchmarkMatcherAdvance(b *testing.B) {
	toks := make([]Token, 10000)
	for i := range toks {
		rand.Read(toks[i][:])
	}
	m := newMatcher(b, toks, 1)
	epoch := uint64(1)
	for b.Loop() {
		epoch++
		if err := m.Advance(epoch); err != nil {
			b.Fatal(err)
		}
	}
}
