package matcher

import (
	"bytes"
	"strings"
	"testing"
)

func TestFinder(t *testing.T) {
	tests := []struct {
		needle, text string
		want         int
	}{
		{"instance ", "[instance: 1] Terminating instance x", 26},
		{"instance ", "instances instance", -1},
		{"iptables -F", "ran iptables -F", 4},
		{"iptables -F", "iptables -X; iptables -F", 13},
		{"-F", "-F", 0},
		{"-F", "-", -1},
		{"olume ", "Volume olume ", 1},
		{"x", "", -1},
		{"", "abc", 0},
		{"Failed password", "Failed passwor", -1},
		{"aFa", "aFFaFa", 3},
	}
	for _, tt := range tests {
		f := newFinder(tt.needle)
		if got := f.index([]byte(tt.text)); got != tt.want {
			t.Errorf("index(%q in %q) = %d, want %d", tt.needle, tt.text, got, tt.want)
		}
		if got := bytes.Index([]byte(tt.text), []byte(tt.needle)); got != tt.want {
			t.Errorf("test table wrong for %q in %q: bytes.Index = %d", tt.needle, tt.text, got)
		}
	}
}

// FuzzFinder checks the finder against bytes.Index.
func FuzzFinder(f *testing.F) {
	f.Add("instance ", "2 [instance: b9000564-fe1a-409b-b8cc-1e88b294cd1d] Terminating instance")
	f.Add("/servers/", `10.11.10.1 "GET /v2/54fa/servers/detail HTTP/1.1" status: 200`)
	f.Add("iptables -F", "iptables -X iptables -F")
	f.Add("a", "")
	f.Fuzz(func(t *testing.T, needle, text string) {
		fd := newFinder(needle)
		if got, want := fd.index([]byte(text)), bytes.Index([]byte(text), []byte(needle)); got != want {
			t.Fatalf("index(%q in %q) = %d, want %d", needle, text, got, want)
		}
	})
}

func TestCommonSubstring(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{[]string{"iptables -F", "iptables --flush", "iptables-restore -n /dev/null"}, "iptables"},
		{[]string{"Failed password", "authentication failure", "Invalid user"}, "a"},
		{[]string{"abc"}, "abc"},
		{[]string{"abc", "xyz"}, ""},
		{nil, ""},
	}
	for _, tt := range tests {
		got := commonSubstring(tt.in)
		if got != tt.want {
			t.Errorf("commonSubstring(%q) = %q, want %q", tt.in, got, tt.want)
		}
		for _, s := range tt.in {
			if !strings.Contains(s, got) {
				t.Errorf("commonSubstring(%q) = %q, not in %q", tt.in, got, s)
			}
		}
	}
}
