package server_test

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/server"
	"github.com/hisoka-project/hisoka/server/internal/selfsigned"
	"github.com/hisoka-project/hisoka/spec"
)

// TestSyslogTLSWithTenantToken: a VM ships over syslog TLS (RFC 5425) with
// the frame the source-config snippet makes; the line lands in its tenant's
// log, without the token.
func TestSyslogTLSWithTenantToken(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM, err := selfsigned.Generate(rand.Reader, []string{"127.0.0.1"}, time.Now().Add(-time.Hour), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	l := startLiveWith(t, filepath.Join(dir, "data"), func(c *server.Config) {
		c.Syslog.TLSAddr, c.Syslog.TLSCert, c.Syslog.TLSKey = "127.0.0.1:0", certFile, keyFile
	})
	a := l.register("tenant-a", "p")
	tlsAddr := l.srv.Addrs()[2].String() // HTTP, TCP, TLS
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	c, err := tls.Dial("tcp", tlsAddr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	tok := l.mint("ingest", a.id)
	frame := fmt.Sprintf(`<86>1 %s vm-1 sudo 77 - [hisoka@32473 token="%s" resource="vm-1"] alice : TTY=pts/0 ; USER=root ; COMMAND=/bin/true tlsmarker`, time.Now().UTC().Format(time.RFC3339), tok)
	if _, err := fmt.Fprintf(c, "%d %s", len(frame), frame); err != nil {
		t.Fatal(err)
	}
	c.Close()
	var page spec.LogPage
	deadline := time.Now().Add(10 * time.Second)
	for len(page.Records) == 0 && time.Now().Before(deadline) {
		l.must(200, "GET", "/v1/tenants/tenant-a/logs?q=tlsmarker", l.token(a), "", nil, &page)
		time.Sleep(20 * time.Millisecond)
	}
	if len(page.Records) != 1 || page.Records[0].App != "sudo" || page.Records[0].Host != "vm-1" {
		t.Fatalf("records %+v", page.Records)
	}
	if want := "- alice : TTY"; !strings.Contains(page.Records[0].Line, want) || strings.Contains(page.Records[0].Line, tok) {
		t.Fatalf("stored line %q", page.Records[0].Line)
	}
}
