package matcher

import (
	"bytes"
	"errors"
	"strings"
	"time"
)

// Errors returned by [Parser.Parse].
var (
	ErrEmpty        = errors.New("matcher: empty line")
	ErrUnrecognised = errors.New("matcher: unrecognised line format")
)

// Parser parses log lines, detecting the format of each line on its own, so
// files from several services may be concatenated or merged. It keeps the
// time of the last dated line to place year-less stamps; it is not safe for
// concurrent use (use one per stream).
type Parser struct {
	// Reference places year-less RFC 3164 stamps: the year is the
	// reference's, or the one before when that would put the stamp more
	// than a week after the reference. When zero, the time of the last line
	// this parser read takes its place (and a stamp that would jump back
	// more than 300 days moves to the next year, for logs crossing new year).
	Reference time.Time
	// Location is the zone of stamps that carry no offset; nil means UTC.
	Location *time.Location

	last time.Time
	day  dayCache
}

// dayCache keeps the UTC midnight of the last date parsed: lines of a day
// then cost an addition instead of a calendar computation (the same
// instant and representation, as UTC time arithmetic is linear).
type dayCache struct {
	y, mo, d int
	midnight time.Time
	ok       bool
}

func (p *Parser) parseISO(b []byte) (time.Time, int, bool) {
	return parseISO(b, p.loc(), &p.day)
}

// Parse parses one line (an end of line, LF or CRLF, is ignored). On error
// the returned record is the zero Record; use [Parser.ParseOrRaw] to keep
// an unparseable line as a [FormatUnparsed] record.
func (p *Parser) Parse(line []byte) (Record, error) {
	line = trimEOL(line)
	if len(line) == 0 || (line[0] == ' ' || line[0] == '\t') && len(bytes.TrimSpace(line)) == 0 {
		return Record{}, ErrEmpty
	}
	var r Record
	r.Line = line
	ok := false
	switch {
	case line[0] == '<':
		ok = p.parseSyslog(&r, line)
	case isMonth(line):
		ok = p.parse3164(&r, line, line)
	default:
		ok = p.parseTimed(&r, line)
		if !ok {
			// A file-name prefix: "nova-api.log.1.2017-05-16_13:53:08 2017-...".
			if sp := bytes.IndexByte(line, ' '); sp > 0 && sp+1 < len(line) {
				var r2 Record
				r2.Line = line
				if p.parseTimed(&r2, line[sp+1:]) && r2.Format == FormatOslo {
					r2.Source = line[:sp]
					r, ok = r2, true
				}
			}
		}
	}
	if !ok {
		return Record{}, ErrUnrecognised
	}
	if !r.Time.IsZero() {
		p.last = r.Time
	}
	extractResources(&r)
	return r, nil
}

// ParseOrRaw is Parse that keeps an unparseable, non-empty line as a record
// of format [FormatUnparsed] whose Message is the whole line, so that it can
// be counted and reported rather than dropped. ok is false for such lines.
func (p *Parser) ParseOrRaw(line []byte) (r Record, ok bool) {
	r, err := p.Parse(line)
	if err == nil {
		return r, true
	}
	line = trimEOL(line)
	return Record{Format: FormatUnparsed, Line: line, Message: line}, false
}

func trimEOL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func (p *Parser) loc() *time.Location {
	if p.Location != nil {
		return p.Location
	}
	return time.UTC
}

// parseTimed parses "TIME [PID] [LEVEL] name [path] [req-id] [[context]] message",
// which covers oslo.log default and devstack formats and the generic
// "time component message" fallback.
func (p *Parser) parseTimed(r *Record, b []byte) bool {
	t, n, ok := p.parseISO(b)
	if !ok {
		return false
	}
	r.Time = t
	rest := skipSpaces(b[n:])
	if len(rest) == 0 {
		return false
	}
	return parseOsloBody(r, rest, true)
}

