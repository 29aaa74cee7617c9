package syslogd

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// ErrTLSConfig is returned for unusable TLS files.
var ErrTLSConfig = errors.New("syslogd: bad TLS configuration")

// LoadTLSConfig returns a server configuration (TLS 1.2 or later) with the
// certificate chain and key from PEM files. With clientCAFile set, clients
// must present a certificate signed by one of its CAs (RFC 5425 section
// 5.2, certificate-based authorization); [Frame.ClientCert] then carries it.
func LoadTLSConfig(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTLSConfig, err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientCAFile != "" {
		pem, err := os.ReadFile(clientCAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrTLSConfig, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: no certificates in client CA file", ErrTLSConfig)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

type tlsPeer struct{ leaf *x509.Certificate }

func peerCert(c *tls.Conn) *tlsPeer {
	st := c.ConnectionState()
	if len(st.VerifiedChains) == 0 || len(st.VerifiedChains[0]) == 0 {
		return nil
	}
	return &tlsPeer{leaf: st.VerifiedChains[0][0]}
}
