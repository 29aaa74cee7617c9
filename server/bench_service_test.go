package server_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/internal/loggen"
	"github.com/hisoka-project/hisoka/server"
	"github.com/hisoka-project/hisoka/spec"
)

func benchServer(b *testing.B) *live {
	l := startLiveWith(b, b.TempDir(), func(c *server.Config) {
		c.Limits.MaxBodyBytes = 32 << 20
		c.Limits.MaxDecodedBytes = 64 << 20
		c.Limits.TenantLinesPerSecond = 1e12
		c.Limits.TenantBurst = 1 << 30
		c.Limits.TenantRequestsPerSecond = 1e9
		c.Limits.TenantRequestBurst = 1 << 30
	})
	cat, err := os.ReadFile("../testdata/catalog/default.yaml")
	if err != nil {
		b.Fatal(err)
	}
	l.must(201, "POST", "/v1/admin/catalogues", l.op, "application/yaml", cat, nil)
	l.must(204, "POST", "/v1/admin/catalogues/1/publish", l.op, "", nil, nil)
	l.must(201, "POST", "/v1/admin/resources", l.op, "application/json",
		l.json(spec.Resource{ID: "compute-1", Kind: "host", Tenant: spec.TenantPlatform, Addresses: []string{"127.0.0.1"}}), nil)
	return l
}

// platformLines returns realistic platform lines (loggen, with background
// and faults) as one text body of about n lines.
func platformLines(n int) ([]byte, int) {
	g := loggen.Generate(loggen.Config{Seed: 3, Duration: 2 * time.Hour, VMs: 200, Ops: true,
		Faults: loggen.Faults{BruteForce: 3, IptablesFlush: 1, BridgeDown: 1}})
	var buf bytes.Buffer
	k := 0
	for k < n {
		for _, ln := range g.Lines {
			buf.WriteString(ln.Text)
			buf.WriteByte('\n')
			if k++; k == n {
				break
			}
		}
	}
	return buf.Bytes(), k
}

// waitProcessed waits until the pipeline's lag gauge reads 0 and the
// platform stream holds want lines, read from /metrics.
func (l *live) waitIngested(want float64) {
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		var m []byte
		l.must(200, "GET", "/metrics", "", "", nil, &m)
		var got float64
		for _, line := range bytes.Split(m, []byte("\n")) {
			var v float64
			if bytes.HasPrefix(line, []byte(`hisoka_ingest_lines_total{`)) && bytes.Contains(line, []byte(`stream="platform"`)) {
				fmt.Sscan(string(line[bytes.LastIndexByte(line, ' ')+1:]), &v)
				got += v
			}
		}
		if got >= want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	l.t.Fatal("ingest did not finish")
}

// waitMatched waits until the pipeline has processed every acknowledged line.
func (l *live) waitMatched() {
	for l.srv.Pending() > 0 {
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkServiceIngestHTTP: POST /v1/ingest of 10,000-line bodies from 4
// clients into the embedded store, acknowledged once durable, with the
// matcher running on the platform stream; the clock stops when the matcher
// has processed every line. Reports lines/s.
func BenchmarkServiceIngestHTTP(b *testing.B) {
	l := benchServer(b)
	body, n := platformLines(10000)
	tok := l.mint("ingest", "")
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				l.must(200, "POST", "/v1/ingest?format=oslo", tok, "text/plain", body, nil)
			}
		}()
	}
	wg.Wait()
	l.waitMatched()
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N*n)/el.Seconds(), "lines/s")
}

// BenchmarkServiceIngestSyslogTCP: LF-framed platform lines over 4 TCP
// connections into the embedded store, with the matcher running. The
// clock stops when every line is stored and matched. Reports lines/s.
func BenchmarkServiceIngestSyslogTCP(b *testing.B) {
	l := benchServer(b)
	body, n := platformLines(10000)
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", l.syslog)
			if err != nil {
				b.Error(err)
				return
			}
			defer c.Close()
			for next.Add(1) <= int64(b.N) {
				if _, err := c.Write(body); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	l.waitIngested(float64(b.N * n))
	l.waitMatched()
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N*n)/el.Seconds(), "lines/s")
}

// stamp rewrites the oslo timestamp that starts line to t (other lines are
// left as they are).
func stamp(line string, t time.Time) string {
	const layout = "2006-01-02 15:04:05.000"
	if len(line) > len(layout) && line[0] == '2' && line[4] == '-' {
		return t.UTC().Format(layout) + line[len(layout):]
	}
	return line
}

// BenchmarkServiceNotifyLatency: from the acknowledgement of the last line
// of a VM creation (platform logs over HTTP) to the owning tenant's long
// poll returning the batch, while about 20,000 lines/s of background
// platform load flow. Reports p50 and p99 in ms.
func BenchmarkServiceNotifyLatency(b *testing.B) {
	l := benchServer(b)
	a := l.register("tenant-a", "proj-a")
	tok := l.mint("ingest", "")
	bg := loggen.Generate(loggen.Config{Seed: 5, Duration: 2 * time.Hour, VMs: 50}).Lines
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // 1,000 lines every 50 ms
		defer wg.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		k := 0
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			var buf bytes.Buffer
			now := time.Now()
			for range 1000 {
				buf.WriteString(stamp(bg[k%len(bg)].Text, now))
				buf.WriteByte('\n')
				k++
			}
			l.do("POST", "/v1/ingest", tok, "text/plain", buf.Bytes(), nil)
		}
	}()
	creations := make([][]string, b.N)
	for i := range creations {
		g := loggen.Generate(loggen.Config{Seed: uint64(1000 + i), Projects: 1, VMs: 1, NoBackground: true, Duration: 5 * time.Minute})
		var tr loggen.Truth
		for _, x := range g.Truth {
			if x.ID == "vm.create" {
				tr = x
			}
		}
		for _, ln := range g.Lines {
			if ln.Time.After(tr.End) {
				break
			}
			creations[i] = append(creations[i], bytesReplace(ln.Text, tr.Tenant, "proj-a"))
		}
	}
	time.Sleep(time.Second)
	var after uint64
	var n spec.Notifications
	l.must(200, "GET", "/v1/tenants/tenant-a/notifications", l.token(a), "", nil, &n)
	for _, x := range n.Batches {
		after = max(after, x.Seq)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		var buf bytes.Buffer
		now := time.Now()
		for _, ln := range creations[i] {
			buf.WriteString(stamp(ln, now))
			buf.WriteByte('\n')
		}
		l.must(200, "POST", "/v1/ingest", tok, "text/plain", buf.Bytes(), nil)
		t0 := time.Now()
		for {
			var n spec.Notifications
			l.must(200, "GET", fmt.Sprintf("/v1/tenants/tenant-a/notifications?after=%d&wait=10s", after), l.token(a), "", nil, &n)
			if len(n.Batches) > 0 {
				for _, x := range n.Batches {
					after = max(after, x.Seq)
				}
				break
			}
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
}

func bytesReplace(s, old, new string) string { return strings.ReplaceAll(s, old, new) }
