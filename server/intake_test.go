package server

import (
	"strings"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/matcher"
	"github.com/hisoka-project/hisoka/server/internal/ingest"
)

func TestToStore(t *testing.T) {
	received := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	sent := time.Date(2026, 11, 22, 3, 59, 0, 0, time.UTC)
	for _, c := range []struct {
		name     string
		before   string // a line the same request sent first
		rec      ingest.Record
		wantTime time.Time
		wantApp  string
		wantSev  uint8
		fields   map[string]string
	}{
		{"year-less stamp, nothing before: the receive year", "", ingest.Record{Line: "<38>Nov 22 03:58:00 vm-1 sshd[7]: Accepted publickey for alice"},
			time.Date(2026, 11, 22, 3, 58, 0, 0, time.UTC), "sshd", 6, nil},
		{"year-less stamp after a dated line: that line's year", "2017-05-16 10:00:00.000 1 INFO nova.compute.manager [-] x",
			ingest.Record{Line: "<38>May 16 10:00:01 cmp1 sshd[7]: Failed password for root from 192.0.2.1 port 22 ssh2"},
			time.Date(2017, 5, 16, 10, 0, 1, 0, time.UTC), "sshd", 6, map[string]string{"addr": "192.0.2.1"}},
		{"sender's time wins", "", ingest.Record{Line: "2017-05-16 10:00:00.000 1 ERROR nova.compute.manager [req-1 u p - - -] [instance: 0350f9ec-737b-d6f8-1c8d-d3e890b4ecf9] boom", Time: sent},
			sent, "nova.compute.manager", 3, map[string]string{"request_id": "req-1", "instance": "0350f9ec-737b-d6f8-1c8d-d3e890b4ecf9"}},
		{"unparsed line: the receive time", "", ingest.Record{Line: "just words"}, received, "", 6, nil},
		{"truncated line is marked", "", ingest.Record{Line: strings.Repeat("é", 40)}, received, "", 6, map[string]string{"truncated_from": "80"}},
	} {
		var p matcher.Parser
		fb := matcher.Parser{Reference: received}
		if c.before != "" {
			b := ingest.Record{Line: c.before}
			toStore(&p, &fb, &b, received, 1<<16)
		}
		maxLine := 1 << 16
		if strings.HasPrefix(c.name, "truncated") {
			maxLine = 51 // cuts inside a two-byte rune: 50 bytes kept
		}
		got := toStore(&p, &fb, &c.rec, received, maxLine)
		if !got.Time.Equal(c.wantTime) || got.App != c.wantApp || got.Severity != c.wantSev || !got.Received.Equal(received) {
			t.Errorf("%s: time %v app %q severity %d", c.name, got.Time, got.App, got.Severity)
		}
		for k, v := range c.fields {
			if got.Fields[k] != v {
				t.Errorf("%s: field %s = %q, want %q", c.name, k, got.Fields[k], v)
			}
		}
		if err := got.Validate(); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}
