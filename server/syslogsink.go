package server

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hisoka-project/hisoka/server/internal/auth"
	"github.com/hisoka-project/hisoka/server/internal/ingest"
	"github.com/hisoka-project/hisoka/server/internal/syslogd"
	"github.com/hisoka-project/hisoka/spec"
)

// syslogSink attributes syslog frames and makes them durable before
// returning; while it blocks, the connection is not read (TCP flow
// control is the backpressure).
//
// Attribution, in order: an ingest token in the RFC 5424 structured data
// element "hisoka" (param "token"; removed from the stored line) sends the
// frame to that token's tenant, or to the platform stream for a
// platform-ingest token; otherwise the sender's address through the
// resource map (platform hosts are resources of the reserved tenant
// "platform"); otherwise the quarantine. Frames with an invalid or expired
// token go to the quarantine too (whatever their address): nothing is
// dropped, nothing is trusted.
type syslogSink struct{ svc *service }

var _ syslogd.Sink = syslogSink{}

func transportLabel(t syslogd.Transport) string { return "syslog_" + string(t) }

func (k syslogSink) Deliver(ctx context.Context, frames []syslogd.Frame) error {
	svc := k.svc
	type group struct {
		transport string
		recs      []ingest.Record
	}
	groups := map[string]*group{}
	var order []string
	for i := range frames {
		f := &frames[i]
		data := f.Data
		tenant := ""
		if tok, rest, ok := ExtractToken(data); ok {
			data = rest
			if tenant = svc.creds.tenant(ctx, svc.s.verifier, tok); tenant == "" || (tenant != spec.TenantPlatform && !svc.registered(tenant)) {
				tenant = spec.TenantQuarantine // a bad credential is never trusted
			}
		} else {
			tenant = svc.tenantByAddr(f.Peer.Addr())
		}
		if tenant == "" {
			tenant = spec.TenantQuarantine
		}
		g, ok := groups[tenant]
		if !ok {
			g = &group{transport: transportLabel(f.Transport)}
			groups[tenant] = g
			order = append(order, tenant)
		}
		r := ingest.Record{Line: string(data), Source: f.Peer.Addr().String(), Truncated: f.Truncated, OriginalLen: f.OriginalLen}
		g.recs = append(g.recs, r)
	}
	for _, t := range order {
		g := groups[t]
		for svc.lagging(t) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
		for {
			_, _, err := svc.appendLines(ctx, g.transport, t, g.recs)
			if err == nil {
				break
			}
			if !errors.Is(err, ErrQuotaExceeded) {
				svc.s.log.ErrorContext(ctx, "syslog append failed", "err", err, "lines", len(g.recs))
				return err
			}
			// Over quota: hold the connection (the sender queues) until the
			// quota is raised or retention frees space.
			svc.s.metrics.IngestRejected.WithLabelValues(g.transport, "quota").Inc()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(5 * time.Second):
			}
		}
	}
	return nil
}

// credCache remembers verified syslog ingest tokens until they expire, so
// a connection's frames cost one signature check per token, not per line.
type credCache struct {
	mu  sync.Mutex
	max int
	m   map[string]credEntry
}

type credEntry struct {
	tenant string // "" for a refused token
	exp    time.Time
}

// maxTokenLen bounds a token in a syslog frame (ours are a few hundred bytes).
const maxTokenLen = 4096

func newCredCache(max int) *credCache { return &credCache{max: max, m: map[string]credEntry{}} }

// tenant returns the stream a token's frames go to, or "" when the token
// is not a valid ingest token.
func (c *credCache) tenant(ctx context.Context, v interface {
	Verify(context.Context, string) (auth.Principal, error)
}, tok string) string {
	if len(tok) > maxTokenLen { // not one of ours; not worth a cache slot
		return ""
	}
	now := time.Now()
	c.mu.Lock()
	e, ok := c.m[tok]
	c.mu.Unlock()
	if ok && now.Before(e.exp) {
		return e.tenant
	}
	p, err := v.Verify(ctx, tok)
	e = credEntry{exp: now.Add(time.Minute)}
	if err == nil && p.Role == auth.RoleIngest {
		e = credEntry{tenant: ingestStream(p), exp: p.ExpiresAt}
	}
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[tok] = e
	c.mu.Unlock()
	return e.tenant
}

// ExtractToken finds the ingest token in an RFC 5424 message's structured
// data element whose SD-ID is "hisoka" or starts with "hisoka@" (param
// "token"), and returns it with the message rewritten without that element
// ("-" when no element remains). ok is false, and msg is returned as is,
// for anything else: other syslog formats, malformed structured data, no
// such element.
func ExtractToken(msg []byte) (token string, rest []byte, ok bool) {
	// <PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD
	if len(msg) < 4 || msg[0] != '<' {
		return "", msg, false
	}
	i := bytes.IndexByte(msg[:min(len(msg), 6)], '>')
	if i < 2 {
		return "", msg, false
	}
	pos := i + 1
	for n := 0; n < 6; n++ { // version and the five header fields
		sp := bytes.IndexByte(msg[pos:], ' ')
		if sp <= 0 {
			return "", msg, false
		}
		pos += sp + 1
	}
	sdStart := pos
	if pos >= len(msg) || msg[pos] != '[' {
		return "", msg, false
	}
	var found string
	var haveToken bool
	cutFrom, cutTo := -1, -1
	for pos < len(msg) && msg[pos] == '[' {
		elemStart := pos
		pos++
		idEnd := pos
		for idEnd < len(msg) && msg[idEnd] != ' ' && msg[idEnd] != ']' {
			idEnd++
		}
		if idEnd >= len(msg) || idEnd == pos {
			return "", msg, false
		}
		id := string(msg[pos:idEnd])
		mine := id == "hisoka" || (len(id) > 7 && id[:7] == "hisoka@")
		pos = idEnd
		for pos < len(msg) && msg[pos] == ' ' {
			pos++
			eq := bytes.IndexByte(msg[pos:], '=')
			if eq <= 0 || pos+eq+1 >= len(msg) || msg[pos+eq+1] != '"' {
				return "", msg, false
			}
			name := string(msg[pos : pos+eq])
			pos += eq + 2
			var val []byte
			closed := false
			for pos < len(msg) {
				ch := msg[pos]
				if ch == '\\' && pos+1 < len(msg) && (msg[pos+1] == '"' || msg[pos+1] == '\\' || msg[pos+1] == ']') {
					val = append(val, msg[pos+1])
					pos += 2
					continue
				}
				if ch == '"' {
					closed = true
					pos++
					break
				}
				val = append(val, ch)
				pos++
			}
			if !closed {
				return "", msg, false
			}
			if mine && name == "token" && !haveToken {
				found, haveToken = string(val), true
			}
		}
		if pos >= len(msg) || msg[pos] != ']' {
			return "", msg, false
		}
		pos++
		if mine && haveToken && cutFrom < 0 {
			cutFrom, cutTo = elemStart, pos
		}
	}
	if !haveToken || found == "" {
		return "", msg, false
	}
	out := make([]byte, 0, len(msg)-(cutTo-cutFrom)+1)
	out = append(out, msg[:cutFrom]...)
	out = append(out, msg[cutTo:]...)
	if cutFrom == sdStart && (cutTo == len(msg) || msg[cutTo] != '[') {
		// no element left: the nil value
		out = append(append(append(out[:0:0], msg[:cutFrom]...), '-'), msg[cutTo:]...)
	}
	return found, out, true
}
