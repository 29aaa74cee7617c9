package matcher

import (
	"bytes"
	"strings"
)

// finder finds the first occurrence of a fixed string, as bytes.Index
// does, by scanning for the string's least common byte (by a static
// estimate of byte frequencies in log text) with bytes.IndexByte and
// comparing the string around each hit. A needle starting with a common
// byte ("instance ") then costs few false starts.
type finder struct {
	needle []byte
	anchor byte
	off    int // the anchor's offset in needle
}

func newFinder(s string) finder {
	f := finder{needle: []byte(s)}
	for i := 0; i < len(s); i++ {
		if byteRank[s[i]] < byteRank[s[f.off]] {
			f.off = i
		}
	}
	if len(s) > 0 {
		f.anchor = s[f.off]
	}
	return f
}

// index returns the index of the first occurrence of the needle in m, or -1.
func (f *finder) index(m []byte) int {
	n := len(f.needle)
	if n == 0 {
		return 0
	}
	for p := 0; p+n <= len(m); p++ {
		// The anchor of a candidate starting in [p, len(m)-n].
		i := bytes.IndexByte(m[p+f.off:len(m)-n+f.off+1], f.anchor)
		if i < 0 {
			return -1
		}
		p += i
		if string(m[p:p+n]) == string(f.needle) {
			return p
		}
	}
	return -1
}

func (f *finder) contains(m []byte) bool { return f.index(m) >= 0 }

// byteRank estimates how common a byte is in log lines (higher is more
// common): spaces, digits and hex letters of ids and addresses,
// separators, then lower-case letters by English frequency; upper-case
// letters and the rest are rare. It only steers the choice of anchor.
var byteRank = func() (r [256]uint8) {
	for i := range r {
		r[i] = 1
	}
	for c := 'A'; c <= 'Z'; c++ {
		r[c] = 2
	}
	for _, c := range "jqxz" {
		r[c] = 2
	}
	for _, c := range "kv" {
		r[c] = 3
	}
	for _, c := range "gmpuwy" {
		r[c] = 4
	}
	for _, c := range "\"'(),;[]" {
		r[c] = 5
	}
	for _, c := range "hilnorst" {
		r[c] = 6
	}
	for _, c := range "-./:=_" {
		r[c] = 7
	}
	for _, c := range "0123456789abcdef" {
		r[c] = 8
	}
	r[' '] = 9
	return r
}()

// minGuard is the shortest common substring worth a guarding scan.
const minGuard = 4

// commonSubstring returns the longest string contained in every one of ss
// (the first found of that length in ss[0]), or "".
func commonSubstring(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	a := ss[0]
	for n := len(a); n > 0; n-- {
		for i := 0; i+n <= len(a); i++ {
			sub, all := a[i:i+n], true
			for _, s := range ss[1:] {
				if !strings.Contains(s, sub) {
					all = false
					break
				}
			}
			if all {
				return sub
			}
		}
	}
	return ""
}
