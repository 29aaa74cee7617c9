package proc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/store/redistest"
)

// Backend is the store a [Server] runs on.
type Backend string

const (
	Embedded Backend = "embedded" // the embedded store in the data directory
	Redis    Backend = "redis"    // a real redis-server
)

// Backends lists every backend, for tests that run on each.
func Backends() []Backend { return []Backend{Embedded, Redis} }

// Options configure [Start].
type Options struct {
	Backend Backend // default Embedded
	// RedisURL, with Redis, is the server to use; empty starts a fresh
	// redis-server for the test (store/redistest).
	RedisURL string
	// Args are more "hisoka serve" flags (after the ones [Start] sets).
	Args []string
	// Env are more environment variables (KEY=VALUE) for the server.
	Env []string
}

// startTimeout bounds how long a start may take until /readyz answers (a
// busy CI machine, a store replaying its state).
const startTimeout = 90 * time.Second

// Server is a "hisoka serve" child process.
type Server struct {
	t    testing.TB
	bins Binaries
	opts Options

	Dir      string // the test's directory: data, TLS files, the log
	DataDir  string // --data: the embedded store and the issuer key
	RedisURL string // the Redis store, with the Redis backend
	URL      string // HTTP API base URL, http://127.0.0.1:PORT
	// Syslog listeners, host:port.
	SyslogTCP, SyslogTLS, SyslogUDP string
	// CAFile is the PEM CA that signed the syslog TLS certificate (CertFile,
	// KeyFile), for "localhost" and 127.0.0.1.
	CAFile, CertFile, KeyFile string
	LogFile                   string // the server's stderr, every run appended

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd has exited
	waitErr error         // cmd.Wait's result, once done is closed
	starts  int
}

// Start starts "hisoka serve" for t and returns once it is ready; it is
// stopped (SIGTERM, then SIGKILL) when the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	if o.Backend == "" {
		o.Backend = Embedded
	}
	s := &Server{t: t, bins: Build(t), opts: o, Dir: t.TempDir()}
	s.DataDir = filepath.Join(s.Dir, "data")
	s.LogFile = filepath.Join(s.Dir, "hisoka.stderr")
	var err error
	if s.CAFile, s.CertFile, s.KeyFile, err = writeTLS(s.Dir); err != nil {
		t.Fatal(err)
	}
	switch o.Backend {
	case Embedded:
	case Redis:
		s.RedisURL = o.RedisURL
		if s.RedisURL == "" {
			s.RedisURL = redistest.Start(t, redistest.Config{}).URL()
		}
	default:
		t.Fatalf("proc: unknown backend %q", o.Backend)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("hisoka serve stderr (%s):\n%s", s.LogFile, tail(s.LogFile, 64<<10))
		}
	})
	s.start()
	return s
}

// Restart starts the server again (after [Server.Stop] or [Server.Kill];
// a running server is killed first) on the same data, store and ports.
// Another process may have taken one of the ports while the server was
// down (an outgoing connection gets its local port from the same range):
// a start that fails to bind is tried again, every half second for up to
// [rebindTimeout].
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	s.start()
}

// rebindTimeout bounds how long [Server.Restart] waits for a port another
// process took to be free again.
const rebindTimeout = 30 * time.Second

// errPortTaken is a start that ended because a port was in use.
var errPortTaken = errors.New("a port is in use")

func (s *Server) start() {
	s.t.Helper()
	deadline := time.Now().Add(rebindTimeout)
	for {
		err := s.startOnce()
		if err == nil {
			return
		}
		if !errors.Is(err, errPortTaken) || time.Now().After(deadline) {
			s.t.Fatal(err)
		}
		s.t.Logf("proc: start %d of hisoka serve could not bind a port another process has; trying again", s.starts)
		time.Sleep(500 * time.Millisecond)
	}
}