// parseOsloBody parses what follows the time stamp. requireName is false for
// a syslog message whose program already names the component.
func parseOsloBody(r *Record, rest []byte, requireName bool) bool {
	tok, after := nextToken(rest)
	sawPID, sawCtx := false, false
	if pid, ok := atoiAll(tok); ok {
		r.PID, sawPID = pid, true
		rest = after
		tok, after = nextToken(rest)
	}
	if isLevel(tok) {
		r.Level = tok
		rest = after
		tok, after = nextToken(rest)
	}
	if len(tok) == 0 || !isName(tok) {
		if requireName {
			return false
		}
	} else {
		r.Component = trimColon(tok)
		rest = after
	}
	// devstack: optional source path and bare request id before the context.
	for i := 0; i < 3 && len(rest) > 0 && (rest[0] == '/' || rest[0] == 'r'); i++ {
		tok, after = nextToken(rest)
		switch {
		case len(tok) > 1 && tok[0] == '/' && !bytes.ContainsAny(tok, "[]"):
			rest = after
		case bytes.HasPrefix(tok, []byte("req-")):
			r.RequestID = tok
			rest = after
		default:
			i = 3
		}
	}
	if len(rest) > 0 && rest[0] == '[' {
		if end := bytes.IndexByte(rest, ']'); end > 0 {
			parseContext(r, rest[1:end])
			sawCtx = true
			rest = skipSpaces(rest[end+1:])
		}
	}
	r.Message = rest
	if sawCtx || (sawPID && len(r.Level) > 0) {
		r.Format = FormatOslo
	} else {
		r.Format = FormatGeneric
	}
	if len(r.Component) == 0 && requireName {
		return false
	}
	return true
}

// parseContext reads "req-id user project domain user_domain project_domain"
// ("-" or "None" for empty parts) or "-".
func parseContext(r *Record, c []byte) {
	field := 0
	for len(c) > 0 {
		var tok []byte
		tok, c = nextToken(c)
		if len(tok) == 0 {
			break
		}
		if field == 0 && !bytes.HasPrefix(tok, []byte("req-")) {
			if string(tok) == "-" || string(tok) == "None" {
				field++
				continue
			}
			return
		}
		empty := string(tok) == "-" || string(tok) == "None"
		switch field {
		case 0:
			r.RequestID = tok
		case 1:
			if !empty {
				r.UserID = tok
			}
		case 2:
			if !empty {
				r.ProjectID = tok
			}
			return // the domain parts that follow are not kept
		}
		field++
	}
}

// extractResources fills Instance, Volume and Addr from the message.
func extractResources(r *Record) {
	m := r.Message
	if bytes.HasPrefix(m, []byte("[instance: ")) {
		if end := bytes.IndexByte(m, ']'); end > 11 {
			r.Instance = m[11:end]
		}
	}
	if r.Instance == nil {
		r.Instance = uuidAfter(m, &findInstance)
	}
	if r.Instance == nil {
		r.Instance = uuidAfter(m, &findServers)
	}
	// (An occurrence without 36 bytes after it yields nothing, so the
	// searches here and in uuidAfter stop short of the last 36 bytes.)
	if i := findVolume.index(m[:max(len(m)-36, 0)]); i > 0 && (m[i-1] == 'v' || m[i-1] == 'V') {
		u := m[i+6:]
		if len(u) >= 36 && isUUID(u[:36]) {
			r.Volume = u[:36]
		}
	}
	r.Addr = findIPv4(m)
}

// Markers extractResources looks for (read-only).
var (
	findInstance = newFinder("instance ")
	findServers  = newFinder("/servers/")
	findVolume   = newFinder("olume ")
)

// uuidAfter returns the UUID right after the first occurrence of marker.
func uuidAfter(m []byte, marker *finder) []byte {
	i := marker.index(m[:max(len(m)-36, 0)])
	if i < 0 {
		return nil
	}
	u := m[i+len(marker.needle):]
	if len(u) >= 36 && isUUID(u[:36]) && (len(u) == 36 || !isHex(u[36])) {
		return u[:36]
	}
	return nil
}

// parseSyslog handles lines starting with "<PRI>".
func (p *Parser) parseSyslog(r *Record, line []byte) bool {
	end := bytes.IndexByte(line, '>')
	if end < 2 || end > 4 {
		return false
	}
	pri, ok := atoiAll(line[1:end])
	if !ok || pri > 191 {
		return false
	}
	rest := line[end+1:]
	if len(rest) > 2 && rest[0] >= '1' && rest[0] <= '9' && rest[1] == ' ' {
		return p.parse5424(r, rest[2:], pri)
	}
	r.Level = severityName(pri & 7)
	return p.parse3164(r, line, rest)
}

