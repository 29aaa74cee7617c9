package syslogd

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// maxDigits bounds the length field of an octet-counted frame.
const maxDigits = 10

// frameReader splits a byte stream into frames (RFC 6587). A stream starts
// out undecided: a frame is octet counted when it starts with digits, SP,
// '<'. RFC 6587 section 3.4 has one session use one framing method, so once
// a frame of the stream was octet counted the '<' is no longer required:
// "digits SP" is taken as a length prefix (a counted message without a
// PRI, e.g. "98 May 16 10:00:17 host ...", is not read as the start of an
// LF line that never ends), and only a frame without a plausible length
// prefix is read as a line.
type frameReader struct {
	r   *bufio.Reader
	max int
	// counting is set once the stream carried an octet-counted frame.
	counting bool
}

type rawFrame struct {
	data        []byte
	truncated   bool
	originalLen int
}

// errEnd is returned by next when the stream ended cleanly between frames.
var errEnd = errors.New("syslogd: end of stream")

// next reads one frame. On a read error inside a frame it returns the part
// read so far, marked truncated when an octet-counted frame or (after a
// non-EOF error) a line was cut short, together with the error.
func (fr *frameReader) next() (rawFrame, error) {
	// Skip separators between frames.
	for {
		b, err := fr.r.Peek(1)
		if err != nil {
			if err == io.EOF {
				return rawFrame{}, errEnd
			}
			return rawFrame{}, err
		}
		if b[0] != '\n' && b[0] != '\r' && b[0] != 0 {
			break
		}
		fr.r.Discard(1)
	}
	if n, hdr, ok := fr.octetHeader(); ok {
		fr.r.Discard(hdr)
		fr.counting = true
		return fr.counted(n)
	}
	return fr.line()
}

// octetHeader reports whether the next frame is octet counted: digits
// (first not 0), SP, then '<' unless the stream is already counting. It peeks only bytes that belong to the next frame
// in either framing, so it never waits for data a sender will not send.
func (fr *frameReader) octetHeader() (n, hdr int, ok bool) {
	i := 0
	for ; i <= maxDigits; i++ {
		b, err := fr.r.Peek(i + 1)
		if err != nil {
			return 0, 0, false
		}
		c := b[i]
		if c >= '0' && c <= '9' && !(i == 0 && c == '0') && i < maxDigits {
			n = n*10 + int(c-'0')
			continue
		}
		if i == 0 || c != ' ' {
			return 0, 0, false
		}
		break
	}
	if fr.counting {
		return n, i + 1, true
	}
	b, err := fr.r.Peek(i + 2)
	if err != nil || b[i+1] != '<' {
		return 0, 0, false
	}
	return n, i + 1, true
}

func (fr *frameReader) counted(n int) (rawFrame, error) {
	keep := min(n, fr.max)
	f := rawFrame{data: make([]byte, keep), truncated: n > keep}
	if f.truncated {
		f.originalLen = n
	}
	got, err := io.ReadFull(fr.r, f.data)
	if err != nil {
		f.data, f.truncated, f.originalLen = f.data[:got], true, n
		return f, err
	}
	if skip := n - keep; skip > 0 {
		if _, err := fr.r.Discard(skip); err != nil {
			return f, err
		}
	}
	// A counted frame's final LF is a trailer, not content: rsyslog's
	// RFC 5424 templates end in one, and rsyslog drops it on reception
	// (parser.dropTrailingLFOnReception), as UDP does here.
	if !f.truncated && len(f.data) > 0 && f.data[len(f.data)-1] == '\n' {
		f.data = f.data[:len(f.data)-1]
	}
	return f, nil
}

func (fr *frameReader) line() (rawFrame, error) {
	var f rawFrame
	total := 0 // length of the line without its LF
	var last byte
	for {
		chunk, err := fr.r.ReadSlice('\n')
		complete := err == nil
		if complete {
			chunk = chunk[:len(chunk)-1]
		}
		if len(chunk) > 0 {
			last = chunk[len(chunk)-1]
		}
		total += len(chunk)
		if room := fr.max - len(f.data); room > 0 && len(chunk) > 0 {
			if f.data == nil {
				f.data = make([]byte, 0, min(len(chunk), fr.max))
			}
			f.data = append(f.data, chunk[:min(room, len(chunk))]...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if complete && total > 0 && last == '\r' {
			total--
			if len(f.data) > total {
				f.data = f.data[:total]
			}
		}
		if total > fr.max {
			f.truncated, f.originalLen = true, total
		}
		if err == io.EOF {
			return f, nil // a last line needs no LF; the next call ends the stream
		}
		if err != nil {
			f.truncated, f.originalLen = true, total // cut short by the connection
		}
		return f, err
	}
}

// completeBuffered reports whether a whole frame is already buffered, so
// that reading it will not wait on the network. False is always safe: the
// batch is delivered first.
func (fr *frameReader) completeBuffered() bool {
	n := fr.r.Buffered()
	if n == 0 {
		return false
	}
	b, _ := fr.r.Peek(n)
	i := 0
	for i < len(b) && (b[i] == '\n' || b[i] == '\r' || b[i] == 0) {
		i++
	}
	b = b[i:]
	j, size := 0, 0
	for j < len(b) && j < maxDigits && b[j] >= '0' && b[j] <= '9' && !(j == 0 && b[j] == '0') {
		size = size*10 + int(b[j]-'0')
		j++
	}
	if j > 0 {
		if fr.counting && j < len(b) && b[j] == ' ' {
			return len(b)-(j+1) >= size
		}
		if j+1 >= len(b) {
			return false // cannot tell the framing yet
		}
		if b[j] == ' ' && b[j+1] == '<' {
			return len(b)-(j+1) >= size
		}
	}
	return bytes.IndexByte(b, '\n') >= 0
}
