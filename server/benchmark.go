package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/crypto"
	"github.com/hisoka-project/hisoka/internal/loggen"
	"github.com/hisoka-project/hisoka/spec"
)

// BenchService is a server on the embedded store, listening on loopback,
// set up for the service benchmarks: per-tenant limits out of the way, a
// published catalogue, and a platform host resource. The benchmark bodies
// are its methods, shared by this package's benchmarks and the "hisoka
// bench" command so that both report the same measurement.
type BenchService struct {
	Server   *Server
	Config   Config
	URL      string // http://host:port
	Syslog   string // host:port of the syslog TCP listener
	operator string
	client   *http.Client
}

// StartBenchService opens and starts a server storing under dir and
// publishes catalogue (a catalogue YAML document).
func StartBenchService(ctx context.Context, dir string, catalogue []byte) (*BenchService, error) {
	cfg := DefaultConfig()
	cfg.DataDir = dir
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Syslog.TCPAddr = "127.0.0.1:0"
	cfg.Syslog.UDPAddr = ""
	cfg.Limits.MaxBodyBytes = 32 << 20
	cfg.Limits.MaxDecodedBytes = 64 << 20
	cfg.Limits.TenantLinesPerSecond = 1e12
	cfg.Limits.TenantBurst = 1 << 30
	cfg.Limits.TenantRequestsPerSecond = 1e9
	cfg.Limits.TenantRequestBurst = 1 << 30
	s, err := Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), rand.Reader)
	if err != nil {
		return nil, err
	}
	if err := s.Start(); err != nil {
		s.Close()
		return nil, err
	}
	addrs := s.Addrs()
	bs := &BenchService{Server: s, Config: cfg, URL: "http://" + addrs[0].String(), Syslog: addrs[1].String(),
		client: &http.Client{Timeout: time.Minute}}
	if bs.operator, err = bs.Mint("operator"); err != nil {
		bs.Close()
		return nil, err
	}
	res, _ := json.Marshal(spec.Resource{ID: "compute-1", Kind: "host", Tenant: spec.TenantPlatform, Addresses: []string{"127.0.0.1"}})
	for _, st := range []struct {
		code         int
		method, path string
		ctype        string
		body         []byte
	}{
		{201, "POST", "/v1/admin/catalogues", "application/yaml", catalogue},
		{204, "POST", "/v1/admin/catalogues/1/publish", "", nil},
		{201, "POST", "/v1/admin/resources", "application/json", res},
	} {
		if err := bs.Do(st.code, st.method, st.path, bs.operator, st.ctype, st.body, nil); err != nil {
			bs.Close()
			return nil, err
		}
	}
	return bs, nil
}

// Close shuts the server down and closes its store.
func (bs *BenchService) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := bs.Server.Shutdown(ctx)
	if cerr := bs.Server.Close(); err == nil {
		err = cerr
	}
	return err
}

// Mint returns an hour-long operator-signed token of role.
func (bs *BenchService) Mint(role string) (string, error) {
	return MintToken(bs.Config, TokenOptions{Role: role, TTL: time.Hour}, rand.Reader)
}

