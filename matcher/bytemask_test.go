package matcher

import (
	"encoding/binary"
	"testing"
)

// checkMasks compares the word-at-a-time byte tests with byte-wise ones:
// the lowest special byte and the digits below it must agree.
func checkMasks(t *testing.T, w uint64) {
	t.Helper()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], w)
	first := 8
	for j, c := range b {
		if c == ' ' || c == '\t' || c == '/' || c == '=' {
			first = j
			break
		}
	}
	got := 8
	if sp := specialBytes(w); sp != 0 {
		for got = 0; sp&(0x80<<(8*got)) == 0; got++ {
		}
	}
	if got != first {
		t.Fatalf("specialBytes(%q): lowest %d, want %d", b[:], got, first)
	}
	d := digitBytes(w)
	for j, c := range b {
		if isDigit(c) != (d&(0x80<<(8*j)) != 0) {
			t.Fatalf("digitBytes(%q): byte %d wrong", b[:], j)
		}
	}
}

func TestByteMasks(t *testing.T) {
	for c := 0; c < 256; c++ {
		for j := 0; j < 8; j++ {
			for _, fill := range []uint64{0, 0x4141414141414141, 0x3939393939393939, 0x2020202020202020, 0xffffffffffffffff, 0x2f2f2f2f2f2f2f2f} {
				w := fill&^(0xff<<(8*j)) | uint64(c)<<(8*j)
				checkMasks(t, w)
			}
		}
	}
}

func FuzzByteMasks(f *testing.F) {
	f.Add(uint64(0x3a2f2f3d20093930))
	f.Add(uint64(0x01ff80302f5c3d7f))
	f.Fuzz(func(t *testing.T, w uint64) { checkMasks(t, w) })
}
