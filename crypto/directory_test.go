package crypto

import (
	"bytes"
	"crypto/rand"
	"testing"
	"time"
)

// Two honest tenants fetching the directory at different moments while the
// key set is unchanged get byte-identical directories (equal hashes), also
// from a restarted server; a change of the key set changes the issue time.
func TestDirectoryDeterministic(t *testing.T) {
	s := testSchedule()
	p := uint64(2)
	kr, err := NewKeyring(rand.Reader, s, s.Start(p).Add(s.Length/2))
	if err != nil {
		t.Fatal(err)
	}
	// The key of p+1 appears at start(p+1)-overlap.
	if _, err := kr.Rotate(rand.Reader, s.Start(p+1).Add(-s.Overlap)); err != nil {
		t.Fatal(err)
	}
	saved, _ := kr.MarshalBinary()
	restarted, err := ParseKeyring(saved)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		kr         *Keyring
		a, b       time.Time
		wantIssued time.Time
		wantKeys   int
	}{
		{"only key p", kr, s.Start(p).Add(s.Length / 2), s.Start(p + 1).Add(-s.Overlap - time.Nanosecond), s.Start(p).Add(s.Overlap), 1},
		{"overlap before the switch", kr, s.Start(p + 1).Add(-s.Overlap), s.Start(p + 1).Add(-time.Second), s.Start(p + 1).Add(-s.Overlap), 2},
		{"across the switch", kr, s.Start(p + 1).Add(-time.Hour), s.Start(p + 1).Add(s.Overlap - time.Nanosecond), s.Start(p + 1).Add(-s.Overlap), 2},
		{"after a restart", restarted, s.Start(p + 1).Add(-time.Minute), s.Start(p + 1).Add(time.Minute), s.Start(p + 1).Add(-s.Overlap), 2},
		{"old key dropped", kr, s.Start(p + 1).Add(s.Overlap), s.Start(p + 2).Add(-s.Overlap - time.Nanosecond), s.Start(p + 1).Add(s.Overlap), 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			da, err := c.kr.Directory(c.a)
			if err != nil {
				t.Fatal(err)
			}
			db, err := c.kr.Directory(c.b)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(da, db) {
				t.Fatalf("directories at %v and %v differ", c.a, c.b)
			}
			d, err := ParseDirectory(da, kr.BoardPublicKey())
			if err != nil {
				t.Fatal(err)
			}
			if !d.Issued.Equal(c.wantIssued) || !c.kr.DirectoryIssued(c.a).Equal(c.wantIssued) {
				t.Fatalf("issued %v, want %v", d.Issued, c.wantIssued)
			}
			if len(d.Keys) != c.wantKeys {
				t.Fatalf("%d keys, want %d", len(d.Keys), c.wantKeys)
			}
		})
	}
	// The key set changes at start(p+1)-overlap: so does the directory.
	before, _ := kr.Directory(s.Start(p + 1).Add(-s.Overlap - time.Nanosecond))
	after, _ := kr.Directory(s.Start(p + 1).Add(-s.Overlap))
	if bytes.Equal(before, after) {
		t.Fatal("a new key did not change the directory")
	}
}
