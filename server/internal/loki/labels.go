package loki

import (
	"errors"
	"sort"
	"strconv"
	"strings"
)

// ErrBadLabels is returned for a malformed label string.
var ErrBadLabels = errors.New("loki: malformed labels")

// ParseLabels parses a Prometheus-style label set, {a="b", c="d"}. Values
// use Go string escapes (\" \\ \n \t \xNN and the rest). A name may appear
// once. "{}" is the empty set.
func ParseLabels(s string) (map[string]string, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil, ErrBadLabels
	}
	body := s[1 : len(s)-1]
	out := make(map[string]string)
	i := skipSpace(body, 0)
	for i < len(body) {
		start := i
		for i < len(body) && isNameByte(body[i], i == start) {
			i++
		}
		if i == start {
			return nil, ErrBadLabels
		}
		name := body[start:i]
		i = skipSpace(body, i)
		if i >= len(body) || body[i] != '=' {
			return nil, ErrBadLabels
		}
		i = skipSpace(body, i+1)
		if i >= len(body) || body[i] != '"' {
			return nil, ErrBadLabels
		}
		end := closingQuote(body, i)
		if end < 0 {
			return nil, ErrBadLabels
		}
		value, err := strconv.Unquote(body[i : end+1])
		if err != nil {
			return nil, ErrBadLabels
		}
		if _, dup := out[name]; dup {
			return nil, ErrBadLabels
		}
		out[name] = value
		i = skipSpace(body, end+1)
		if i < len(body) {
			if body[i] != ',' {
				return nil, ErrBadLabels
			}
			i = skipSpace(body, i+1)
		}
	}
	return out, nil
}

// FormatLabels writes labels in the form [ParseLabels] reads, names sorted.
func FormatLabels(labels map[string]string) string {
	names := make([]string, 0, len(labels))
	for n := range labels {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(n)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(labels[n]))
	}
	b.WriteByte('}')
	return b.String()
}

// ValidLabelName reports whether s is a label name: [a-zA-Z_][a-zA-Z0-9_]*.
func ValidLabelName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i], i == 0) {
			return false
		}
	}
	return true
}

func isNameByte(c byte, first bool) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || !first && c >= '0' && c <= '9'
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// closingQuote returns the index of the quote closing the string opened at
// s[open], or -1.
func closingQuote(s string, open int) int {
	for i := open + 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}
