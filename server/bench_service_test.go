package server_test

import (
	"os"
	"testing"

	"github.com/hisoka-project/hisoka/server"
)

// benchService starts a server on the embedded store in a temporary
// directory with the default catalogue published; the measuring bodies are
// BenchService's methods, which "hisoka bench" runs too.
func benchService(b *testing.B) *server.BenchService {
	cat, err := os.ReadFile("../testdata/catalog/default.yaml")
	if err != nil {
		b.Fatal(err)
	}
	bs, err := server.StartBenchService(b.Context(), b.TempDir(), cat)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := bs.Close(); err != nil {
			b.Error(err)
		}
	})
	return bs
}

// BenchmarkServiceIngestHTTP: POST /v1/ingest of 10,000-line bodies from 4
// clients into the embedded store, acknowledged once durable, with the
// matcher running on the platform stream; the clock stops when the matcher
// has processed every line. Reports lines/s.
func BenchmarkServiceIngestHTTP(b *testing.B) {
	bs := benchService(b)
	body, n := server.BenchPlatformLines(10000)
	bs.BenchIngestHTTP(b, body, n)
}

// BenchmarkServiceIngestSyslogTCP: LF-framed platform lines over 4 TCP
// connections into the embedded store, with the matcher running. The
// clock stops when every line is stored and matched. Reports lines/s.
func BenchmarkServiceIngestSyslogTCP(b *testing.B) {
	bs := benchService(b)
	body, n := server.BenchPlatformLines(10000)
	bs.BenchIngestSyslogTCP(b, body, n)
}

// BenchmarkServiceNotifyLatency: from the acknowledgement of the last line
// of a VM creation (platform logs over HTTP) to the owning tenant's long
// poll returning the batch, while about 20,000 lines/s of background
// platform load flow. Reports p50 and p99 in ms.
func BenchmarkServiceNotifyLatency(b *testing.B) {
	benchService(b).BenchNotifyLatency(b, "tenant-a")
}
