package syslogd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/hisoka-project/hisoka/server/internal/selfsigned"
)

func readAll(t testing.TB, r io.Reader, max int) ([]rawFrame, error) {
	t.Helper()
	fr := &frameReader{r: bufio.NewReaderSize(r, 16), max: max}
	var out []rawFrame
	for {
		f, err := fr.next()
		if err == errEnd {
			return out, nil
		}
		if err == nil || len(f.data) > 0 {
			out = append(out, f)
		}
		if err != nil {
			return out, err
		}
	}
}

func (f rawFrame) String() string {
	return fmt.Sprintf("%q(truncated=%v,%d)", f.data, f.truncated, f.originalLen)
}

func TestFrameReader(t *testing.T) {
	long := strings.Repeat("x", 40)
	tests := []struct {
		name string
		in   string
		max  int
		want []string
		cut  []int // OriginalLen of truncated frames, 0 when whole
	}{
		{"LF lines", "<13>a\n<13>b\n", 100, []string{"<13>a", "<13>b"}, []int{0, 0}},
		{"CRLF and blank lines", "<13>a\r\n\r\n\n<13>b\r\n", 100, []string{"<13>a", "<13>b"}, []int{0, 0}},
		{"octet counted", "5 <13>a5 <13>b", 100, []string{"<13>a", "<13>b"}, []int{0, 0}},
		{"octet counted with LF trailer", "5 <13>a\n5 <13>b\n", 100, []string{"<13>a", "<13>b"}, []int{0, 0}},
		{"octet counted keeps LF inside", "7 <13>a\nb", 100, []string{"<13>a\nb"}, []int{0}},
		{"octet counted drops a final LF", "6 <13>a\n8 <13>b\nc\n", 100, []string{"<13>a", "<13>b\nc"}, []int{0, 0}},
		{"mixed on one stream", "5 <13>a<13>b\n5 <13>c", 100, []string{"<13>a", "<13>b", "<13>c"}, []int{0, 0, 0}},
		{"digits then text is a line", "123 hello\n", 100, []string{"123 hello"}, []int{0}},
		{"leading zero is a line", "05 <13>a\n", 100, []string{"05 <13>a"}, []int{0}},
		{"eleven digits is a line", "12345678901 <13>a\n", 100, []string{"12345678901 <13>a"}, []int{0}},
		{"last line without LF", "<13>a\n<13>b", 100, []string{"<13>a", "<13>b"}, []int{0, 0}},
		{"NUL separators", "\x00<13>a\n\x00", 100, []string{"<13>a"}, []int{0}},
		{"long line truncated", long + "\n<13>b\n", 10, []string{long[:10], "<13>b"}, []int{40, 0}},
		{"long CRLF line truncated", long + "\r\n", 10, []string{long[:10]}, []int{40}},
		{"line of exactly max with CR", "0123456789\r\n", 10, []string{"0123456789"}, []int{0}},
		{"long counted truncated", "41 <" + long + "5 <13>b", 10, []string{("<" + long)[:10], "<13>b"}, []int{41, 0}},
		{"CR inside a line kept", "<13>a\rb\n", 100, []string{"<13>a\rb"}, []int{0}},
		{"counted stream keeps counting without PRI", "5 <13>a3 abc5 <13>b", 100, []string{"<13>a", "abc", "<13>b"}, []int{0, 0, 0}},
		{"counted stream, PRI-less frame with digits", "5 <13>a9 12 x y z\n2 ok", 100, []string{"<13>a", "12 x y z", "ok"}, []int{0, 0, 0}},
		{"counted stream falls back to LF without a length", "5 <13>aMay 16 x\n3 abc", 100, []string{"<13>a", "May 16 x", "abc"}, []int{0, 0, 0}},
		{"undecided stream: PRI-less count is a line", "3 abc\n", 100, []string{"3 abc"}, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(t, strings.NewReader(tt.in), tt.max)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d frames %v", len(got), got)
			}
			for i, f := range got {
				if string(f.data) != tt.want[i] || f.originalLen != tt.cut[i] || f.truncated != (tt.cut[i] > 0) {
					t.Errorf("frame %d: %q truncated=%v orig=%d", i, f.data, f.truncated, f.originalLen)
				}
			}
		})
	}
}

