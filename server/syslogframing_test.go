package server_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
)

// TestSyslogCountedWithoutPRI: over a real TCP connection to a running
// server, an octet-counted stream whose messages mostly lack a PRI (as the
// lead observed from a real sender) is stored line by line, none truncated
// (RFC 6587: one framing method per connection).
func TestSyslogCountedWithoutPRI(t *testing.T) {
	l := startLive(t)
	var stream strings.Builder
	const n = 200
	for i := range n {
		msg := fmt.Sprintf("May 16 10:00:%02d cp-1 CRON[%d]: (root) CMD (counted-nopri %d)", i%60, 1000+i, i)
		if i%5 == 0 {
			msg = "<78>" + msg
		}
		fmt.Fprintf(&stream, "%d %s", len(msg), msg)
	}
	c, err := net.Dial("tcp", l.syslog)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte(stream.String())); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	// Unattributed (no token, unknown source): the quarantine.
	p := l.waitStream("quarantine", "q=counted-nopri", n)
	if len(p.Records) != n {
		t.Fatalf("%d records, want %d", len(p.Records), n)
	}
	for _, r := range p.Records {
		if len(r.Line) > 200 || !strings.Contains(r.Line, "counted-nopri") {
			t.Fatalf("record not one message: %.120q", r.Line)
		}
	}
}
