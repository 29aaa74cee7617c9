package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/hisoka-project/hisoka/tenantclient"
)

func base64Decode(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

func TestParseSubscriptions(t *testing.T) {
	good, err := os.ReadFile("testdata/subscriptions.txt")
	if err != nil {
		t.Fatal(err)
	}
	subs, err := parseSubscriptions(bytes.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 3 || subs[2].Pattern != "nova.instance.live-migration" || len(subs[2].Params) != 2 || subs[2].Params[1].Value != "3" {
		t.Fatalf("%+v", subs)
	}
	for _, c := range []struct{ name, in string }{
		{"empty", ""},
		{"only comments", "# nothing\n\n"},
		{"pattern without resource", "vm.create\n"},
		{"parameter without =", "vm.create vm-1 zone\n"},
		{"parameter without a name", "vm.create vm-1 =x\n"},
		{"line too long", "vm.create " + strings.Repeat("x", maxSubscriptionLine) + "\n"},
	} {
		if subs, err := parseSubscriptions(strings.NewReader(c.in)); !errors.Is(err, errUsage) || subs != nil {
			t.Errorf("%s: %v %v", c.name, subs, err)
		}
	}
}

// FuzzParseSubscriptions: no panic, nil on error, every subscription has a
// pattern and a resource, and a reprinted file parses to the same.
func FuzzParseSubscriptions(f *testing.F) {
	good, err := os.ReadFile("testdata/subscriptions.txt")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte("a b c=d\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		subs, err := parseSubscriptions(bytes.NewReader(b))
		if err != nil {
			if subs != nil {
				t.Fatal("subscriptions with an error")
			}
			return
		}
		var re strings.Builder
		for _, s := range subs {
			if s.Pattern == "" || s.Resource == "" {
				t.Fatalf("%+v", s)
			}
			re.WriteString(s.Pattern + " " + s.Resource)
			for _, p := range s.Params {
				re.WriteString(" " + p.Name + "=" + p.Value)
			}
			re.WriteString("\n")
		}
		again, err := parseSubscriptions(strings.NewReader(re.String()))
		if err != nil || len(again) != len(subs) {
			t.Fatalf("reprinted: %v", err)
		}
		for i := range subs {
			if again[i].Pattern != subs[i].Pattern || again[i].Resource != subs[i].Resource || len(again[i].Params) != len(subs[i].Params) {
				t.Fatalf("reprinted %+v as %+v", subs[i], again[i])
			}
		}
	})
}

func TestUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"frobnicate"}, nil, "unknown command"},
		{[]string{"init"}, nil, "needs --tenant"},
		{[]string{"catalog"}, nil, "--url or HISOKA_URL"},
		{[]string{"catalog", "extra"}, nil, "unexpected argument"},
		{[]string{"logs"}, nil, "search, export or verify"},
		{[]string{"logs", "tail"}, nil, "want search, export or verify"},
		{[]string{"subscribe", "--param", "novalue"}, nil, "NAME=VALUE"},
		{[]string{"access-report", "--from", "yesterday"}, map[string]string{"HISOKA_URL": "http://x"}, "RFC 3339"},
		{[]string{"pin"}, nil, "needs --registration"},
		{[]string{"pin", "--board-key", "AAAA"}, nil, "32 bytes"},
	} {
		var out, errb bytes.Buffer
		e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string { return c.env[k] }}
		err := run(context.Background(), c.args, e)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want a usage error with %q", c.args, err, c.want)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"help"}, &env{stdout: &out, getenv: func(string) string { return "" }}); err != nil {
		t.Fatal(err)
	}
	for _, c := range commands() {
		if !strings.Contains(out.String(), "  "+c.name+" ") {
			t.Errorf("help does not list %s", c.name)
		}
	}
}

// TestStateErrors: commands against a state directory without a key say so.
func TestStateErrors(t *testing.T) {
	var out, errb bytes.Buffer
	vars := map[string]string{"HISOKA_URL": "http://127.0.0.1:1", "HISOKA_STATE": t.TempDir()}
	e := &env{stdout: &out, stderr: &errb, getenv: func(k string) string { return vars[k] }}
	if err := run(context.Background(), []string{"subscriptions"}, e); !errors.Is(err, tenantclient.ErrNoIdentity) {
		t.Fatalf("err = %v", err)
	}
}