func TestFrameReaderIncompleteCounted(t *testing.T) {
	got, err := readAll(t, strings.NewReader("20 <13>short"), 100)
	if err == nil || len(got) != 1 || string(got[0].data) != "<13>short" || !got[0].truncated || got[0].originalLen != 20 {
		t.Fatalf("%v %v", got, err)
	}
}

func TestFrameReaderTestdata(t *testing.T) {
	data, err := os.ReadFile("testdata/mixed.stream")
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, bytes.NewReader(data), 1<<16)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"<34>1 2026-11-22T04:00:00.000Z host-1 sshd 42 - - Failed password for root from 203.0.113.9 port 5000 ssh2",
		"<13>Nov 22 04:00:01 host-1 sudo: ops : COMMAND=/bin/true",
		"2026-11-22 04:00:02.123 4242 INFO nova.compute.manager [-] VM Started",
		"<13>hello!!!",
		"last line without LF",
	}
	if len(got) != len(want) {
		t.Fatalf("%v", got)
	}
	for i := range want {
		if string(got[i].data) != want[i] {
			t.Errorf("frame %d: %q", i, got[i].data)
		}
	}
}

// errAfter returns data, then fails as a connection with nothing more to
// read would if it never blocked.
type errAfter struct {
	r io.Reader
}

var errWouldBlock = errors.New("would block")

func (e errAfter) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, errWouldBlock
	}
	return n, err
}

func FuzzFrameReader(f *testing.F) {
	if data, err := os.ReadFile("testdata/mixed.stream"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("5 <13>a<13>b\n"))
	f.Add([]byte("9999999999 <"))
	f.Add([]byte("5 <13>a3 abc12 May 16 x y\n4 1234"))
	f.Add([]byte("5 <13>aMay 16 x\n3 abc99 short"))
	const max = 32
	f.Fuzz(func(t *testing.T, data []byte) {
		whole, err := readAll(t, bytes.NewReader(data), max)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && err != io.EOF {
			t.Fatalf("unexpected error %v", err)
		}
		for _, fr := range whole {
			if len(fr.data) > max || fr.truncated != (fr.originalLen > 0) {
				t.Fatalf("limit broken: %d bytes truncated=%v orig=%d", len(fr.data), fr.truncated, fr.originalLen)
			}
		}
		// Chunking does not change the frames.
		bytewise, _ := readAll(t, iotest.OneByteReader(bytes.NewReader(data)), max)
		if fmt.Sprint(whole) != fmt.Sprint(bytewise) {
			t.Fatalf("framing depends on chunking:\n%v\n%v", whole, bytewise)
		}
		// A frame reported complete in the buffer is read without touching
		// the connection.
		fr := &frameReader{r: bufio.NewReaderSize(errAfter{bytes.NewReader(data)}, 4096), max: max}
		fr.r.Peek(1)
		for fr.completeBuffered() {
			if _, err := fr.next(); err != nil {
				t.Fatalf("complete frame needed the network: %v", err)
			}
		}
	})
}

// collector is a Sink that records frames and can be made to block.
type collector struct {
	mu     sync.Mutex
	frames []Frame
	gate   chan struct{} // when non-nil, Deliver waits for it to close
	calls  chan int
}

func (c *collector) Deliver(ctx context.Context, fs []Frame) error {
	if c.gate != nil {
		select {
		case <-c.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.mu.Lock()
	c.frames = append(c.frames, fs...)
	c.mu.Unlock()
	if c.calls != nil {
		select {
		case c.calls <- len(fs):
		default:
		}
	}
	return nil
}

func (c *collector) lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, f := range c.frames {
		out = append(out, string(f.Data))
	}
	return out
}

func (c *collector) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if l := c.lines(); len(l) >= n {
			return l
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("got %d frames, want %d", len(c.lines()), n)
	return nil
}

func startTCP(t *testing.T, cfg Config, sink Sink) (*Server, string, chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(cfg, sink)
	done := make(chan error, 1)
	go func() { done <- s.ServeStream(ln, TCP) }()
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return s, ln.Addr().String(), done
}

func TestTCP(t *testing.T) {
	c := &collector{}
	_, addr, _ := startTCP(t, Config{MaxFrameBytes: 64}, c)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "5 <13>a<13>b\n"+strings.Repeat("z", 100)+"\n")
	conn.Close()
	got := c.waitFor(t, 3)
	if got[0] != "<13>a" || got[1] != "<13>b" || got[2] != strings.Repeat("z", 64) {
		t.Fatalf("%q", got)
	}
	c.mu.Lock()
	f := c.frames[2]
	c.mu.Unlock()
	if !f.Truncated || f.OriginalLen != 100 || f.Transport != TCP || f.Peer.Addr().String() != "127.0.0.1" || f.Received.IsZero() {
		t.Fatalf("frame meta: %+v", f.LogValue())
	}
}