// startOnce starts the process and waits until it is ready; an error
// (errPortTaken when a restart could not bind one of the ports) leaves
// nothing running.
func (s *Server) startOnce() error {
	s.t.Helper()
	first := s.URL == ""
	api, tcp, tls, udp := "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	if !first {
		api, tcp, tls, udp = strings.TrimPrefix(s.URL, "http://"), s.SyslogTCP, s.SyslogTLS, s.SyslogUDP
	}
	args := []string{"serve", "--data", s.DataDir, "--http", api,
		"--syslog-tcp", tcp, "--syslog-udp", udp, "--syslog-tls", tls,
		"--syslog-tls-cert", s.CertFile, "--syslog-tls-key", s.KeyFile,
		"--log-format", "json", "--log-level", "info"}
	if s.RedisURL != "" {
		args = append(args, "--redis", s.RedisURL)
	}
	args = append(args, s.opts.Args...)
	logf, err := os.OpenFile(s.LogFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	s.starts++
	fmt.Fprintf(logf, "=== proc: start %d at %s\n", s.starts, time.Now().UTC().Format(time.RFC3339Nano))
	tap := &listenTap{f: logf, found: make(chan listenLine, 16)}
	cmd := exec.Command(s.bins.Hisoka, args...)
	cmd.Env = append(cleanEnv(), s.opts.Env...)
	cmd.Stderr = tap
	cmd.Stdout = tap
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("proc: starting hisoka serve: %w", err)
	}
	done := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logf.Close()
		s.mu.Lock()
		s.waitErr = err
		s.mu.Unlock()
		close(done)
	}()

	deadline := time.After(startTimeout)
	fail := func(why string) error {
		s.Kill()
		err := fmt.Errorf("proc: hisoka serve %s; stderr:\n%s", why, tail(s.LogFile, 16<<10))
		if !first && tap.portTaken.Load() {
			err = fmt.Errorf("%w: %w", errPortTaken, err)
		}
		return err
	}
	if first {
		// The server logs the addresses it listens on (ports chosen by the
		// kernel, so no other process can take them in between).
		addrs := map[string]string{}
		for len(addrs) < 4 {
			select {
			case l := <-tap.found:
				addrs[l.key] = l.addr
			case <-done:
				return fail("exited before listening")
			case <-deadline:
				return fail("did not listen in time")
			}
		}
		s.URL = "http://" + addrs["http"]
		s.SyslogTCP, s.SyslogTLS, s.SyslogUDP = addrs["tcp"], addrs["tls"], addrs["udp"]
	}
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get(s.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-done:
			return fail("exited before it was ready")
		case <-deadline:
			return fail("was not ready in time")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Pid is the running server's process id (0 when it is not running).
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil || s.exited() {
		return 0
	}
	return s.cmd.Process.Pid
}

func (s *Server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM and waits for the server to exit (killing it after a
// minute); an exit status other than 0 fails the test. A server that is
// not running is left alone.
func (s *Server) Stop() {
	s.t.Helper()
	if err := s.signal(syscall.SIGTERM, time.Minute); err != nil {
		s.t.Errorf("proc: hisoka serve did not stop cleanly: %v", err)
	}
}

// Kill sends SIGKILL and waits for the server to go: a crash.
func (s *Server) Kill() {
	s.t.Helper()
	s.signal(syscall.SIGKILL, time.Minute)
}

// signal sends sig and waits up to wait for the exit, then kills; it
// returns the exit error (nil for status 0 or when nothing ran).
func (s *Server) signal(sig syscall.Signal, wait time.Duration) error {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	select {
	case <-done:
	default:
		cmd.Process.Signal(sig)
		select {
		case <-done:
		case <-time.After(wait):
			cmd.Process.Kill()
			<-done
			s.mu.Lock()
			s.cmd = nil
			s.mu.Unlock()
			return fmt.Errorf("no exit %v after %s", sig, wait)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cmd = nil
	return s.waitErr
}

// listenTap copies the server's output to the log file and picks out the
// lines saying where it listens, or that a port is in use.
type listenTap struct {
	f         *os.File
	buf       []byte
	found     chan listenLine
	portTaken atomic.Bool
}

type listenLine struct{ key, addr string } // key: http, tcp, tls or udp

func (l *listenTap) Write(p []byte) (int, error) {
	l.f.Write(p)
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		line := l.buf[:i]
		l.buf = l.buf[i+1:]
		if bytes.Contains(line, []byte("address already in use")) {
			l.portTaken.Store(true)
		}
		if !bytes.Contains(line, []byte(" listening")) {
			continue
		}
		var m struct{ Msg, Addr, Transport string }
		if json.Unmarshal(line, &m) != nil || m.Addr == "" {
			continue
		}
		switch m.Msg {
		case "HTTP API listening":
			l.send(listenLine{"http", m.Addr})
		case "syslog listening":
			l.send(listenLine{m.Transport, m.Addr})
		}
	}
	if len(l.buf) > 1<<20 {
		l.buf = nil
	}
	return len(p), nil
}

func (l *listenTap) send(x listenLine) {
	select {
	case l.found <- x:
	default:
	}
}

// cleanEnv is the test's environment without HISOKA_* variables, so that
// the developer's settings do not leak into the processes.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HISOKA_") {
			env = append(env, kv)
		}
	}
	return env
}

// tail returns the last n bytes of the file at path.
func tail(path string, n int64) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if int64(len(b)) > n {
		b = b[int64(len(b))-n:]
	}
	return string(b)
}
