package storetest

import (
	"testing"
	"time"
)

func TestCorpusRecordsAreValid(t *testing.T) {
	c := NewCorpus(1)
	rs := c.Batch(1000, time.Unix(1700000000, 0), time.Second)
	for i := range rs {
		if err := rs[i].Validate(); err != nil {
			t.Fatal(err)
		}
	}
	avg := RawBytes(rs) / len(rs)
	if avg < 150 || avg > 400 {
		t.Fatalf("average line %d bytes, want about 250", avg)
	}
	t.Logf("average line %d bytes; %s", avg, rs[0].Line)
}