// TestTCPCountedWithoutPRI sends, over a real connection, an octet-counted
// stream (no LF anywhere) where most messages lack a PRI, as some senders
// do: each must arrive as its own frame (RFC 6587: one framing method per
// session), not be swallowed into one truncated line.
func TestTCPCountedWithoutPRI(t *testing.T) {
	c := &collector{}
	_, addr, _ := startTCP(t, Config{MaxFrameBytes: 4096}, c)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	var stream strings.Builder
	for i := range 300 {
		msg := fmt.Sprintf("May 16 10:00:%02d cp-1 CRON[%d]: (root) CMD (run-parts /etc/cron.hourly)", i%60, i)
		if i%7 == 0 {
			msg = "<78>" + msg
		}
		want = append(want, msg)
		fmt.Fprintf(&stream, "%d %s", len(msg), msg)
	}
	if _, err := io.WriteString(conn, stream.String()); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	got := c.waitFor(t, len(want))
	if len(got) != len(want) {
		t.Fatalf("got %d frames, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("frame %d: %q, want %q", i, got[i], want[i])
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, f := range c.frames {
		if f.Truncated {
			t.Fatalf("frame %d truncated", i)
		}
	}
}

func TestTLS(t *testing.T) {
	cert, pool, err := selfsigned.Certificate(rand.Reader, []string{"127.0.0.1"}, time.Now().Add(-time.Minute), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	s := NewServer(Config{}, c)
	go s.ServeStream(tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}}), TLS)
	defer s.Shutdown(context.Background())
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	msg := "<165>1 2026-11-22T04:00:00Z vm-7 app - - - over TLS"
	fmt.Fprintf(conn, "%d %s", len(msg), msg)
	io.WriteString(conn, "<13>LF framing over TLS\n")
	conn.Close()
	got := c.waitFor(t, 2)
	if got[0] != msg || got[1] != "<13>LF framing over TLS" {
		t.Fatalf("%q", got)
	}
	if c.frames[0].Transport != TLS {
		t.Fatal("transport")
	}
	// A plain TCP client gets nothing through.
	plain, _ := net.Dial("tcp", ln.Addr().String())
	io.WriteString(plain, "<13>plaintext\n")
	plain.Close()
	time.Sleep(50 * time.Millisecond)
	if n := len(c.lines()); n != 2 {
		t.Fatalf("plaintext accepted: %d frames", n)
	}
}

