package logcore

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/store"
)

func corpusRecords(n int) []store.Record {
	rs := make([]store.Record, n)
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range rs {
		rs[i] = store.Record{
			Seq: uint64(10 + i), Time: at.Add(time.Duration(i) * time.Second), Received: at.Add(time.Duration(i)*time.Second + 3*time.Millisecond),
			Host: fmt.Sprintf("cmp%03d", i%7), App: "nova-compute", Severity: uint8(i % 8), Source: "10.0.0.1:514",
			Fields: map[string]string{"request_id": fmt.Sprintf("req-%d", i/5), "project": "p1"},
			Line:   fmt.Sprintf("2026-03-01 00:00:%02d.000 INFO nova.compute.manager [req-%d] Took %d.%02d seconds", i%60, i/5, i%40, i%100),
		}
	}
	rs[1].Time = time.Time{}                                 // no event time
	rs[2].Time = rs[2].Time.Add(-48 * time.Hour)             // out of order
	rs[3].Fields = nil                                       // no fields
	rs[4].Line = "日本語 " + rs[4].Line                         // unicode
	rs[5].Time = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC) // before 1970
	return rs
}

func canon(t testing.TB, rs []store.Record) [][]byte {
	out := make([][]byte, len(rs))
	for i := range rs {
		b, err := rs[i].MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

// The sorted field names build keeps per block give the canonical encoding
// that the ledger hashes.
func TestFieldKeysCanonical(t *testing.T) {
	rs := corpusRecords(20)
	rs[6].Fields = map[string]string{"z": "1", "a": "2", "m": "3", "b": "", "y": "x"}
	var fk fieldKeys
	for round := 0; round < 2; round++ { // reused after reset
		fk.reset()
		for i := range rs {
			fk.add(rs[i].Fields)
		}
		want := canon(t, rs)
		for i := range rs {
			if got := rs[i].AppendBinaryKeys(nil, fk.of(i)); !bytes.Equal(got, want[i]) {
				t.Fatalf("round %d record %d: keys %q give another encoding", round, i, fk.of(i))
			}
		}
	}
}

func TestColumnsRoundTrip(t *testing.T) {
	rs := corpusRecords(50)
	b := encodeColumns(nil, rs)
	got, err := decodeColumns(b, 10, len(rs))
	if err != nil {
		t.Fatal(err)
	}
	want, have := canon(t, rs), canon(t, got)
	for i := range want {
		if !bytes.Equal(want[i], have[i]) {
			t.Fatalf("record %d changed", i)
		}
	}
	if _, err := decodeColumns(b, 10, len(rs)+1); err == nil {
		t.Fatal("wrong count accepted")
	}
}

func TestBloom(t *testing.T) {
	bl := newBloom(1000)
	for i := 0; i < 1000; i++ {
		bl.add(fmt.Sprint("in", i))
	}
	fp := 0
	for i := 0; i < 10000; i++ {
		if !bl.has(fmt.Sprint("in", i%1000)) {
			t.Fatal("false negative")
		}
		if bl.has(fmt.Sprint("out", i)) {
			fp++
		}
	}
	if fp > 300 { // ~1% expected at 10 bits per item
		t.Fatalf("false positive rate %d/10000", fp)
	}
}

func TestHashSet(t *testing.T) {
	var s hashSet
	for round := 0; round < 2; round++ {
		s.reset()
		for i := uint64(0); i < 5000; i++ {
			s.add(i % 3000)
		}
		seen := map[uint64]bool{}
		s.each(func(h uint64) { seen[h] = true })
		if s.len() != 3000 || len(seen) != 3000 {
			t.Fatalf("len %d, each %d", s.len(), len(seen))
		}
	}
}

func FuzzColumns(f *testing.F) {
	rs := corpusRecords(8)
	f.Add(encodeColumns(nil, rs), uint16(len(rs)))
	f.Add(encodeColumns(nil, rs[:1]), uint16(1))
	f.Fuzz(func(t *testing.T, b []byte, n uint16) {
		got, err := decodeColumns(b, 1, int(n))
		if err != nil {
			if got != nil {
				t.Fatal("records returned with an error")
			}
			return
		}
		// Semantic round trip: re-encoding decodes to the same records.
		again, err := decodeColumns(encodeColumns(nil, got), 1, int(n))
		if err != nil {
			t.Fatal(err)
		}
		a, c := canon(t, got), canon(t, again)
		for i := range a {
			if !bytes.Equal(a[i], c[i]) {
				t.Fatal("round trip changed a record")
			}
		}
	})
}

func FuzzMeta(f *testing.F) {
	m := Meta{First: 1, Last: 1000, MinTime: -5, MaxTime: 9, Appended: 7, RawBytes: 100, Buckets: []int64{1, 2}, Bloom: []byte{1, 2, 3}}
	f.Add((&Block{Meta: m, Data: []byte("data")}).MarshalBinary())
	h := Head{Seq: 9, Base: 2, Records: 7, Bytes: 100}
	f.Add(h.MarshalBinary())
	f.Fuzz(func(t *testing.T, b []byte) {
		var bl Block
		if err := bl.UnmarshalBinary(b); err == nil {
			if !bytes.Equal(bl.MarshalBinary(), b) {
				t.Fatal("block does not round trip")
			}
		}
		var h Head
		if err := h.UnmarshalBinary(b); err == nil {
			if !bytes.Equal(h.MarshalBinary(), b) {
				t.Fatal("head does not round trip")
			}
		}
	})
}

func FuzzCursor(f *testing.F) {
	f.Add(encodeCursor(false, 42), false)
	f.Add(encodeCursor(true, 1<<40), true)
	f.Add("", false)
	f.Fuzz(func(t *testing.T, s string, desc bool) {
		seq, err := decodeCursor(s, desc)
		if err != nil {
			if seq != 0 {
				t.Fatal("seq with an error")
			}
			return
		}
		if encodeCursor(desc, seq) != s {
			t.Fatal("cursor does not round trip")
		}
	})
}
