// Package redistest starts real redis-server processes for tests: a single
// server ([Server], [Start]) and a 3-master Redis Cluster ([Cluster]), each on
// free ports in a t.TempDir(), with persistence off unless asked
// (--save "" --appendonly ...), killed when the test ends.
//
// REDIS_URL (for Server) and REDIS_CLUSTER_ADDRS (comma-separated, for
// Cluster) use existing servers instead. When redis-server is not on PATH
// the test fails with a clear message: CI never skips Redis tests.
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Config configures a started server.
type Config struct {
	AppendOnly  bool   // --appendonly yes
	AppendFsync string // "always", "everysec" or "no" (with AppendOnly)
	Cluster     bool   // --cluster-enabled yes
}

// Proc is a started redis-server.
type Proc struct {
	t    testing.TB
	cfg  Config
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Server returns the URL of a Redis server for the test: REDIS_URL if set,
// else a fresh redis-server started for it.
func Server(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return Start(t, Config{}).URL()
}

// Cluster returns the addresses of a Redis Cluster's masters:
// REDIS_CLUSTER_ADDRS if set, else three fresh masters joined into a cluster
// that covers all slots.
func Cluster(t testing.TB) []string {
	t.Helper()
	if a := os.Getenv("REDIS_CLUSTER_ADDRS"); a != "" {
		return strings.Split(a, ",")
	}
	var ps []*Proc
	for i := 0; i < 3; i++ {
		ps = append(ps, Start(t, Config{Cluster: true}))
	}
	addrs := make([]string, len(ps))
	for i, p := range ps {
		addrs[i] = p.Addr()
	}
	const slots = 16384
	for i, p := range ps {
		lo, hi := i*slots/len(ps), (i+1)*slots/len(ps)-1
		mustOK(t, p.Addr(), "CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(lo), strconv.Itoa(hi))
	}
	for _, p := range ps[1:] {
		mustOK(t, ps[0].Addr(), "CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(p.port))
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, p := range ps {
		for {
			info, err := Do(p.Addr(), "CLUSTER", "INFO")
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_known_nodes:3") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("redistest: cluster did not form: %q %v", info, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return addrs
}

func mustOK(t testing.TB, addr string, args ...string) {
	t.Helper()
	if r, err := Do(addr, args...); err != nil || r != "OK" {
		t.Fatalf("redistest: %s: %q %v", strings.Join(args, " "), r, err)
	}
}

// Start starts a redis-server with cfg.
func Start(t testing.TB, cfg Config) *Proc {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redistest: redis-server is not on PATH (install it: apt-get install redis-server); the Redis tests need a real server: %v", err)
	}
	p := &Proc{t: t, cfg: cfg, dir: t.TempDir()}
	var err error
	for try := 0; try < 5; try++ {
		if p.port, err = freePort(cfg.Cluster); err != nil {
			continue
		}
		if err = p.start(); err == nil {
			t.Cleanup(p.Kill)
			return p
		}
	}
	t.Fatalf("redistest: starting redis-server: %v", err)
	return nil
}

func (p *Proc) start() error {
	args := []string{
		"--port", strconv.Itoa(p.port), "--bind", "127.0.0.1", "--dir", p.dir,
		"--save", "", "--daemonize", "no", "--protected-mode", "no", "--loglevel", "warning",
		"--logfile", filepath.Join(p.dir, "redis.log"),
	}
	if p.cfg.AppendOnly {
		args = append(args, "--appendonly", "yes")
		if p.cfg.AppendFsync != "" {
			args = append(args, "--appendfsync", p.cfg.AppendFsync)
		}
	} else {
		args = append(args, "--appendonly", "no")
	}
	if p.cfg.Cluster {
		args = append(args, "--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(p.dir, "nodes.conf"))
	}
	p.cmd = exec.Command("redis-server", args...)
	if err := p.cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	p.done = exited
	cmd := p.cmd
	go func() { cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(p.dir, "redis.log"))
			return fmt.Errorf("redis-server exited: %s", strings.TrimSpace(string(log)))
		default:
		}
		if r, err := Do(p.Addr(), "PING"); err == nil && r == "PONG" {
			return nil
		}
		if time.Now().After(deadline) {
			p.Kill()
			return fmt.Errorf("redis-server on port %d did not answer", p.port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Addr is host:port.
func (p *Proc) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)) }

// URL is redis://host:port/0.
func (p *Proc) URL() string { return "redis://" + p.Addr() + "/0" }

// Kill sends SIGKILL and waits for the process to go (a crash, as far as
// Redis is concerned).
func (p *Proc) Kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
	p.cmd = nil
}

// Restart kills the server and starts it again on the same port and
// directory, so it reloads its append-only file.
func (p *Proc) Restart() {
	p.t.Helper()
	p.Kill()
	var err error
	for try := 0; try < 50; try++ {
		if err = p.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("redistest: restarting redis-server: %v", err)
}

func freePort(cluster bool) (int, error) {
	for i := 0; i < 20; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !cluster {
			return port, nil
		}
		if port+10000 > 65535 {
			continue
		}
		if b, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000)); err == nil {
			b.Close()
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free port")
}

// Do sends one command in RESP and returns a simple or bulk reply as text.
// It is for setting servers up, not for the code under test.
func Do(addr string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", fmt.Errorf("redis: %s", line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return line, nil
}