// TestTLSClientCert: with a client CA configured, a client must present a
// certificate signed by it, and frames carry that certificate.
func TestTLSClientCert(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := dir + "/" + name
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	now := time.Now().Add(-time.Minute)
	sc, sk, _ := selfsigned.Generate(rand.Reader, []string{"127.0.0.1"}, now, time.Hour)
	cc, ck, _ := selfsigned.Generate(rand.Reader, []string{"vm-7.tenant-a"}, now, time.Hour)
	cfg, err := LoadTLSConfig(write("s.pem", sc), write("s.key", sk), write("ca.pem", cc))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	var opened, closed int
	var mu sync.Mutex
	s := NewServer(Config{ConnChange: func(_ Transport, d int) {
		mu.Lock()
		defer mu.Unlock()
		if d > 0 {
			opened++
		} else {
			closed++
		}
	}}, c)
	go s.ServeStream(tls.NewListener(ln, cfg), TLS)
	defer s.Shutdown(context.Background())
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(sc)
	clientCert, err := tls.X509KeyPair(cc, ck)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{clientCert}})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "<13>with a client certificate\n")
	conn.Close()
	c.waitFor(t, 1)
	c.mu.Lock()
	f := c.frames[0]
	c.mu.Unlock()
	if f.ClientCert == nil || f.ClientCert.DNSNames[0] != "vm-7.tenant-a" {
		t.Fatalf("client certificate not on frame")
	}
	// Without a certificate the handshake fails and nothing is delivered.
	if conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: roots}); err == nil {
		io.WriteString(conn, "<13>anonymous\n")
		conn.Close()
	}
	time.Sleep(50 * time.Millisecond)
	if n := len(c.lines()); n != 1 {
		t.Fatalf("anonymous client delivered: %d frames", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		o, cl := opened, closed
		mu.Unlock()
		if o == 2 && cl == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("connection hook: opened %d closed %d", o, cl)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLoadTLSConfig(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM, err := selfsigned.Generate(rand.Reader, []string{"localhost"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(dir+"/c.pem", certPEM, 0o600)
	os.WriteFile(dir+"/k.pem", keyPEM, 0o600)
	os.WriteFile(dir+"/junk.pem", []byte("junk"), 0o600)
	cfg, err := LoadTLSConfig(dir+"/c.pem", dir+"/k.pem", dir+"/c.pem")
	if err != nil || cfg.ClientAuth != tls.RequireAndVerifyClientCert || cfg.MinVersion != tls.VersionTLS12 {
		t.Fatal(cfg, err)
	}
	for _, args := range [][3]string{{"/nonexistent", dir + "/k.pem", ""}, {dir + "/c.pem", dir + "/junk.pem", ""}, {dir + "/c.pem", dir + "/k.pem", dir + "/junk.pem"}} {
		if _, err := LoadTLSConfig(args[0], args[1], args[2]); !errors.Is(err, ErrTLSConfig) {
			t.Errorf("%v: %v", args, err)
		}
	}
}

func TestUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	s := NewServer(Config{MaxFrameBytes: 10}, c)
	done := make(chan error, 1)
	go func() { done <- s.ServePacket(pc) }()
	conn, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "<13>one datagram\n")
	io.WriteString(conn, "<13>two")
	got := c.waitFor(t, 2)
	if got[0] != "<13>one datagram"[:10] || got[1] != "<13>two" || !c.frames[0].Truncated || c.frames[1].Transport != UDP {
		t.Fatalf("%q", got)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("ServePacket: %v", err)
	}
}

// TestBackpressure: while the sink blocks, the server stops reading and the
// sender's writes stall; nothing is lost once the sink resumes.
func TestBackpressure(t *testing.T) {
	c := &collector{gate: make(chan struct{})}
	_, addr, _ := startTCP(t, Config{MaxBatch: 16}, c)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	line := []byte("<13>" + strings.Repeat("b", 1019) + "\n") // 1 KiB
	sent := 0
	conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
	for sent < 256<<10 { // up to 256 MiB; the stall comes long before
		if _, err := conn.Write(line); err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatal(err)
			}
			break
		}
		sent++
	}
	if sent == 256<<10 {
		t.Fatal("writes never stalled while the sink was blocked")
	}
	close(c.gate)
	conn.SetWriteDeadline(time.Time{})
	// Partial writes at the deadline may leave half a line; finish it.
	conn.Write([]byte("\n"))
	conn.Close()
	got := c.waitFor(t, sent)
	for _, l := range got[:sent] {
		if l != string(line[:len(line)-1]) {
			t.Fatalf("frame damaged: %d bytes", len(l))
		}
	}
	t.Logf("%d KiB in flight before the sender stalled", sent)
}

