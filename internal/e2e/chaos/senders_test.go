package chaos_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hisoka-project/hisoka/internal/loggen"
)

// statuses counts the HTTP answers the senders got (0: no answer).
type statuses struct {
	mu sync.Mutex
	m  map[int]int
}

func (s *statuses) note(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[int]int{}
	}
	s.m[code]++
}

func (s *statuses) snapshot() map[int]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[int]int{}
	for k, v := range s.m {
		out[k] = v
	}
	return out
}

// unexpected returns the answers other than 200, 429 and no answer.
func (s *statuses) unexpected() map[int]int {
	out := map[int]int{}
	for k, v := range s.snapshot() {
		if k != 0 && k != http.StatusOK && k != http.StatusTooManyRequests {
			out[k] = v
		}
	}
	return out
}

// platformSender ships the generated platform log in order, over HTTP
// NDJSON with a platform-ingest token, each line with its time and
// labelled with its index (label "n"), as a careful shipper does: a refused batch (429) is sent
// again after a pause; a batch with no answer stops the sender until the
// test has audited the store after the restart, which tells which of its
// lines are lost, and those go back to the front of the queue. So the
// server's pipeline sees the generated log exactly once and in order, and
// its notifications can be compared with the generator's.
type platformSender struct {
	f      *fixture
	lines  []loggen.Line
	book   *book
	st     *statuses
	queue  []int         // line indexes still to send, in order
	batch  int           // lines per request
	pace   time.Duration // pause between requests
	budget int           // lines run may still send (acknowledged ones count)
	// acked, if not nil, is called after each acknowledged request, before
	// the next one starts.
	acked func()
}

func (s *platformSender) body(ns []int) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, n := range ns {
		ln := s.lines[n]
		enc.Encode(ndjsonLine{Line: ln.Text, Time: ln.Time.Format(time.RFC3339Nano), Labels: map[string]string{"n": strconv.Itoa(n)}})
	}
	return b.Bytes()
}

// run sends until the queue is empty, the budget is spent, ctx ends or a
// request gets no answer. A request under way when ctx ends is finished: ending ctx stops
// the sender between requests, as a shipper stops before a planned restart.
func (s *platformSender) run(ctx context.Context) {
	for len(s.queue) > 0 && s.budget > 0 && ctx.Err() == nil {
		ns := slices.Clone(s.queue[:min(s.batch, len(s.queue), s.budget)])
		s.book.mark(ns, pending)
		code, err := s.f.post(context.WithoutCancel(ctx), s.f.platformIngest, s.body(ns))
		s.st.note(code)
		switch {
		case err == nil && code < 300:
			s.book.mark(ns, acked)
			s.queue = s.queue[len(ns):]
			s.budget -= len(ns)
			if s.acked != nil {
				s.acked()
			}
		case err == nil && code >= 400 && code < 500:
			s.book.mark(ns, refused)
			sleep(ctx, 200*time.Millisecond)
			continue
		default: // no answer (or a 5xx): the audit after the restart decides
			s.queue = s.queue[len(ns):]
			return
		}
		sleep(ctx, s.pace)
	}
}

// requeue puts lines the audit found lost back at the front of the queue.
func (s *platformSender) requeue(lost []int) {
	s.queue = append(slices.Clone(lost), s.queue...)
}

// ownHTTP sends the tenant's own numbered lines over HTTP NDJSON with the
// tenant's ingest token until ctx ends (between requests) or a request
// gets no answer. Lines
// without an answer are not sent again: the server may have lost them, but
// must not store them twice.
func ownHTTP(ctx context.Context, f *fixture, b *book, st *statuses) {
	const batch = 100
	for ctx.Err() == nil {
		first := b.reserve(batch)
		ns := make([]int, batch)
		var body bytes.Buffer
		enc := json.NewEncoder(&body)
		for i := range ns {
			ns[i] = first + i
			enc.Encode(ndjsonLine{Line: ownLine("http", ns[i])})
		}
		b.mark(ns, pending)
		code, err := f.post(context.WithoutCancel(ctx), f.tenantIngest, body.Bytes())
		st.note(code)
		switch {
		case err == nil && code < 300:
			b.mark(ns, acked)
		case err == nil && code >= 400 && code < 500:
			b.mark(ns, refused)
			sleep(ctx, 200*time.Millisecond)
		default:
			return
		}
		sleep(ctx, 10*time.Millisecond)
	}
}

// ownSyslog sends the tenant's own numbered lines over syslog TCP (RFC 5424
// with the tenant's ingest token, octet-counted), a connection per 200
// lines, each closed cleanly, until ctx ends (between connections) or a
// dial or write fails.
//
// Syslog has no acknowledgement, so every line stays pending: after a
// crash it may be lost, but never stored twice; once an audit found it
// stored it must stay stored exactly once; and lines written on
// connections closed cleanly while the server runs must all arrive (the
// final audit waits for them).
func ownSyslog(ctx context.Context, f *fixture, b *book) {
	const perConn = 200
	d := net.Dialer{Timeout: 10 * time.Second}
	for ctx.Err() == nil {
		c, err := d.Dial("tcp", f.srv.SyslogTCP)
		if err != nil {
			return
		}
		first := b.reserve(perConn)
		ns := make([]int, perConn)
		var buf bytes.Buffer
		for i := range ns {
			ns[i] = first + i
			buf.Write(syslogFrame(f.tenantIngest, ns[i]))
		}
		b.mark(ns, pending)
		c.SetWriteDeadline(time.Now().Add(30 * time.Second))
		_, werr := c.Write(buf.Bytes())
		if cerr := c.Close(); werr != nil || cerr != nil {
			return
		}
		sleep(ctx, 20*time.Millisecond)
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
