package server

import (
	"bufio"
	"bytes"
	"os"
	"testing"
)

func TestExtractToken(t *testing.T) {
	const hdr = "<86>1 2026-11-22T04:00:00Z vm-a sshd 4242 - "
	for _, c := range []struct {
		name, in, token, rest string
		ok                    bool
	}{
		{"only element", hdr + `[hisoka@32473 token="abc"] msg`, "abc", hdr + "- msg", true},
		{"first of two", hdr + `[hisoka token="abc"][x a="1"] msg`, "abc", hdr + `[x a="1"] msg`, true},
		{"last of two", hdr + `[x a="1"][hisoka token="abc"] msg`, "abc", hdr + `[x a="1"] msg`, true},
		{"escapes", hdr + `[hisoka token="a\"b\\c\]d"] msg`, `a"b\c]d`, hdr + "- msg", true},
		{"no message", hdr + `[hisoka token="abc"]`, "abc", hdr + "-", true},
		{"other param only", hdr + `[hisoka other="abc"] msg`, "", hdr + `[hisoka other="abc"] msg`, false},
		{"empty token", hdr + `[hisoka token=""] msg`, "", hdr + `[hisoka token=""] msg`, false},
		{"lookalike id", hdr + `[hisokax token="abc"] msg`, "", hdr + `[hisokax token="abc"] msg`, false},
		{"nil SD", hdr + `- msg [hisoka token="abc"]`, "", hdr + `- msg [hisoka token="abc"]`, false},
		{"unterminated value", hdr + `[hisoka token="abc] msg`, "", hdr + `[hisoka token="abc] msg`, false},
		{"unclosed element", hdr + `[hisoka token="abc"`, "", hdr + `[hisoka token="abc"`, false},
		{"RFC 3164", `<13>May 16 10:00:00 host sshd[1]: [hisoka token="abc"]`, "", `<13>May 16 10:00:00 host sshd[1]: [hisoka token="abc"]`, false},
		{"not syslog", `token="abc"`, "", `token="abc"`, false},
		{"empty", "", "", "", false},
	} {
		tok, rest, ok := ExtractToken([]byte(c.in))
		if tok != c.token || string(rest) != c.rest || ok != c.ok {
			t.Errorf("%s: got (%q, %q, %v), want (%q, %q, %v)", c.name, tok, rest, ok, c.token, c.rest, c.ok)
		}
	}
}

// FuzzExtractToken: no panic; when no token is found the message comes back
// unchanged; when one is found its element is cut from the rest.
func FuzzExtractToken(f *testing.F) {
	fh, err := os.Open("testdata/syslog-token.txt")
	if err != nil {
		f.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		f.Add(append([]byte(nil), sc.Bytes()...))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		in := append([]byte(nil), msg...)
		tok, rest, ok := ExtractToken(msg)
		if !bytes.Equal(msg, in) {
			t.Fatal("input modified")
		}
		if !ok {
			if tok != "" || !bytes.Equal(rest, msg) {
				t.Fatalf("no token but (%q, %q)", tok, rest)
			}
			return
		}
		// The element (at least `[hisoka token="x"]`, 18 bytes) is gone;
		// "-" may take its place.
		if tok == "" || len(rest) > len(msg)-17 || bytes.Equal(rest, msg) {
			t.Fatalf("token %q rest %q", tok, rest)
		}
	})
}