func severityName(s int) []byte {
	names := [...]string{"EMERG", "ALERT", "CRITICAL", "ERROR", "WARNING", "NOTICE", "INFO", "DEBUG"}
	return []byte(names[s&7])
}

// parse5424 parses "TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG]".
func (p *Parser) parse5424(r *Record, b []byte, pri int) bool {
	r.Format = FormatRFC5424
	r.Level = severityName(pri & 7)
	var fields [5][]byte
	for i := range fields {
		var tok []byte
		if len(b) == 0 || b[0] == ' ' {
			return false
		}
		sp := bytes.IndexByte(b, ' ')
		if sp < 0 {
			if i < 4 {
				return false
			}
			tok, b = b, nil
		} else {
			tok, b = b[:sp], b[sp+1:]
		}
		fields[i] = tok
	}
	if string(fields[0]) != "-" {
		t, n, ok := p.parseISO(fields[0])
		if !ok || n != len(fields[0]) {
			return false
		}
		r.Time = t
	}
	nilv := func(f []byte) []byte {
		if string(f) == "-" {
			return nil
		}
		return f
	}
	r.Host, r.Component = nilv(fields[1]), nilv(fields[2])
	if pid, ok := atoiAll(fields[3]); ok {
		r.PID = pid
	}
	// Structured data.
	if len(b) == 0 {
		return false
	}
	if b[0] == '-' {
		b = b[1:]
	} else {
		n, ok := skipSD(b)
		if !ok {
			return false
		}
		b = b[n:]
	}
	if len(b) > 0 {
		if b[0] != ' ' {
			return false
		}
		b = b[1:]
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	r.Message = b
	p.unwrapOslo(r)
	return true
}

// skipSD returns the length of one or more SD-ELEMENTs "[id k="v" ...]".
func skipSD(b []byte) (int, bool) {
	i := 0
	for i < len(b) && b[i] == '[' {
		i++
		inq := false
		closed := false
		for i < len(b) {
			c := b[i]
			switch {
			case inq && c == '\\':
				i++
			case c == '"':
				inq = !inq
			case !inq && c == ']':
				closed = true
			}
			i++
			if closed {
				break
			}
		}
		if !closed {
			return 0, false
		}
	}
	return i, i > 0
}

// parse3164 parses "Mmm dd hh:mm:ss host tag[pid]: msg" (host optional) or
// the same with an RFC 3339 stamp, as rsyslog writes it.
func (p *Parser) parse3164(r *Record, line, b []byte) bool {
	r.Format = FormatRFC3164
	if isMonth(b) {
		t, n, ok := p.parseStamp3164(b)
		if !ok {
			return false
		}
		r.Time = t
		b = b[n:]
	} else {
		t, n, ok := p.parseISO(b)
		if !ok {
			return false
		}
		r.Time = t
		b = b[n:]
	}
	b = skipSpaces(b)
	tok, after := nextToken(b)
	if len(tok) == 0 {
		return false
	}
	if !isTag(tok) {
		r.Host = tok
		b = after
		tok, after = nextToken(b)
	}
	if isTag(tok) {
		t := tok[:len(tok)-1]
		if i := bytes.IndexByte(t, '['); i > 0 && t[len(t)-1] == ']' {
			if pid, ok := atoiAll(t[i+1 : len(t)-1]); ok {
				r.PID = pid
			}
			t = t[:i]
		}
		r.Component = t
		b = after
	}
	r.Message = b
	p.unwrapOslo(r)
	return true
}

// unwrapOslo looks for an oslo.log line inside a syslog message: with its
// own time stamp, or without one as oslo's syslog handler writes it.
func (p *Parser) unwrapOslo(r *Record) {
	m := r.Message
	if len(m) < 8 {
		return
	}
	var in Record
	if t, n, ok := p.parseISO(m); ok {
		if parseOsloBody(&in, skipSpaces(m[n:]), true) && in.Format == FormatOslo {
			in.Time = t
		} else {
			return
		}
	} else if parseOsloBody(&in, m, false) && in.Format == FormatOslo && len(in.Level) > 0 {
	} else {
		return
	}
	r.Wrapped = true
	r.Format = FormatOslo
	if !in.Time.IsZero() {
		r.Time = in.Time
	}
	if in.PID != 0 {
		r.PID = in.PID
	}
	r.Level = in.Level
	if len(in.Component) > 0 {
		r.Component = in.Component
	}
	r.RequestID, r.UserID, r.ProjectID = in.RequestID, in.UserID, in.ProjectID
	r.Message = in.Message
}

var months = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

func isMonth(b []byte) bool { return monthOf(b) > 0 }

func monthOf(b []byte) time.Month {
	if len(b) < 4 || b[3] != ' ' {
		return 0
	}
	for i, m := range months {
		if b[0] == m[0] && b[1] == m[1] && b[2] == m[2] {
			return time.Month(i + 1)
		}
	}
	return 0
}

// parseStamp3164 parses "Mmm dd hh:mm:ss" (day space- or zero-padded) and
// places it in a year, as documented on [Parser.Reference].
func (p *Parser) parseStamp3164(b []byte) (time.Time, int, bool) {
	if len(b) < 15 {
		return time.Time{}, 0, false
	}
	mon := monthOf(b)
	d1, d2 := b[4], b[5]
	if d1 == ' ' {
		d1 = '0'
	}
	if !isDigit(d1) || !isDigit(d2) || b[6] != ' ' {
		return time.Time{}, 0, false
	}
	day := int(d1-'0')*10 + int(d2-'0')
	hh, ok1 := two(b[7:9])
	mm, ok2 := two(b[10:12])
	ss, ok3 := two(b[13:15])
	if !ok1 || !ok2 || !ok3 || b[9] != ':' || b[12] != ':' || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, 0, false
	}
	n := 15
	nsec := 0
	if n < len(b) && b[n] == '.' {
		f, k := frac(b[n+1:])
		nsec, n = f, n+1+k
	}
	ref := p.Reference
	fromLast := false
	if ref.IsZero() {
		ref, fromLast = p.last, true
	}
	year := ref.Year()
	if ref.IsZero() {
		year = 1970
	}
	t := time.Date(year, mon, day, hh, mm, ss, nsec, p.loc())
	if !ref.IsZero() {
		if t.After(ref.Add(7 * 24 * time.Hour)) {
			t = time.Date(year-1, mon, day, hh, mm, ss, nsec, p.loc())
		} else if fromLast && t.Before(ref.Add(-300*24*time.Hour)) {
			t = time.Date(year+1, mon, day, hh, mm, ss, nsec, p.loc())
		}
	}
	return t, n, true
}

