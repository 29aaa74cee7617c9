package tenantclient

import (
	"bytes"
	"encoding/base64"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseState(t *testing.T) {
	good, err := os.ReadFile("testdata/state.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := parseState(good)
	if err != nil {
		t.Fatal(err)
	}
	if s.LastSeq != 2 || len(s.Subscriptions) != 2 || len(s.Pending) != 1 || s.Subscriptions[0].Tokens[0].Next != 1 {
		t.Fatalf("parsed %+v", s)
	}
	edit := func(old, new string) []byte { return []byte(strings.Replace(string(good), old, new, 1)) }
	for _, c := range []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"not JSON", []byte("version: 1")},
		{"trailing data", append(bytes.Clone(good), "{}"...)},
		{"unknown field", edit(`"version": 1,`, `"version": 1, "extra": true,`)},
		{"unknown version", edit(`"version": 1,`, `"version": 2,`)},
		{"no tenant", edit(`"tenant": "tenant-0042"`, `"tenant": ""`)},
		{"short board key", edit(`"3E4Pkk5tCfhU/ggnlXAebFjyKmQBFNYqZ9VwLdL8lnc="`, `"3E4P"`)},
		{"short ledger key", edit(`"Ub6BwqFfIsHW2bhpZsjSfXFRrgO5dyL4dj7IoXLCFB0="`, `"Ub6B"`)},
		{"short chain hash", edit(`"UHqCRdIZfNPeVJGV5aAMMrNVv1PhHWasgiuzAMqesjA="`, `"UHqC"`)},
		{"hash without a batch", edit(`"last_seq": 2,`, `"last_seq": 0,`)},
		{"counters behind the chain", edit(`"match_epoch": 498700,`, `"match_epoch": 1,`)},
		{"short key id", edit(`"FozOl39gk9ej94uL7DachezLqCiJYMZ9+aGowoVBfd0="`, `"Fo=="`)},
		{"short token", edit(`"yp/ttegzUFEIQ2r/GM3fA5bZ8/cvP5XdWIsqgvZ9pwQSAWrUg+hnaj3SpyYF5YghicF3BlgW2D+yejhVu8QG1A=="`, `"yp8="`)},
		{"duplicate subscription id", edit(`"id": "live-migration"`, `"id": "vm.create@3f2a1c9e-5b7d-4e8a-9c1f-2d6b8a7e4c10"`)},
		{"empty pattern", edit(`"pattern": "nova.instance.live-migration"`, `"pattern": ""`)},
		{"duplicate parameter", edit(`"name": "zone"`, `"name": "min_count"`)},
	} {
		s, err := parseState(c.in)
		if !errors.Is(err, ErrState) || s != nil {
			t.Errorf("%s: %v, %v", c.name, s, err)
		}
	}
}

