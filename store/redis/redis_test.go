package redis

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hisoka-project/hisoka/store"
	"github.com/hisoka-project/hisoka/store/redistest"
	"github.com/hisoka-project/hisoka/store/storetest"
)

var prefixes atomic.Int64

// factory opens stores on one client, each subtest under its own prefix.
func factory(c goredis.UniversalClient) storetest.Factory {
	return func(t *testing.T, o storetest.Options) store.Store {
		s, err := New(Options{
			Client: c, Prefix: fmt.Sprintf("test%d:", prefixes.Add(1)),
			Signer: o.Signer, CheckpointEvery: o.CheckpointEvery, Now: o.Now,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

func single(t testing.TB) goredis.UniversalClient {
	opt, err := goredis.ParseURL(redistest.Server(t))
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

func cluster(t testing.TB) goredis.UniversalClient {
	c := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: redistest.Cluster(t)})
	t.Cleanup(func() { c.Close() })
	if err := c.ForEachShard(context.Background(), func(ctx context.Context, s *goredis.Client) error {
		return s.Ping(ctx).Err()
	}); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSuiteSingle(t *testing.T) { storetest.Run(t, factory(single(t))) }

func TestSuiteCluster(t *testing.T) { storetest.Run(t, factory(cluster(t))) }

// Each tenant's keys hash to one slot, and tenants differing only in braces
// or colons get different tags.
func TestKeysShareSlot(t *testing.T) {
	c := cluster(t)
	s, err := New(Options{Client: c, Prefix: "slot:"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	seen := map[string]string{}
	for _, id := range []string{"a", "a:b", "{a}", "a}", "{", "日本"} {
		var slot int64 = -1
		for _, item := range []string{"head", "meta", "data", "tb", "cp", "board", "bhead", "det", "audit", "res", "ctr"} {
			n, err := c.ClusterKeySlot(ctx, s.tk(id, item)).Result()
			if err != nil {
				t.Fatal(err)
			}
			if slot >= 0 && n != slot {
				t.Fatalf("tenant %q: key %s in slot %d, others in %d", id, item, n, slot)
			}
			slot = n
		}
		tag := s.tk(id, "")
		if other, ok := seen[tag]; ok {
			t.Fatalf("tenants %q and %q share keys", id, other)
		}
		seen[tag] = id
	}
	if _, err := New(Options{Client: c, Prefix: "bad{"}); err == nil {
		t.Fatal("a prefix with a brace was accepted")
	}
}
