package proc

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// TestServerLifecycle: a server on each backend listens on every
// transport (TLS with the test CA), answers the operator CLI, stops
// cleanly, and after a crash restarts on the same data and ports with
// what it stored.
func TestServerLifecycle(t *testing.T) {
	for _, b := range Backends() {
		t.Run(string(b), func(t *testing.T) {
			s := Start(t, Options{Backend: b})
			pool := x509.NewCertPool()
			ca, err := os.ReadFile(s.CAFile)
			if err != nil || !pool.AppendCertsFromPEM(ca) {
				t.Fatalf("CA file: %v", err)
			}
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", s.SyslogTLS, &tls.Config{RootCAs: pool, ServerName: "localhost"})
			if err != nil {
				t.Fatalf("syslog TLS: %v", err)
			}
			c.Close()
			for _, a := range []string{s.SyslogTCP} {
				c, err := net.DialTimeout("tcp", a, 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				c.Close()
			}
			if s.SyslogUDP == "" {
				t.Fatal("no UDP address")
			}
			s.MustAdmin("resource-add", "-id", "host-1", "-kind", "host", "-tenant", "platform", "-addr", "192.0.2.1")
			s.Kill()
			if s.Pid() != 0 {
				t.Fatal("killed server still running")
			}
			url := s.URL
			s.Restart()
			if s.URL != url {
				t.Fatalf("restart moved from %s to %s", url, s.URL)
			}
			if out := s.MustAdmin("resources"); !strings.Contains(out, "host-1") {
				t.Fatalf("resources after a crash: %s", out)
			}
			tok := s.Token("ingest", "")
			req, _ := http.NewRequest("POST", s.URL+"/v1/ingest", strings.NewReader("hello from proc\n"))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "text/plain")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				t.Fatalf("ingest: %d", resp.StatusCode)
			}
			s.Stop()
			s.Restart()
			if _, err := s.Admin("tenant-add", "-id", "x"); err == nil || !strings.Contains(err.Error(), "invalid public key") {
				t.Fatalf("admin usage error: %v", err)
			}
		})
	}
}

// TestRestartWaitsForATakenPort: a port the crashed server listened on,
// taken by another process while it was down, makes the restart fail to
// bind; Restart tries again until the port is free and the server is back
// on the same ports.
func TestRestartWaitsForATakenPort(t *testing.T) {
	s := Start(t, Options{})
	s.Kill()
	l, err := net.Listen("tcp", s.SyslogTCP)
	if err != nil {
		t.Fatalf("taking the syslog port of the killed server: %v", err)
	}
	freed := make(chan struct{})
	go func() {
		time.Sleep(1500 * time.Millisecond)
		l.Close()
		close(freed)
	}()
	tcp := s.SyslogTCP
	s.Restart()
	<-freed
	if s.SyslogTCP != tcp {
		t.Fatalf("restart moved syslog from %s to %s", tcp, s.SyslogTCP)
	}
	c, err := net.DialTimeout("tcp", s.SyslogTCP, 5*time.Second)
	if err != nil {
		t.Fatalf("syslog after the restart: %v", err)
	}
	c.Close()
	log, err := os.ReadFile(s.LogFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "address already in use") || !strings.Contains(string(log), "=== proc: start 3 ") {
		t.Fatalf("the restart did not meet the taken port and try again:\n%s", log)
	}
}
