package matcher

import (
	"testing"

	"github.com/leodido/go-syslog/v4/rfc5424"
)

// TestRFC5424AgreesWithGoSyslog checks the hand-written RFC 5424 reader
// (byte-level, no allocation) against github.com/leodido/go-syslog on the
// RFC's own examples (RFC 5424 section 6.5) and a few more.
func TestRFC5424AgreesWithGoSyslog(t *testing.T) {
	lines := []string{
		`<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed for lonvick on /dev/pts/8`,
		`<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.`,
		`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry...`,
		`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]`,
		`<134>1 2017-05-16T00:00:04.5Z cp-1 nova-compute 2931 - [meta a="x\]y"] ok`,
	}
	for _, l := range lines {
		m, err := rfc5424.NewParser().Parse([]byte(l))
		if err != nil {
			t.Fatalf("go-syslog rejects %q: %v", l, err)
		}
		want := m.(*rfc5424.SyslogMessage)
		got, err := (&Parser{}).Parse([]byte(l))
		if err != nil {
			t.Fatalf("Parse(%q): %v", l, err)
		}
		str := func(p *string) string {
			if p == nil {
				return ""
			}
			return *p
		}
		if want.Timestamp != nil && !got.Time.Equal(*want.Timestamp) {
			t.Errorf("%q: time %v, want %v", l, got.Time, want.Timestamp)
		}
		if string(got.Host) != str(want.Hostname) || string(got.Component) != str(want.Appname) {
			t.Errorf("%q: host %q app %q, want %q %q", l, got.Host, got.Component, str(want.Hostname), str(want.Appname))
		}
		if string(got.Message) != str(want.Message) {
			t.Errorf("%q: message %q, want %q", l, got.Message, str(want.Message))
		}
		if sev := severityName(int(*want.Severity)); string(got.Level) != string(sev) {
			t.Errorf("%q: level %q, want %q", l, got.Level, sev)
		}
	}
}
