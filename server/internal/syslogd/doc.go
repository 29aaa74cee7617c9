// Package syslogd receives syslog messages over TCP (RFC 6587), TLS
// (RFC 5425) and UDP (RFC 5426) and hands each message, as a raw [Frame]
// with its peer address and receive time, to a [Sink]. It does not parse
// message content; that is the matcher's job.
//
// Framing on stream transports is detected per frame: a frame that starts
// with a length of 1 to 10 digits (no leading zero), a space and then '<'
// (the start of a PRI) is octet-counted; anything else is one line ending
// in LF (a CR before the LF is removed, and the last line of a stream needs
// no LF). So a sender may mix the two on one connection. TLS accepts both
// too: RFC 5425 asks for octet counting, but rsyslog sends LF framing over
// TLS unless told otherwise. Empty lines and stray CR/LF/NUL bytes between
// frames are skipped. Each UDP datagram is one frame (a final LF removed).
//
// Frame size limit: a frame longer than [Config.MaxFrameBytes] is cut to
// that many bytes and delivered with Truncated set and OriginalLen its
// declared (octet counting) or observed (LF, UDP) length; the rest of it is
// read and discarded. Nothing is dropped.
//
// Backpressure: each connection is read by one goroutine that calls
// [Sink.Deliver] synchronously with a batch of the frames already complete
// in its buffer. While the sink blocks, that connection is not read, so the
// kernel's receive window fills and TCP flow control slows the sender.
// Memory per connection is bounded by the read buffer and one batch
// ([Config.MaxBatchBytes]); connections are bounded by [Config.MaxConns]
// (further ones wait in the listen backlog). UDP has no flow control: while
// the sink blocks, datagrams beyond the kernel's socket buffer are lost,
// as RFC 5426 accepts.
//
// [Server.Shutdown] stops accepting, ends every read at once, delivers the
// frames already read (a partial last frame as Truncated), waits for the
// sink calls to return and only when its context expires cancels them.
package syslogd
