package crypto

import (
	"crypto/rand"
	"testing"
)

// A board entry carrying the tag of a token the tenant holds but a payload
// that does not open (the platform can compute any tenant's tag and put
// garbage after it) must look to Match's caller exactly like an entry of a
// token the tenant does not hold: no error, no notification, no counter
// movement; only the local Unopened counter differs.
func TestMatchForgedEntryIsNonMatch(t *testing.T) {
	kr := newTestKeyring(t)
	const tenant = "tenant-a"
	epoch := EpochAt(testNow)
	var held, other Token
	rand.Read(held[:])
	rand.Read(other[:])
	forged := func(tok *Token, counter uint64) Entry {
		tk := tok.TagKey()
		e := Entry{Tag: tk.Tag(epoch, counter)}
		rand.Read(e.Sealed[:])
		return e
	}
	cases := []struct {
		name         string
		entries      []Entry
		wantUnopened uint64
	}{
		{"tag of a token not held", []Entry{forged(&other, 0)}, 0},
		{"tag of the held token, garbage payload", []Entry{forged(&held, 0)}, 1},
		{"held token, several garbage payloads", []Entry{forged(&held, 0), forged(&held, 1), forged(&held, 3)}, 3},
		{"both", []Entry{forged(&other, 0), forged(&held, 0)}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := NewMatcher(tenant, epoch, 0)
			if err := m.Subscribe("s", &held, 0); err != nil {
				t.Fatal(err)
			}
			b, err := kr.SealBatch(FirstHeader(tenant, epoch, testNow), c.entries, 16)
			if err != nil {
				t.Fatal(err)
			}
			ns, err := m.Match(b)
			if err != nil || len(ns) != 0 {
				t.Fatalf("Match = %v, %v; want no notification and no error", ns, err)
			}
			if m.Unopened() != c.wantUnopened {
				t.Fatalf("Unopened = %d, want %d", m.Unopened(), c.wantUnopened)
			}
			if next, _ := m.Next("s"); next != 0 {
				t.Fatalf("a forged entry moved the expected counter to %d", next)
			}
			// The genuine occurrence 0 still matches afterwards.
			e, err := NewEntry(&held, tenant, epoch, 0, Payload{Start: testNow, End: testNow, Count: 1})
			if err != nil {
				t.Fatal(err)
			}
			b2, _ := kr.SealBatch(b.Next(epoch, testNow), []Entry{e}, 16)
			if ns, err := m.Match(b2); err != nil || len(ns) != 1 || ns[0].Counter != 0 {
				t.Fatalf("genuine entry after forged ones: %v, %v", ns, err)
			}
		})
	}
}
