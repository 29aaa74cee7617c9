package matcher

import (
	"errors"
	"testing"
	"time"
)

func TestParseFormats(t *testing.T) {
	ref := time.Date(2017, 5, 20, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name                      string
		line                      string
		format                    Format
		time                      string
		host, comp, level, req    string
		user, project, inst, addr string
		pid                       int
		msg                       string
		wrapped                   bool
	}{
		{name: "oslo with file prefix and full context",
			line:   `nova-api.log.1.2017-05-16_13:53:08 2017-05-16 00:00:00.008 25746 INFO nova.osapi_compute.wsgi.server [req-38101a0b-2096-447d-96ea-a692162415ae 113d3a99c3da401fbd62cc2caa5b96d2 54fadb412c4e40cdbaed9335e4c35a9e - - -] 10.11.10.1 "GET /v2/54fadb412c4e40cdbaed9335e4c35a9e/servers/detail HTTP/1.1" status: 200 len: 1893 time: 0.2477829`,
			format: FormatOslo, time: "2017-05-16T00:00:00.008Z", comp: "nova.osapi_compute.wsgi.server", level: "INFO", pid: 25746,
			req: "req-38101a0b-2096-447d-96ea-a692162415ae", user: "113d3a99c3da401fbd62cc2caa5b96d2", project: "54fadb412c4e40cdbaed9335e4c35a9e",
			addr: "10.11.10.1", msg: `10.11.10.1 "GET /v2/54fadb412c4e40cdbaed9335e4c35a9e/servers/detail HTTP/1.1" status: 200 len: 1893 time: 0.2477829`},
		{name: "oslo instance, empty user context, CRLF",
			line:   "2017-05-16 00:00:04.500 2931 INFO nova.compute.manager [req-3ea4052c-895d-4b64-9e2d-04d64c4d94ab - - - - -] [instance: b9000564-fe1a-409b-b8cc-1e88b294cd1d] Terminating instance\r\n",
			format: FormatOslo, time: "2017-05-16T00:00:04.5Z", comp: "nova.compute.manager", level: "INFO", pid: 2931,
			req: "req-3ea4052c-895d-4b64-9e2d-04d64c4d94ab", inst: "b9000564-fe1a-409b-b8cc-1e88b294cd1d",
			msg: "[instance: b9000564-fe1a-409b-b8cc-1e88b294cd1d] Terminating instance"},
		{name: "oslo no request context",
			line:   "2017-05-16 00:00:40.018 2931 INFO oslo_service.service [-] Caught SIGTERM, stopping children",
			format: FormatOslo, time: "2017-05-16T00:00:40.018Z", comp: "oslo_service.service", level: "INFO", pid: 2931, msg: "Caught SIGTERM, stopping children"},
		{name: "devstack style, no pid or level, path and bare request id",
			line:   "2014-12-12 11:35:44.467 cinder.service req-64e19f5a-5098-48c1-a920-9f8726eabe5c /opt/stack/cinder/cinder/service.py [-] Starting cinder-scheduler node",
			format: FormatOslo, time: "2014-12-12T11:35:44.467Z", comp: "cinder.service", req: "req-64e19f5a-5098-48c1-a920-9f8726eabe5c", msg: "Starting cinder-scheduler node"},
		{name: "rfc3164 sshd, year from reference",
			line:   "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
			format: FormatRFC3164, time: "2016-12-10T06:55:46Z", host: "LabSZ", comp: "sshd", pid: 24200, addr: "173.234.31.186",
			msg: "Invalid user webmaster from 173.234.31.186"},
		{name: "rfc3164 with pri and space-padded day",
			line:   "<86>May  6 00:00:01 cp-1 sudo:     root : TTY=pts/0 ; PWD=/root ; USER=root ; COMMAND=/sbin/iptables -F",
			format: FormatRFC3164, time: "2017-05-06T00:00:01Z", host: "cp-1", comp: "sudo", level: "INFO",
			msg: "root : TTY=pts/0 ; PWD=/root ; USER=root ; COMMAND=/sbin/iptables -F"},
		{name: "rfc5424 with structured data",
			line:   `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 1234 ID47 [exampleSDID@32473 iut="3" eventSource="Appl\]ication"] An application event log entry`,
			format: FormatRFC5424, time: "2003-10-11T22:14:15.003Z", host: "mymachine.example.com", comp: "evntslog", level: "NOTICE", pid: 1234,
			msg: "An application event log entry"},
		{name: "rfc5424 nil values and offset",
			line:   "<34>1 2003-10-11T22:14:15.003-07:00 - su - - - 'su root' failed for lonvick on /dev/pts/8",
			format: FormatRFC5424, time: "2003-10-12T05:14:15.003Z", comp: "su", level: "CRITICAL", msg: "'su root' failed for lonvick on /dev/pts/8"},
		{name: "oslo wrapped in rfc3164",
			line:   "<134>May 16 00:00:04 cp-1 nova-compute[2931]: 2017-05-16 00:00:04.500 2931 INFO nova.compute.manager [req-3ea4052c-895d-4b64-9e2d-04d64c4d94ab 113d3a99c3da401fbd62cc2caa5b96d2 54fadb412c4e40cdbaed9335e4c35a9e - - -] [instance: b9000564-fe1a-409b-b8cc-1e88b294cd1d] Claim successful",
			format: FormatOslo, time: "2017-05-16T00:00:04.5Z", host: "cp-1", comp: "nova.compute.manager", level: "INFO", pid: 2931,
			req: "req-3ea4052c-895d-4b64-9e2d-04d64c4d94ab", user: "113d3a99c3da401fbd62cc2caa5b96d2", project: "54fadb412c4e40cdbaed9335e4c35a9e",
			inst: "b9000564-fe1a-409b-b8cc-1e88b294cd1d", msg: "[instance: b9000564-fe1a-409b-b8cc-1e88b294cd1d] Claim successful", wrapped: true},
		{name: "oslo syslog handler format without time, in rfc5424",
			line:   "<134>1 2017-05-16T00:00:04.5Z cp-1 nova-compute 2931 - - 2931 WARNING nova.compute.manager [-] Instance is paused",
			format: FormatOslo, time: "2017-05-16T00:00:04.5Z", host: "cp-1", comp: "nova.compute.manager", level: "WARNING", pid: 2931, msg: "Instance is paused", wrapped: true},
		{name: "generic time component message",
			line:   "2017-05-16T00:00:04Z myapp: started worker 3",
			format: FormatGeneric, time: "2017-05-16T00:00:04Z", comp: "myapp", msg: "started worker 3"},
		{name: "generic with comma milliseconds and level",
			line:   "2017-05-16 00:00:04,250 ERROR keystone disk full",
			format: FormatGeneric, time: "2017-05-16T00:00:04.25Z", comp: "keystone", level: "ERROR", msg: "disk full"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &Parser{Reference: ref}
			r, err := p.Parse([]byte(tc.line))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got := map[string]string{
				"time": r.Time.UTC().Format(time.RFC3339Nano), "host": string(r.Host), "comp": string(r.Component), "level": string(r.Level),
				"req": string(r.RequestID), "user": string(r.UserID), "project": string(r.ProjectID), "inst": string(r.Instance),
				"addr": string(r.Addr), "msg": string(r.Message),
			}
			want := map[string]string{"time": tc.time, "host": tc.host, "comp": tc.comp, "level": tc.level, "req": tc.req,
				"user": tc.user, "project": tc.project, "inst": tc.inst, "addr": tc.addr, "msg": tc.msg}
			for k, w := range want {
				if got[k] != w {
					t.Errorf("%s = %q, want %q", k, got[k], w)
				}
			}
			if r.Format != tc.format || r.PID != tc.pid || r.Wrapped != tc.wrapped {
				t.Errorf("format %v pid %d wrapped %v, want %v %d %v", r.Format, r.PID, r.Wrapped, tc.format, tc.pid, tc.wrapped)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	tests := []struct {
		line string
		want error
	}{
		{"", ErrEmpty},                                   // empty
		{"  \r\n", ErrEmpty},                             // blank with CRLF
		{"hello world", ErrUnrecognised},                 // no time stamp
		{"<999>May 16 00:00:00 h p: m", ErrUnrecognised}, // priority out of range
		{"<13>1 not-a-time host app - - - msg", ErrUnrecognised},
		{"<13>1 2003-10-11T22:14:15Z host app - - [unterminated", ErrUnrecognised},
		{"May 99 00:00:00 host prog: msg", ErrUnrecognised},         // bad day
		{"2017-13-16 00:00:00.000 1 INFO x [-] m", ErrUnrecognised}, // bad month
		{"2017-05-16 00:00:00.", ErrUnrecognised},                   // truncated
		{"<13", ErrUnrecognised},                                    // truncated priority
	}
	for _, tc := range tests {
		p := &Parser{}
		r, err := p.Parse([]byte(tc.line))
		if !errors.Is(err, tc.want) {
			t.Errorf("Parse(%q) err = %v, want %v", tc.line, err, tc.want)
		}
		if r.Line != nil || r.Format != FormatUnparsed {
			t.Errorf("Parse(%q) returned a non-zero record on error", tc.line)
		}
		if tc.want == ErrUnrecognised {
			raw, ok := p.ParseOrRaw([]byte(tc.line))
			if ok || raw.Format != FormatUnparsed || string(raw.Message) != tc.line {
				t.Errorf("ParseOrRaw(%q) = %v %q, want the raw line kept", tc.line, ok, raw.Message)
			}
		}
	}
}

func TestParse3164YearRollover(t *testing.T) {
	// Read in early January, a December stamp belongs to the year before.
	p := &Parser{Reference: time.Date(2018, 1, 2, 0, 0, 0, 0, time.UTC)}
	r, err := p.Parse([]byte("Dec 31 23:59:59 h prog: m"))
	if err != nil || r.Time.Year() != 2017 {
		t.Fatalf("got %v %v, want year 2017", r.Time, err)
	}
	// Without a reference, the last dated line gives the year, and a jump
	// back of months means the log crossed new year.
	q := &Parser{}
	if _, err := q.Parse([]byte("2017-12-31 23:59:58.000 1 INFO a [-] x")); err != nil {
		t.Fatal(err)
	}
	r, _ = q.Parse([]byte("Dec 31 23:59:59 h prog: m"))
	if r.Time.Year() != 2017 {
		t.Fatalf("got %v, want 2017", r.Time)
	}
	r, _ = q.Parse([]byte("Jan  1 00:00:01 h prog: m"))
	if r.Time.Year() != 2018 {
		t.Fatalf("got %v, want 2018", r.Time)
	}
}

// The day cache gives the same time.Time, representation included, as a
// calendar computation, whatever came before.
func FuzzParseISODayCache(f *testing.F) {
	f.Add("2017-05-16 00:00:00.008", "2017-05-16 23:59:60.999")
	f.Add("2017-02-28 10:00:00", "2017-02-31 10:00:00,5")
	f.Add("2016-12-31T23:59:59Z", "2017-01-01T00:00:00.000001Z")
	f.Add("2017-05-16 10:00:00+02:00", "2017-05-16 10:00:00")
	f.Fuzz(func(t *testing.T, a, b string) {
		var day dayCache
		for _, s := range []string{a, b, a} {
			want, wn, wok := parseISO([]byte(s), time.UTC, nil)
			got, gn, gok := parseISO([]byte(s), time.UTC, &day)
			same := got == want              // UTC: the very same value
			if want.Location() != time.UTC { // a zone made per call: same instant and zone
				gz, go1 := got.Zone()
				wz, wo := want.Zone()
				same = got.Equal(want) && gz == wz && go1 == wo
			}
			if !same || gn != wn || gok != wok {
				t.Fatalf("%q: cached %v %d %v, want %v %d %v", s, got, gn, gok, want, wn, wok)
			}
		}
	})
}

// Resource ids at the very end of a message, or cut short there.
func TestExtractResourcesAtEnd(t *testing.T) {
	const id = "b9000564-fe1a-409b-b8cc-1e88b294cd1d"
	tests := []struct {
		msg, inst, vol string
	}{
		{"Terminating instance " + id, id, ""},
		{"Terminating instance " + id[:35], "", ""},
		{"instance " + id, id, ""},
		{"GET /v2/p/servers/" + id, id, ""},
		{"Attaching volume " + id, "", id},
		{"Attaching volume " + id[:35], "", ""},
		{"olume " + id, "", ""},
		{"instance x then instance " + id, "", ""}, // only the first marker counts
	}
	for _, tt := range tests {
		r := Record{Message: []byte(tt.msg)}
		extractResources(&r)
		if string(r.Instance) != tt.inst || string(r.Volume) != tt.vol {
			t.Errorf("%q: instance %q volume %q, want %q %q", tt.msg, r.Instance, r.Volume, tt.inst, tt.vol)
		}
	}
}