// parseISO parses "YYYY-MM-DD[ T]HH:MM:SS[.,frac][Z|±HH:MM|±HHMM]" at the
// start of b, returning the number of bytes used. day, when not nil,
// caches the last UTC date.
func parseISO(b []byte, loc *time.Location, day *dayCache) (time.Time, int, bool) {
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || (b[10] != ' ' && b[10] != 'T') || b[13] != ':' || b[16] != ':' {
		return time.Time{}, 0, false
	}
	y1, ok1 := two(b[0:2])
	y2, ok2 := two(b[2:4])
	mo, ok3 := two(b[5:7])
	d, ok4 := two(b[8:10])
	hh, ok5 := two(b[11:13])
	mm, ok6 := two(b[14:16])
	ss, ok7 := two(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) || mo < 1 || mo > 12 || d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, 0, false
	}
	n := 19
	nsec := 0
	if n < len(b) && (b[n] == '.' || b[n] == ',') {
		f, k := frac(b[n+1:])
		if k == 0 {
			return time.Time{}, 0, false
		}
		nsec, n = f, n+1+k
	}
	if n < len(b) {
		switch b[n] {
		case 'Z':
			loc = time.UTC
			n++
		case '+', '-':
			if n+3 <= len(b) {
				oh, okh := two(b[n+1 : n+3])
				om, k := 0, 3
				okm := true
				if n+6 <= len(b) && b[n+3] == ':' {
					om, okm = two(b[n+4 : n+6])
					k = 6
				} else if n+5 <= len(b) && isDigit(b[n+3]) {
					om, okm = two(b[n+3 : n+5])
					k = 5
				}
				if okh && okm && oh < 24 && om < 60 {
					off := (oh*60 + om) * 60
					if b[n] == '-' {
						off = -off
					}
					loc = fixedZone(off)
					n += k
				}
			}
		}
	}
	y := y1*100 + y2
	if day != nil && loc == time.UTC {
		if !day.ok || day.y != y || day.mo != mo || day.d != d {
			*day = dayCache{y: y, mo: mo, d: d, midnight: time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC), ok: true}
		}
		clock := time.Duration(hh*3600+mm*60+ss)*time.Second + time.Duration(nsec)
		return day.midnight.Add(clock), n, true
	}
	t := time.Date(y, time.Month(mo), d, hh, mm, ss, nsec, loc)
	return t, n, true
}

