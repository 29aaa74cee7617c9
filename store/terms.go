package store

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxTermLen bounds an indexed term; longer words are cut to it.
const MaxTermLen = 64

func termRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-' || r == '.'
}

// Terms splits a line into its search terms: maximal runs of letters, digits,
// '_', '-' and '.', with leading and trailing '.' and '-' removed, lower-cased,
// cut to MaxTermLen bytes. A query term matches a record when every term of
// the query term occurs among the terms of the line. fn is called for each
// term in order (duplicates included).
func Terms(line string, fn func(term string)) {
	start := -1
	flush := func(end int) {
		w := strings.Trim(line[start:end], ".-")
		start = -1
		if w == "" {
			return
		}
		if needsLower(w) {
			w = strings.ToLower(w)
		}
		if len(w) > MaxTermLen {
			w = w[:MaxTermLen]
			for !utf8.ValidString(w) {
				w = w[:len(w)-1]
			}
		}
		fn(w)
	}
	for i, r := range line {
		if termRune(r) {
			if start < 0 {
				start = i
			}
		} else if start >= 0 {
			flush(i)
		}
	}
	if start >= 0 {
		flush(len(line))
	}
}

func needsLower(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			return true
		}
	}
	return false
}

// SplitTerms returns the terms of s as a slice.
func SplitTerms(s string) []string {
	var out []string
	Terms(s, func(t string) { out = append(out, t) })
	return out
}
