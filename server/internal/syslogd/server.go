package syslogd

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// ErrServerClosed is returned by the Serve methods after [Server.Shutdown].
var ErrServerClosed = errors.New("syslogd: server closed")

// Config tunes a [Server]. Zero fields take the defaults shown.
type Config struct {
	MaxFrameBytes int           // 65536
	MaxConns      int           // 1024 stream connections at once
	MaxBatch      int           // 512 frames per Deliver
	MaxBatchBytes int           // 1 MiB per Deliver
	ReadBuffer    int           // 64 KiB bufio buffer per connection
	IdleTimeout   time.Duration // 0: connections may stay idle forever
	// HandshakeTimeout bounds the TLS handshake (10 s).
	HandshakeTimeout time.Duration
	// ConnChange, if set, is called with +1 when a stream connection
	// opens and -1 when it closes (for a connections gauge).
	ConnChange func(t Transport, delta int)
	Logger     *slog.Logger     // slog.Default() if nil
	Now        func() time.Time // time.Now if nil
}

func (c *Config) setDefaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.MaxFrameBytes, 64<<10)
	def(&c.MaxConns, 1024)
	def(&c.MaxBatch, 512)
	def(&c.MaxBatchBytes, 1<<20)
	def(&c.ReadBuffer, 64<<10)
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Server reads syslog from any number of listeners into one [Sink].
type Server struct {
	cfg  Config
	sink Sink
	sem  chan struct{}

	// ctx is cancelled only when Shutdown gives up waiting: sink calls
	// then see their context end.
	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	closing   bool
	closed    chan struct{} // closed by Shutdown
	listeners map[net.Listener]struct{}
	packets   map[net.PacketConn]struct{}
	conns     map[net.Conn]struct{}
	wg        sync.WaitGroup
}

// NewServer returns a server delivering to sink.
func NewServer(cfg Config, sink Sink) *Server {
	cfg.setDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		cfg: cfg, sink: sink, sem: make(chan struct{}, cfg.MaxConns),
		ctx: ctx, cancel: cancel, closed: make(chan struct{}),
		listeners: make(map[net.Listener]struct{}),
		packets:   make(map[net.PacketConn]struct{}),
		conns:     make(map[net.Conn]struct{}),
	}
}

// ServeStream accepts connections on ln (plain TCP, or a listener from
// tls.NewListener with transport TLS) until [Server.Shutdown]; it then
// returns [ErrServerClosed].
func (s *Server) ServeStream(ln net.Listener, transport Transport) error {
	if !s.track(func() { s.listeners[ln] = struct{}{} }) {
		ln.Close()
		return ErrServerClosed
	}
	defer s.untrack(func() { delete(s.listeners, ln) })
	var delay time.Duration
	for {
		select { // at most MaxConns; the backlog holds the rest
		case s.sem <- struct{}{}:
		case <-s.closed:
			return ErrServerClosed
		}
		c, err := ln.Accept()
		if err != nil {
			<-s.sem
			if s.isClosing() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.cfg.Logger.Warn("syslog accept", "err", err)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		if !s.track(func() { s.conns[c] = struct{}{}; s.wg.Add(1) }) {
			c.Close()
			<-s.sem
			return ErrServerClosed
		}
		if s.cfg.ConnChange != nil {
			s.cfg.ConnChange(transport, +1)
		}
		go func() {
			defer s.wg.Done()
			defer func() { <-s.sem }()
			if s.cfg.ConnChange != nil {
				defer s.cfg.ConnChange(transport, -1)
			}
			defer s.untrack(func() { delete(s.conns, c) })
			defer c.Close()
			s.serveConn(c, transport)
		}()
	}
}

func (s *Server) serveConn(c net.Conn, transport Transport) {
	peer := addrPort(c.RemoteAddr())
	log := s.cfg.Logger.With("peer", peer.String(), "transport", string(transport))
	var cert *tlsPeer
	if tc, ok := c.(*tls.Conn); ok {
		hctx, cancel := context.WithTimeout(s.ctx, s.cfg.HandshakeTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			log.Info("syslog TLS handshake failed", "err", err)
			return
		}
		cert = peerCert(tc)
	}
	fr := &frameReader{r: bufio.NewReaderSize(c, s.cfg.ReadBuffer), max: s.cfg.MaxFrameBytes}
	var batch []Frame
	batchBytes := 0
	for {
		if s.cfg.IdleTimeout > 0 && fr.r.Buffered() == 0 {
			s.mu.Lock() // not racing the deadline Shutdown sets
			if !s.closing {
				c.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout))
			}
			s.mu.Unlock()
		}
		raw, err := fr.next()
		if err != errEnd && (err == nil || len(raw.data) > 0) {
			f := Frame{Data: raw.data, Peer: peer, Received: s.cfg.Now(), Transport: transport,
				Truncated: raw.truncated, OriginalLen: raw.originalLen}
			if cert != nil {
				f.ClientCert = cert.leaf
			}
			batch = append(batch, f)
			batchBytes += len(raw.data)
		}
		if err == nil && len(batch) < s.cfg.MaxBatch && batchBytes < s.cfg.MaxBatchBytes && fr.completeBuffered() {
			continue
		}
		if len(batch) > 0 {
			if derr := s.sink.Deliver(s.ctx, batch); derr != nil {
				log.Warn("syslog sink refused frames; closing connection", "frames", len(batch), "err", derr)
				return
			}
			batch, batchBytes = nil, 0
		}
		if err != nil {
			if err != errEnd && !s.isClosing() {
				log.Debug("syslog connection ended", "err", err)
			}
			return
		}
	}
}

