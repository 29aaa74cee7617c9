package embedded

import (
	"encoding/binary"
	"path/filepath"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/hisoka-project/hisoka/store/storetest"
)

func recVals() [][]byte {
	rs := storetest.NewCorpus(1).Batch(1000, time.Unix(1.7e9, 0), time.Millisecond)
	storetest.Cut250(rs)
	out := make([][]byte, len(rs))
	for i := range rs {
		out[i] = []byte(rs[i].Line)
	}
	return out
}

func BenchmarkEngineRows(b *testing.B) {
	vals := recVals()
	b.Run("pebble", func(b *testing.B) {
		db, _ := pebble.Open(b.TempDir(), &pebble.Options{Logger: quietLogger{}})
		defer db.Close()
		var seq uint64
		for i := 0; i < b.N; i++ {
			bt := db.NewBatch()
			for _, v := range vals {
				seq++
				bt.Set(binary.BigEndian.AppendUint64([]byte("r"), seq), v, nil)
			}
			bt.Commit(pebble.Sync)
			bt.Close()
		}
		b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "records/s")
		start := time.Now()
		db.DeleteRange([]byte("r"), binary.BigEndian.AppendUint64([]byte("r"), seq/2), pebble.Sync)
		b.ReportMetric(float64(time.Since(start).Microseconds())/1000, "trim-half-ms")
	})
	b.Run("bbolt", func(b *testing.B) {
		db, _ := bolt.Open(filepath.Join(b.TempDir(), "b.db"), 0o600, nil)
		defer db.Close()
		var seq uint64
		for i := 0; i < b.N; i++ {
			db.Update(func(tx *bolt.Tx) error {
				bk, _ := tx.CreateBucketIfNotExists([]byte("r"))
				for _, v := range vals {
					seq++
					bk.Put(binary.BigEndian.AppendUint64(nil, seq), v)
				}
				return nil
			})
		}
		b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "records/s")
		start := time.Now()
		db.Update(func(tx *bolt.Tx) error {
			c := tx.Bucket([]byte("r")).Cursor()
			end := binary.BigEndian.AppendUint64(nil, seq/2)
			for k, _ := c.First(); k != nil && string(k) < string(end); k, _ = c.Next() {
				c.Delete()
			}
			return nil
		})
		b.ReportMetric(float64(time.Since(start).Microseconds())/1000, "trim-half-ms")
	})
}
