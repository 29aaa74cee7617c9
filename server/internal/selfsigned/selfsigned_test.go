package selfsigned

import (
	"crypto/rand"
	"crypto/tls"
	"io"
	"testing"
	"time"
)

// TestHandshake serves the certificate on a real TCP connection and
// verifies it as a client would.
func TestHandshake(t *testing.T) {
	cert, pool, err := Certificate(rand.Reader, []string{"127.0.0.1", "localhost"}, time.Now().Add(-time.Minute), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "ok") // fails, and closes, when the client refuses the certificate
			c.Close()
		}
	}()
	for _, name := range []string{"127.0.0.1", "localhost"} {
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: name})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, _ := io.ReadAll(c)
		c.Close()
		if string(b) != "ok" {
			t.Fatalf("%s: read %q", name, b)
		}
	}
	if c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "other.example"}); err == nil {
		c.Close()
		t.Fatal("wrong name verified")
	}
}