// TestShutdownDrains: frames already sent are delivered, then Serve returns.
func TestShutdownDrains(t *testing.T) {
	c := &collector{}
	s, addr, done := startTCP(t, Config{}, c)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var b strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&b, "<13>line %d\n", i)
	}
	b.WriteString("<13>partial, no LF yet")
	io.WriteString(conn, b.String())
	c.waitFor(t, 1) // the connection is being read
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrServerClosed) {
		t.Fatal(err)
	}
	got := c.lines()
	if len(got) != 1001 || got[999] != "<13>line 999" || got[1000] != "<13>partial, no LF yet" {
		t.Fatalf("%d frames, last %q", len(got), got[len(got)-1])
	}
	if !c.frames[1000].Truncated {
		t.Fatal("partial frame at shutdown not marked")
	}
}

// TestShutdownTimeout: a sink that never returns is cancelled when the
// shutdown context ends.
func TestShutdownTimeout(t *testing.T) {
	c := &collector{gate: make(chan struct{})}
	s, addr, _ := startTCP(t, Config{}, c)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "<13>stuck\n")
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v", err)
	}
}

func TestMaxConns(t *testing.T) {
	c := &collector{}
	_, addr, _ := startTCP(t, Config{MaxConns: 1}, c)
	first, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(first, "<13>first\n")
	c.waitFor(t, 1)
	second, err := net.Dial("tcp", addr) // waits in the backlog
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	io.WriteString(second, "<13>second\n")
	time.Sleep(50 * time.Millisecond)
	if n := len(c.lines()); n != 1 {
		t.Fatalf("second connection served past the limit: %d", n)
	}
	first.Close()
	if got := c.waitFor(t, 2); got[1] != "<13>second" {
		t.Fatal(got)
	}
}

// TestLogger sends through util-linux logger(1), when installed.
func TestLogger(t *testing.T) {
	path, err := exec.LookPath("logger")
	if err != nil {
		t.Skip("logger(1) not installed")
	}
	c := &collector{}
	_, addr, _ := startTCP(t, Config{}, c)
	_, port, _ := net.SplitHostPort(addr)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	us := NewServer(Config{}, c)
	go us.ServePacket(pc)
	defer us.Shutdown(context.Background())
	_, uport, _ := net.SplitHostPort(pc.LocalAddr().String())
	runs := []struct {
		args []string
		want string
	}{
		{[]string{"--tcp", "--octet-count", "-n", "127.0.0.1", "-P", port, "-t", "hisoka-test", "octet counted message"}, "octet counted message"},
		{[]string{"--tcp", "-n", "127.0.0.1", "-P", port, "--rfc3164", "-t", "hisoka-test", "LF framed 3164 message"}, "LF framed 3164 message"},
		{[]string{"--udp", "-n", "127.0.0.1", "-P", uport, "-t", "hisoka-test", "datagram message"}, "datagram message"},
	}
	for i, r := range runs {
		out, err := exec.Command(path, r.args...).CombinedOutput()
		if err != nil {
			t.Fatalf("logger %v: %v %s", r.args, err, out)
		}
		got := c.waitFor(t, i+1)[i]
		if !strings.HasPrefix(got, "<") || !strings.HasSuffix(got, r.want) || !strings.Contains(got, "hisoka-test") {
			t.Fatalf("frame %q", got)
		}
	}
	if _, err := strconv.Atoi(port); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkTCPIngest(b *testing.B) {
	var n int64
	var mu sync.Mutex
	sink := SinkFunc(func(_ context.Context, fs []Frame) error {
		mu.Lock()
		n += int64(len(fs))
		mu.Unlock()
		return nil
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := NewServer(Config{}, sink)
	go s.ServeStream(ln, TCP)
	defer s.Shutdown(context.Background())
	const perWrite = 1000
	msg := "<38>1 2026-11-22T04:00:00.000Z vm-7 sshd 811 - - Failed password for root from 203.0.113.9 port 52100 ssh2"
	var buf bytes.Buffer
	for range perWrite / 2 {
		fmt.Fprintf(&buf, "%d %s", len(msg), msg)
		buf.WriteString(msg + "\n")
	}
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	for b.Loop() {
		if _, err := conn.Write(buf.Bytes()); err != nil {
			b.Fatal(err)
		}
	}
	conn.Close()
	want := int64(b.N) * perWrite
	for {
		mu.Lock()
		got := n
		mu.Unlock()
		if got >= want {
			break
		}
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(want)/b.Elapsed().Seconds(), "lines/s")
}
