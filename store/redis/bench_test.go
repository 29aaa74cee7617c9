package redis

import (
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hisoka-project/hisoka/store/redistest"
	"github.com/hisoka-project/hisoka/store/storetest"
)

func benchStore(b *testing.B, cfg redistest.Config) *Store {
	p := redistest.Start(b, cfg)
	c := goredis.NewClient(&goredis.Options{Addr: p.Addr()})
	b.Cleanup(func() { c.Close() })
	s, err := New(Options{Client: c, Signer: storetest.Key()})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkAppend: 250-byte records in batches of 1000 to one local
// redis-server (each batch is one pipelined script call), without
// persistence and with appendonly yes / appendfsync everysec.
func BenchmarkAppend(b *testing.B) {
	b.Run("memory", func(b *testing.B) {
		storetest.BenchAppend(b, benchStore(b, redistest.Config{}))
	})
	b.Run("aof-everysec", func(b *testing.B) {
		storetest.BenchAppend(b, benchStore(b, redistest.Config{AppendOnly: true, AppendFsync: "everysec"}))
	})
	b.Run("aof-always", func(b *testing.B) {
		storetest.BenchAppend(b, benchStore(b, redistest.Config{AppendOnly: true, AppendFsync: "always"}))
	})
}

// BenchmarkQuery1M: one-hour range plus one term over 1M records of one
// tenant in one local redis-server.
func BenchmarkQuery1M(b *testing.B) {
	s := benchStore(b, redistest.Config{})
	span := 30 * 24 * time.Hour
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	storetest.Fill(b, s, "t", 1_000_000, start, span)
	storetest.BenchQuery(b, s, "t", start, span)
}
