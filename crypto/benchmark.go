package crypto

import (
	"crypto/rand"
	"strconv"
	"testing"
	"time"

	"github.com/cloudflare/circl/oprf"
)

// The exported benchmark bodies below are shared by this package's
// benchmarks and the "hisoka bench" command, so that both report the same
// measurement. Each takes a keyring and an instant inside its schedule.

func benchDescriptor(i int) Descriptor {
	return Descriptor{PatternID: "nova.instance.live-migration", ResourceID: "instance-" + strconv.Itoa(i), Params: []Param{{"zone", "az1"}}}
}

// BenchMintCircl runs circl's partially-oblivious FullEvaluate on the key
// of the period holding now, for fresh descriptors: the reference minting
// cost.
func BenchMintCircl(b *testing.B, kr *Keyring, now time.Time) {
	period := kr.Schedule().PeriodAt(now)
	key, _ := kr.KeyForPeriod(period)
	info, _ := Info("tenant-a", period)
	var priv oprf.PrivateKey
	if err := priv.UnmarshalBinary(oprf.SuiteRistretto255, key.sk.Bytes()); err != nil {
		b.Fatal(err)
	}
	srv := oprf.NewPartialObliviousServer(oprf.SuiteRistretto255, &priv)
	i := 0
	for b.Loop() {
		enc, _ := benchDescriptor(i).MarshalBinary()
		if _, err := srv.FullEvaluate(enc, info); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchMintCold is this package's minting of fresh descriptors: the token
// is not cached (the per-tenant, per-period inverse is).
func BenchMintCold(b *testing.B, kr *Keyring, now time.Time) {
	period := kr.Schedule().PeriodAt(now)
	m := NewMinter(kr, 0)
	i := 0
	for b.Loop() {
		if _, err := m.Mint("tenant-a", period, benchDescriptor(i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchBlindEvaluate measures the server's evaluation of one blinded batch
// of descriptors ds with one DLEQ proof, and reports ns/element.
func BenchBlindEvaluate(b *testing.B, kr *Keyring, now time.Time, ds []Descriptor) {
	n := len(ds)
	dirBytes, _ := kr.Directory(now)
	dir, err := ParseDirectory(dirBytes, kr.BoardPublicKey())
	if err != nil {
		b.Fatal(err)
	}
	key, _ := dir.KeyAt(now)
	_, req, err := Blind(rand.Reader, key, "tenant-a", ds)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := kr.Evaluate(rand.Reader, "tenant-a", now, req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/element")
}
