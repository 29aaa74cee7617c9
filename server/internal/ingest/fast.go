package ingest

import (
	"bytes"
	"time"
	"unicode/utf8"
)

// decodeRecordFast decodes the common shape of an NDJSON record without
// encoding/json: one flat object whose strings hold no escapes, whose
// labels are an object of such strings, and whose other values are such
// strings, numbers, true, false or null. For anything else it reports
// ok=false and the caller uses encoding/json, which stays the reference:
// FuzzFastRecord checks that both agree wherever the fast path answers.
func decodeRecordFast(b []byte, def Format) (r Record, ok bool, err error) {
	p := scanner{b: b}
	p.ws()
	if !p.eat('{') {
		return Record{}, false, nil
	}
	var line, message, log, rawTime, rawTimestamp []byte
	var haveLine, haveMessage, haveLog bool
	var source, host, format []byte
	var labels map[string]string
	seen := 0
	p.ws()
	if !p.eat('}') {
		for {
			p.ws()
			key, ok := p.str()
			if !ok {
				return Record{}, false, nil
			}
			p.ws()
			if !p.eat(':') {
				return Record{}, false, nil
			}
			p.ws()
			bit := 0
			switch string(key) {
			case "line":
				bit = 1
				line, haveLine, ok = p.strOrNull()
			case "message":
				bit = 2
				message, haveMessage, ok = p.strOrNull()
			case "log":
				bit = 4
				log, haveLog, ok = p.strOrNull()
			case "time":
				bit = 8
				rawTime, ok = p.scalar()
			case "timestamp":
				bit = 16
				rawTimestamp, ok = p.scalar()
			case "source":
				bit = 32
				source, _, ok = p.strOrNull()
			case "host":
				bit = 64
				host, _, ok = p.strOrNull()
			case "format":
				bit = 128
				format, _, ok = p.strOrNull()
			case "labels":
				bit = 256
				labels, ok = p.labels()
			default:
				// encoding/json matches keys case-insensitively; leave
				// such keys to it.
				for _, k := range []string{"line", "message", "log", "time", "timestamp", "source", "host", "format", "labels"} {
					if bytes.EqualFold(key, []byte(k)) {
						return Record{}, false, nil
					}
				}
				_, ok = p.scalar()
			}
			if !ok || seen&bit != 0 {
				return Record{}, false, nil // unusual value, or a repeated key
			}
			seen |= bit
			p.ws()
			if p.eat(',') {
				continue
			}
			if p.eat('}') {
				break
			}
			return Record{}, false, nil
		}
	}
	p.ws()
	if p.i != len(p.b) {
		return Record{}, false, nil
	}
	r = Record{Source: string(source), Labels: labels, Format: def}
	if r.Source == "" {
		r.Source = string(host)
	}
	switch {
	case haveLine:
		r.Line = string(line)
	case haveMessage:
		r.Line = string(message)
	case haveLog:
		r.Line = string(log)
	}
	if r.Line == "" {
		return Record{}, true, ErrMissingLine
	}
	if len(format) > 0 {
		f, err := ParseFormat(string(format))
		if err != nil {
			return Record{}, true, err
		}
		r.Format = f
	}
	ts := rawTime
	if len(ts) == 0 {
		ts = rawTimestamp
	}
	if len(ts) > 0 && string(ts) != "null" {
		var t time.Time
		if ts[0] == '"' {
			if t, err = time.Parse(time.RFC3339Nano, string(ts[1:len(ts)-1])); err != nil {
				return Record{}, true, ErrBadTime
			}
		} else if t, err = parseTime(ts); err != nil {
			return Record{}, true, err
		}
		r.Time = t
	}
	return r, true, nil
}

type scanner struct {
	b []byte
	i int
}

func (p *scanner) ws() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\r' || p.b[p.i] == '\n') {
		p.i++
	}
}

func (p *scanner) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a string with no escapes, no control characters and valid
// UTF-8, returning its contents.
func (p *scanner) str() ([]byte, bool) {
	if !p.eat('"') {
		return nil, false
	}
	start := p.i
	ascii := true
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= 0x80:
			ascii = false
		}
		p.i++
	}
	return nil, false
}

func (p *scanner) literal(s string) bool {
	if bytes.HasPrefix(p.b[p.i:], []byte(s)) {
		p.i += len(s)
		return true
	}
	return false
}

// strOrNull reads a string (present=true) or null.
func (p *scanner) strOrNull() (s []byte, present, ok bool) {
	if p.literal("null") {
		return nil, false, true
	}
	s, ok = p.str()
	return s, ok, ok
}

// scalar reads a simple string, number, true, false or null and returns
// its raw bytes.
func (p *scanner) scalar() ([]byte, bool) {
	start := p.i
	if p.i >= len(p.b) {
		return nil, false
	}
	switch c := p.b[p.i]; {
	case c == '"':
		if _, ok := p.str(); !ok {
			return nil, false
		}
	case c == 't':
		if !p.literal("true") {
			return nil, false
		}
	case c == 'f':
		if !p.literal("false") {
			return nil, false
		}
	case c == 'n':
		if !p.literal("null") {
			return nil, false
		}
	case c == '-' || c >= '0' && c <= '9':
		if !p.number() {
			return nil, false
		}
	default:
		return nil, false
	}
	return p.b[start:p.i], true
}

// number reads a JSON number (RFC 8259 section 6).
func (p *scanner) number() bool {
	p.eat('-')
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.eat('0') {
		// no further integer digits allowed
	} else if digits() == 0 {
		return false
	}
	if p.eat('.') && digits() == 0 {
		return false
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if !p.eat('+') {
			p.eat('-')
		}
		if digits() == 0 {
			return false
		}
	}
	return true
}

// labels reads null or an object of simple strings.
func (p *scanner) labels() (map[string]string, bool) {
	if p.literal("null") {
		return nil, true
	}
	if !p.eat('{') {
		return nil, false
	}
	m := map[string]string{}
	p.ws()
	if p.eat('}') {
		return m, true
	}
	for {
		p.ws()
		k, ok := p.str()
		if !ok {
			return nil, false
		}
		p.ws()
		if !p.eat(':') {
			return nil, false
		}
		p.ws()
		v, ok := p.str()
		if !ok {
			return nil, false
		}
		if _, dup := m[string(k)]; dup {
			return nil, false
		}
		m[string(k)] = string(v)
		p.ws()
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			return m, true
		}
		return nil, false
	}
}