// Do sends a request, fails unless the status is want, and decodes a JSON
// answer into out (or copies it into *[]byte) when out is not nil.
func (bs *BenchService) Do(want int, method, path, token, ctype string, body []byte, out any) error {
	req, err := http.NewRequest(method, bs.URL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := bs.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d, want %d", method, path, resp.StatusCode, want)
	}
	if out != nil {
		if p, ok := out.(*[]byte); ok {
			*p = raw
		} else if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

// BenchPlatformLines returns realistic platform lines (loggen, with
// background and faults) as one text body of about n lines, and the count.
func BenchPlatformLines(n int) ([]byte, int) {
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

// waitIngested waits until the platform stream's ingest counter (read from
// /metrics) reaches want lines.
func (bs *BenchService) waitIngested(want float64) error {
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		var m []byte
		if err := bs.Do(200, "GET", "/metrics", "", "", nil, &m); err != nil {
			return err
		}
		var got float64
		for _, line := range bytes.Split(m, []byte("\n")) {
			var v float64
			if bytes.HasPrefix(line, []byte(`hisoka_ingest_lines_total{`)) && bytes.Contains(line, []byte(`stream="platform"`)) {
				fmt.Sscan(string(line[bytes.LastIndexByte(line, ' ')+1:]), &v)
				got += v
			}
		}
		if got >= want {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("server: bench: ingest did not finish")
}

// waitMatched waits until the pipeline has processed every acknowledged line.
func (bs *BenchService) waitMatched() {
	for bs.Server.Pending() > 0 {
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchIngestHTTP: POST /v1/ingest of body (lines lines, oslo format) from
// 4 clients, acknowledged once durable, with the matcher running on the
// platform stream; the clock stops when the matcher has processed every
// line. Reports lines/s.
func (bs *BenchService) BenchIngestHTTP(b *testing.B, body []byte, lines int) {
	tok, err := bs.Mint("ingest")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if err := bs.Do(200, "POST", "/v1/ingest?format=oslo", tok, "text/plain", body, nil); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	bs.waitMatched()
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N*lines)/el.Seconds(), "lines/s")
}

// BenchIngestSyslogTCP: LF-framed platform lines (body, lines lines) over
// 4 TCP connections, with the matcher running. The clock stops when every
// line is stored and matched. Reports lines/s.
func (bs *BenchService) BenchIngestSyslogTCP(b *testing.B, body []byte, lines int) {
	var before float64
	var m []byte
	if err := bs.Do(200, "GET", "/metrics", "", "", nil, &m); err != nil {
		b.Fatal(err)
	}
	for _, line := range bytes.Split(m, []byte("\n")) {
		var v float64
		if bytes.HasPrefix(line, []byte(`hisoka_ingest_lines_total{`)) && bytes.Contains(line, []byte(`stream="platform"`)) {
			fmt.Sscan(string(line[bytes.LastIndexByte(line, ' ')+1:]), &v)
			before += v
		}
	}
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			c, err := net.Dial("tcp", bs.Syslog)
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
		})
	}
	wg.Wait()
	if err := bs.waitIngested(before + float64(b.N*lines)); err != nil {
		b.Fatal(err)
	}
	bs.waitMatched()
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N*lines)/el.Seconds(), "lines/s")
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

// BenchNotifyLatency: from the acknowledgement of the last line of a VM
// creation (platform logs over HTTP) to the owning tenant's long poll
// returning the batch, while about 20,000 lines/s of background platform
// load flow. tenant is registered for project "proj-a" (it must be new to
// this server). Reports p50 and p99 in ms.
func (bs *BenchService) BenchNotifyLatency(b *testing.B, tenant string) {
	idn, err := crypto.NewIdentity(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	treq, _ := json.Marshal(spec.Tenant{ID: tenant, PublicKey: idn.Public(), Settings: map[string]string{"project": "proj-a"}})
	if err := bs.Do(201, "POST", "/v1/admin/tenants", bs.operator, "application/json", treq, nil); err != nil {
		b.Fatal(err)
	}
	tenantToken := func() string {
		tok, err := SignTenantToken(idn.PrivateKey(), tenant, bs.Config.Auth.Audience, time.Now(), 5*time.Minute, rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		return tok
	}
	tok, err := bs.Mint("ingest")
	if err != nil {
		b.Fatal(err)
	}
	bg := loggen.Generate(loggen.Config{Seed: 5, Duration: 2 * time.Hour, VMs: 50}).Lines
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // 1,000 lines every 50 ms
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
			bs.Do(200, "POST", "/v1/ingest", tok, "text/plain", buf.Bytes(), nil)
		}
	})
	defer func() {
		close(stop)
		wg.Wait()
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
			creations[i] = append(creations[i], strings.ReplaceAll(ln.Text, tr.Tenant, "proj-a"))
		}
	}
	time.Sleep(time.Second)
	var after uint64
	var n spec.Notifications
	if err := bs.Do(200, "GET", "/v1/tenants/"+tenant+"/notifications", tenantToken(), "", nil, &n); err != nil {
		b.Fatal(err)
	}
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
		if err := bs.Do(200, "POST", "/v1/ingest", tok, "text/plain", buf.Bytes(), nil); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		for {
			var n spec.Notifications
			if err := bs.Do(200, "GET", fmt.Sprintf("/v1/tenants/%s/notifications?after=%d&wait=10s", tenant, after), tenantToken(), "", nil, &n); err != nil {
				b.Fatal(err)
			}
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
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
}
