package benchmark

import (
	"crypto/rand"
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/hisoka-project/hisoka/crypto"
)

const tokenTenant = "tenant-a"

func descriptor(i int) crypto.Descriptor {
	return crypto.Descriptor{PatternID: "nova.instance.live-migration", ResourceID: "instance-" + strconv.Itoa(i),
		Params: []crypto.Param{{Name: "zone", Value: "az1"}}}
}

// tokens measures the server's token work: minting a token for a detection
// (cold: not cached, the tenant's per-period inverse is; cached: a token
// cache hit), and the blind evaluation that answers a tenant subscribing.
func (r *runner) tokens() error {
	now := time.Now()
	kr, err := crypto.NewKeyring(rand.Reader, crypto.Schedule{Origin: now.Add(-24 * time.Hour).Truncate(time.Hour),
		Length: 30 * 24 * time.Hour, Overlap: 7 * 24 * time.Hour}, now)
	if err != nil {
		return fmt.Errorf("benchmark: keyring: %w", err)
	}
	period := kr.Schedule().PeriodAt(now)

	mint := func(id, name, detail string, m *crypto.Minter, desc func(i int) crypto.Descriptor) error {
		r.say("%s", name)
		i := 0
		n, secs, err := r.rate(func() (int, error) {
			if _, err := m.Mint(tokenTenant, period, desc(i)); err != nil {
				return 0, fmt.Errorf("benchmark: mint: %w", err)
			}
			i++
			return 1, nil
		})
		if err != nil {
			return err
		}
		r.add(Result{ID: id, Name: name, Value: float64(n) / secs, Unit: "tokens/s", Parallelism: OneGoroutine,
			Detail: detail + fmt.Sprintf("; %.1f µs a token", secs*1e6/float64(n)), Count: n, Seconds: secs})
		return nil
	}
	if err := mint("mint_cold", "token minting, cold", "Minter.Mint of a new descriptor each time (the tenant's per-period inverse is cached)",
		crypto.NewMinter(kr, 0), descriptor); err != nil {
		return err
	}
	r.say("token minting, cold, all cores")
	m := crypto.NewMinter(kr, 0)
	var next atomic.Int64
	n, secs, err := r.rateAll(func() (int, error) {
		if _, err := m.Mint(tokenTenant, period, descriptor(int(next.Add(1)))); err != nil {
			return 0, fmt.Errorf("benchmark: mint: %w", err)
		}
		return 1, nil
	})
	if err != nil {
		return err
	}
	detail := fmt.Sprintf("as the cold row, from %d goroutines sharing one Minter; %.1f µs a token of wall time", runtime.GOMAXPROCS(0), secs*1e6/float64(n))
	r.add(Result{ID: "mint_cold_all", Name: "token minting, cold, all cores", Value: float64(n) / secs, Unit: "tokens/s",
		Parallelism: AllCores, Detail: detail, Count: n, Seconds: secs})

	cached := crypto.NewMinter(kr, 1024)
	for i := range 512 {
		if _, err := cached.Mint(tokenTenant, period, descriptor(i)); err != nil {
			return fmt.Errorf("benchmark: mint: %w", err)
		}
	}
	if err := mint("mint_cached", "token minting, cached", "Minter.Mint of 512 descriptors in turn, all in the token cache",
		cached, func(i int) crypto.Descriptor { return descriptor(i % 512) }); err != nil {
		return err
	}

	raw, err := kr.Directory(now)
	if err != nil {
		return fmt.Errorf("benchmark: directory: %w", err)
	}
	dir, err := crypto.ParseDirectory(raw, kr.BoardPublicKey())
	if err != nil {
		return fmt.Errorf("benchmark: directory: %w", err)
	}
	key, err := dir.KeyAt(now)
	if err != nil {
		return fmt.Errorf("benchmark: directory: %w", err)
	}
	for _, size := range []int{1, 32} {
		name := fmt.Sprintf("blind evaluation, batch of %d", size)
		r.say("%s", name)
		ds := make([]crypto.Descriptor, size)
		for i := range ds {
			ds[i] = descriptor(i)
		}
		_, req, err := crypto.Blind(rand.Reader, key, tokenTenant, ds)
		if err != nil {
			return fmt.Errorf("benchmark: blind: %w", err)
		}
		n, secs, err := r.rate(func() (int, error) {
			if _, err := kr.Evaluate(rand.Reader, tokenTenant, now, req); err != nil {
				return 0, fmt.Errorf("benchmark: evaluate: %w", err)
			}
			return size, nil
		})
		if err != nil {
			return err
		}
		r.add(Result{ID: fmt.Sprintf("blind_eval_%d", size), Name: name, Value: float64(n) / secs, Unit: "elements/s",
			Parallelism: OneGoroutine, Count: n, Seconds: secs,
			Detail: fmt.Sprintf("Keyring.Evaluate of a blinded request of %d, one DLEQ proof; %.1f µs an element", size, secs*1e6/float64(n))})
	}
	return nil
}