// fixedZone avoids allocating a zone for the common UTC offset.
func fixedZone(off int) *time.Location {
	if off == 0 {
		return time.UTC
	}
	return time.FixedZone("", off)
}

func frac(b []byte) (nsec, n int) {
	scale := 100000000
	for n < len(b) && isDigit(b[n]) {
		if scale > 0 {
			nsec += int(b[n]-'0') * scale
			scale /= 10
		}
		n++
	}
	return nsec, n
}

func two(b []byte) (int, bool) {
	if !isDigit(b[0]) || !isDigit(b[1]) {
		return 0, false
	}
	return int(b[0]-'0')*10 + int(b[1]-'0'), true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func atoiAll(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func skipSpaces(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

// nextToken splits off the first space-separated token.
func nextToken(b []byte) (tok, rest []byte) {
	b = skipSpaces(b)
	i := bytes.IndexByte(b, ' ')
	if i < 0 {
		return b, nil
	}
	return b[:i], skipSpaces(b[i+1:])
}

func isLevel(b []byte) bool {
	switch string(b) {
	case "DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL", "TRACE", "AUDIT", "FATAL", "NOTICE":
		return true
	}
	return false
}

// isName accepts logger and program names: letters, digits, ".-_/" and an
// optional trailing ":" (generic format).
func isName(b []byte) bool {
	b = trimColon(b)
	if len(b) == 0 || !isAlpha(b[0]) {
		return false
	}
	for _, c := range b {
		if !nameByte[c] {
			return false
		}
	}
	return true
}

// nameByte holds the bytes isName accepts.
var nameByte = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = isAlpha(byte(c)) || isDigit(byte(c)) || strings.IndexByte(".-_/[]", byte(c)) >= 0
	}
	return t
}()

func trimColon(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == ':' {
		return b[:len(b)-1]
	}
	return b
}

func isAlpha(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

// isTag reports whether tok is a syslog tag "prog:" or "prog[pid]:".
func isTag(tok []byte) bool {
	if len(tok) < 2 || tok[len(tok)-1] != ':' {
		return false
	}
	t := tok[:len(tok)-1]
	for _, c := range t {
		if c == ' ' || c == ':' {
			return false
		}
	}
	return isAlpha(t[0]) || t[0] == '(' || t[0] == '_'
}

func isHex(c byte) bool { return isDigit(c) || (c|0x20) >= 'a' && (c|0x20) <= 'f' }

func isUUID(b []byte) bool {
	if len(b) != 36 {
		return false
	}
	for i, c := range b {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHex(c) {
				return false
			}
		}
	}
	return true
}

// findIPv4 returns the first dotted-quad IPv4 address in m.
func findIPv4(m []byte) []byte {
	off := 0
	for {
		i := bytes.IndexByte(m[off:], '.')
		if i < 0 {
			return nil
		}
		d := off + i
		s := d
		for s > 0 && d-s < 3 && isDigit(m[s-1]) {
			s--
		}
		if s < d && (s == 0 || !(isAlpha(m[s-1]) || isDigit(m[s-1]) || m[s-1] == '.')) {
			if n := ipv4Len(m[s:]); n > 0 {
				return m[s : s+n]
			}
		}
		off = d + 1
	}
}

// ipv4Len returns the length of a dotted quad at the start of b, or 0.
func ipv4Len(b []byte) int {
	i := 0
	for part := 0; part < 4; part++ {
		if part > 0 {
			if i >= len(b) || b[i] != '.' {
				return 0
			}
			i++
		}
		v, k := 0, 0
		for i < len(b) && isDigit(b[i]) && k < 4 {
			v = v*10 + int(b[i]-'0')
			i++
			k++
		}
		if k == 0 || k > 3 || v > 255 {
			return 0
		}
	}
	if i < len(b) && (isDigit(b[i]) || isAlpha(b[i]) || (b[i] == '.' && i+1 < len(b) && isDigit(b[i+1]))) {
		return 0
	}
	return i
}
