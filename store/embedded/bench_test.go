package embedded

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/store/internal/logcore"
	"github.com/hisoka-project/hisoka/store/storetest"
)

func benchOpen(b *testing.B, dir string) *DB {
	s, err := Open(dir, Options{Signer: storetest.Key()})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkAppend: durable (synced) appends, 250-byte records, batches of 1000.
func BenchmarkAppend(b *testing.B) {
	s := benchOpen(b, b.TempDir())
	defer s.Close()
	storetest.BenchAppend(b, s)
}

var spanStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// queryDB builds (once per process) n records over 30 days in a temp dir.
var queryDBs sync.Map

type built struct {
	s   *DB
	dir string
	raw int
}

// closeQueryDBs removes the data sets built by the query benchmarks.
func closeQueryDBs() {
	queryDBs.Range(func(k, v any) bool {
		v.(built).s.Close()
		os.RemoveAll(v.(built).dir)
		return true
	})
}

func queryDB(b *testing.B, n int) (*DB, int, time.Duration) {
	span := 30 * 24 * time.Hour
	if v, ok := queryDBs.Load(n); ok {
		return v.(built).s, v.(built).raw, span
	}
	dir, err := os.MkdirTemp("", "hisoka-bench-query-")
	if err != nil {
		b.Fatal(err)
	}
	s := benchOpen(b, dir)
	start := time.Now()
	raw := storetest.Fill(b, s, "t", n, spanStart, span)
	b.Logf("built %d records in %v", n, time.Since(start).Round(time.Second))
	queryDBs.Store(n, built{s, dir, raw})
	return s, raw, span
}

// BenchmarkQuery1M: one-hour range plus one term over 1M records of one tenant.
func BenchmarkQuery1M(b *testing.B) {
	s, _, span := queryDB(b, 1_000_000)
	storetest.BenchQuery(b, s, "t", spanStart, span)
}

// BenchmarkQuery10M: the target data set, 10M records of one tenant (takes
// a minute or more to build, once per process).
func BenchmarkQuery10M(b *testing.B) {
	s, _, span := queryDB(b, 10_000_000)
	storetest.BenchQuery(b, s, "t", spanStart, span)
}

// BenchmarkDiskRatio reports on-disk bytes over raw log bytes for 1M
// OpenStack-like records (after a flush and compaction).
func BenchmarkDiskRatio(b *testing.B) {
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		s := benchOpen(b, dir)
		raw := storetest.Fill(b, s, "t", 1_000_000, spanStart, 30*24*time.Hour)
		var data, blooms int
		engine{s}.Metas(context.Background(), "t", 1, false, func(m *logcore.Meta) (bool, error) {
			d, _ := engine{s}.Data(context.Background(), "t", m.Last)
			data += len(d)
			blooms += len(m.Bloom)
			return true, nil
		})
		b.ReportMetric(float64(data)/float64(raw), "blocks/raw")
		b.ReportMetric(float64(blooms)/float64(raw), "blooms/raw")
		if err := s.db.Flush(); err != nil {
			b.Fatal(err)
		}
		if err := s.db.Compact(context.Background(), []byte{0}, []byte{0xff}, true); err != nil {
			b.Fatal(err)
		}
		s.Close()
		disk := dirSize(b, dir)
		b.ReportMetric(float64(disk)/float64(raw), "disk/raw")
		b.ReportMetric(float64(raw)/1e6, "raw-MB")
	}
}

func dirSize(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}
