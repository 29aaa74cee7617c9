package crypto

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
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

// signDirectory assembles and signs a directory body by hand (section 4.3),
// so a test can present what an honest Keyring never produces.
func signDirectory(kr *Keyring, issued time.Time, periods []uint64) []byte {
	s := kr.Schedule()
	b := []byte{directoryVersion}
	b = binary.BigEndian.AppendUint64(b, uint64(issued.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, uint64(s.Origin.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, uint64(s.Length))
	b = binary.BigEndian.AppendUint64(b, uint64(s.Overlap))
	b = append(b, kr.BoardPublicKey()...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(periods)))
	for _, p := range periods {
		b = binary.BigEndian.AppendUint64(b, p)
		sk, _ := randomScalar(rand.Reader)
		b = append(b, newPeriodKey(p, sk).pub[:]...)
	}
	return append(b, ed25519.Sign(kr.board, append([]byte(directorySigLabel), b...))...)
}

// A signed directory may list only keys that evaluate at its issue time:
// never more than two (the schedule allows no more at one instant).
func TestParseDirectoryKeysAtIssued(t *testing.T) {
	kr := newTestKeyring(t)
	s := kr.Schedule()
	mid := s.Start(3).Add(s.Length / 2)
	inOverlap := s.Start(3).Add(-s.Overlap / 2)
	cases := []struct {
		name    string
		issued  time.Time
		periods []uint64
		want    error
	}{
		{"one current key", mid, []uint64{3}, nil},
		{"two keys in the overlap", inOverlap, []uint64{2, 3}, nil},
		{"three keys", inOverlap, []uint64{1, 2, 3}, ErrMalformed},
		{"next key before its window", mid, []uint64{3, 4}, ErrMalformed},
		{"expired key", mid, []uint64{2, 3}, ErrMalformed},
		{"key of another time", mid, []uint64{7}, ErrMalformed},
		{"many keys", mid, []uint64{1, 2, 3, 4, 5, 6, 7, 8}, ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := ParseDirectory(signDirectory(kr, c.issued, c.periods), kr.BoardPublicKey())
			if !errors.Is(err, c.want) || (err == nil) != (d != nil) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}
