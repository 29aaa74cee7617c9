package store

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxTermLen bounds an indexed term; longer words are cut to it.
const MaxTermLen = 64

// asciiTerm marks the ASCII bytes that belong to terms.
var asciiTerm = func() (t [utf8.RuneSelf]bool) {
	for c := 0; c < utf8.RuneSelf; c++ {
		t[c] = ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || c == '_' || c == '-' || c == '.'
	}
	return t
}()

func termRune(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiTerm[r]
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// trimDots removes leading and trailing '.' and '-'.
func trimDots(w string) string {
	for len(w) > 0 && (w[0] == '.' || w[0] == '-') {
		w = w[1:]
	}
	for len(w) > 0 && (w[len(w)-1] == '.' || w[len(w)-1] == '-') {
		w = w[:len(w)-1]
	}
	return w
}

// Terms splits a line into its search terms: maximal runs of letters, digits,
// '_', '-' and '.', with leading and trailing '.' and '-' removed, lower-cased,
// cut to MaxTermLen bytes. A query term matches a record when every term of
// the query term occurs among the terms of the line. fn is called for each
// term in order (duplicates included).
func Terms(line string, fn func(term string)) {
	var scratch [MaxTermLen + utf8.UTFMax]byte
	TermBytes(line, scratch[:0], func(t []byte) { fn(string(t)) })
}

// TermBytes is Terms without allocation: fn gets each term in a buffer
// (scratch, or one it grew) that is valid only during the call.
func TermBytes(line string, scratch []byte, fn func(term []byte)) {
	for i := 0; i < len(line); {
		if c := line[i]; c < utf8.RuneSelf && !asciiTerm[c] {
			i++ // separator
			continue
		}
		start := i
		for i < len(line) {
			c := line[i]
			if c < utf8.RuneSelf {
				if !asciiTerm[c] {
					break
				}
				i++
				continue
			}
			r, size := utf8.DecodeRuneInString(line[i:])
			if !termRune(r) {
				break
			}
			i += size
		}
		if i > start {
			emitTerm(line[start:i], scratch, fn)
			continue
		}
		_, size := utf8.DecodeRuneInString(line[i:]) // a rune outside terms
		i += size
	}
}

// emitTerm trims, lower-cases and cuts the word w and passes it to fn.
func emitTerm(w string, scratch []byte, fn func(term []byte)) {
	w = trimDots(w)
	if w == "" {
		return
	}
	// Common case: the kept prefix is ASCII, lower-cased byte by byte (the
	// same as strings.ToLower, which maps rune by rune).
	b := append(scratch[:0], w[:min(len(w), MaxTermLen)]...)
	ascii := true
	for i, c := range b {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	if ascii {
		fn(b)
		return
	}
	b = b[:0]
	for _, r := range strings.ToLower(w) {
		b = utf8.AppendRune(b, r)
	}
	if len(b) > MaxTermLen {
		b = b[:MaxTermLen]
		for !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
	}
	fn(b)
}

// SplitTerms returns the terms of s as a slice.
func SplitTerms(s string) []string {
	var out []string
	Terms(s, func(t string) { out = append(out, t) })
	return out
}
