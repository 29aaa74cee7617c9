package syslogd

import (
	"context"
	"crypto/x509"
	"log/slog"
	"net/netip"
	"time"
)

// Transport names where a frame came from.
type Transport string

// The transports.
const (
	TCP Transport = "tcp"
	TLS Transport = "tls"
	UDP Transport = "udp"
)

// Frame is one syslog message as received.
type Frame struct {
	Data      []byte // the message, without framing; owned by the sink
	Peer      netip.AddrPort
	Received  time.Time
	Transport Transport
	// ClientCert is the verified TLS client certificate, if any.
	ClientCert *x509.Certificate
	// Truncated says Data was cut to the frame limit; OriginalLen is then
	// the frame's full length.
	Truncated   bool
	OriginalLen int
}

// LogValue keeps the message out of logs.
func (f Frame) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("peer", f.Peer.String()),
		slog.String("transport", string(f.Transport)),
		slog.Int("bytes", len(f.Data)),
		slog.Bool("truncated", f.Truncated),
	)
}

// Sink receives frames. Deliver may block; the connection is not read
// meanwhile. The frames and their Data belong to the sink once delivered.
// An error closes a stream connection and the refused frames are lost
// (syslog has no acknowledgement to withhold), so a sink that cannot keep
// up should block rather than fail; for UDP the error is logged.
type Sink interface {
	Deliver(ctx context.Context, frames []Frame) error
}

// SinkFunc adapts a function to [Sink].
type SinkFunc func(ctx context.Context, frames []Frame) error

// Deliver implements [Sink].
func (f SinkFunc) Deliver(ctx context.Context, frames []Frame) error { return f(ctx, frames) }