// ServePacket reads datagrams from pc until [Server.Shutdown]; it then
// returns [ErrServerClosed].
func (s *Server) ServePacket(pc net.PacketConn) error {
	if !s.track(func() { s.packets[pc] = struct{}{}; s.wg.Add(1) }) {
		pc.Close()
		return ErrServerClosed
	}
	defer s.wg.Done()
	defer s.untrack(func() { delete(s.packets, pc) })
	buf := make([]byte, 65536) // the largest UDP payload
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			if s.isClosing() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		data := buf[:n]
		if len(data) > 0 && data[len(data)-1] == '\n' {
			data = data[:len(data)-1]
		}
		if len(data) == 0 {
			continue
		}
		f := Frame{Peer: addrPort(addr), Received: s.cfg.Now(), Transport: UDP}
		if len(data) > s.cfg.MaxFrameBytes {
			f.Truncated, f.OriginalLen = true, len(data)
			data = data[:s.cfg.MaxFrameBytes]
		}
		f.Data = append([]byte(nil), data...)
		if err := s.sink.Deliver(s.ctx, []Frame{f}); err != nil {
			s.cfg.Logger.Warn("syslog sink refused a datagram", "peer", f.Peer.String(), "err", err)
		}
	}
}

// Shutdown stops all listeners, ends reads on every connection, lets the
// frames already read reach the sink and waits for that. If ctx ends first
// it cancels the sink's context, closes the connections and returns
// ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closing {
		close(s.closed)
	}
	s.closing = true
	for ln := range s.listeners {
		ln.Close()
	}
	for pc := range s.packets {
		pc.Close()
	}
	now := time.Now()
	for c := range s.conns {
		c.SetReadDeadline(now) // pending and future reads fail at once
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		s.cancel()
		return nil
	case <-ctx.Done():
		s.cancel()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}

func (s *Server) track(add func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	add()
	return true
}

func (s *Server) untrack(del func()) {
	s.mu.Lock()
	del()
	s.mu.Unlock()
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

func addrPort(a net.Addr) netip.AddrPort {
	var ap netip.AddrPort
	switch a := a.(type) {
	case *net.TCPAddr:
		ap = a.AddrPort()
	case *net.UDPAddr:
		ap = a.AddrPort()
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