// TestParseStateCheckpoints: kept ledger checkpoints parse, and a kept
// checkpoint that is out of order or disagrees with its signed form is a
// bad state.
func TestParseStateCheckpoints(t *testing.T) {
	good, err := os.ReadFile("testdata/state-checkpoints.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := parseState(good)
	if err != nil || len(s.Checkpoints) != 2 || s.Checkpoints[0].Seq != 2 || s.Checkpoints[1].Seq != 4 {
		t.Fatalf("%+v, %v", s, err)
	}
	edit := func(old, new string) []byte { return bytes.Replace(good, []byte(old), []byte(new), 1) }
	for _, c := range []struct {
		name string
		in   []byte
	}{
		{"seq not its checkpoint's", edit(`"seq": 2,`, `"seq": 3,`)},
		{"seq zero", edit(`"seq": 2,`, `"seq": 0,`)},
		{"out of order", edit(`"seq": 4,`, `"seq": 1,`)},
		{"head not its checkpoint's", edit(`"head": "xC/542uAzq7i3taoKfCoP2Fold01bEBsCbJHxjVCDto="`, `"head": "xreKNHlzsi4BuKjnkcP805MN8Y2DIbeqRtaR2/4np5Y="`)},
		{"short head", edit(`"head": "xC/542uAzq7i3taoKfCoP2Fold01bEBsCbJHxjVCDto="`, `"head": "xC8="`)},
		{"checkpoint does not parse", edit(`"checkpoint": "SExDMQh0`, `"checkpoint": "AAAAAAAA`)},
		{"another tenant", edit(`"tenant": "tenant-l"`, `"tenant": "tenant-m"`)},
	} {
		s, err := parseState(c.in)
		if !errors.Is(err, ErrState) || s != nil {
			t.Errorf("%s: %v, %v", c.name, s, err)
		}
	}
}

func TestParseIdentity(t *testing.T) {
	good, err := os.ReadFile("testdata/identity.json")
	if err != nil {
		t.Fatal(err)
	}
	tenant, id, err := parseIdentity(good)
	if err != nil || tenant != "tenant-0042" || len(id.Public()) != 32 {
		t.Fatalf("%q %v %v", tenant, id, err)
	}
	for _, bad := range []string{"", "{}", `{"version":1,"tenant":"t","seed":"AAAA"}`, `{"version":2,"tenant":"t","seed":"a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s="}`,
		`{"version":1,"tenant":"","seed":"a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s="}`, `{"version":1,"tenant":"t","seed":"a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=","x":1}`} {
		if _, id, err := parseIdentity([]byte(bad)); !errors.Is(err, ErrState) || id != nil {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestAtomicWrite: files are 0600, replaced whole, and no temporary file
// is left behind.
func TestAtomicWrite(t *testing.T) {
	dir := t.TempDir()
	for _, content := range []string{"first", "second, longer"} {
		if err := writeFileAtomic(dir, "f", []byte(content)); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, "f"))
		if err != nil || string(b) != content {
			t.Fatalf("%q, %v", b, err)
		}
		fi, _ := os.Stat(filepath.Join(dir, "f"))
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v", fi.Mode())
		}
	}
	if es, _ := os.ReadDir(dir); len(es) != 1 {
		t.Fatalf("%d files", len(es))
	}
	if err := writeFileAtomic(filepath.Join(dir, "missing"), "f", nil); err == nil {
		t.Fatal("write into a missing directory")
	}
}

// FuzzParseState: no panic, nil on error, and what parses round-trips.
func FuzzParseState(f *testing.F) {
	good, err := os.ReadFile("testdata/state.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	withCheckpoints, err := os.ReadFile("testdata/state-checkpoints.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(withCheckpoints)
	f.Add([]byte(`{"version":1,"tenant":"t","last_seq":0,"last_epoch":0,"match_epoch":0}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseState(b)
		if err != nil {
			if s != nil {
				t.Fatal("state with an error")
			}
			return
		}
		out, err := s.marshal()
		if err != nil {
			t.Fatal(err)
		}
		s2, err := parseState(out)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		out2, _ := s2.marshal()
		if !bytes.Equal(out, out2) {
			t.Fatal("not a round trip")
		}
	})
}

// FuzzParseIdentity: no panic, nil on error, round trip.
func FuzzParseIdentity(f *testing.F) {
	good, err := os.ReadFile("testdata/identity.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Fuzz(func(t *testing.T, b []byte) {
		tenant, id, err := parseIdentity(b)
		if err != nil {
			if id != nil || tenant != "" {
				t.Fatal("identity with an error")
			}
			return
		}
		out, err := marshalIdentity(tenant, id)
		if err != nil {
			t.Fatal(err)
		}
		tenant2, id2, err := parseIdentity(out)
		if err != nil || tenant2 != tenant || !id2.Public().Equal(id.Public()) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// TestClientLogValue: a client in a log shows no key material.
func TestClientLogValue(t *testing.T) {
	dir := t.TempDir()
	id, err := Init(dir, "tenant-log", strings.NewReader(strings.Repeat("s", 32)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{URL: "http://127.0.0.1:1", StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("client", "c", c)
	for _, secret := range [][]byte{id.Seed(), []byte(base64.StdEncoding.EncodeToString(id.Seed())), []byte(base64.StdEncoding.EncodeToString(id.PrivateKey()))} {
		if bytes.Contains(buf.Bytes(), secret) {
			t.Fatalf("secret in log: %s", buf.String())
		}
	}
	if !strings.Contains(buf.String(), "tenant-log") {
		t.Fatalf("log: %s", buf.String())
	}
}
