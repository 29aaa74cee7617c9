package matcher

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestProfile(t *testing.T) {
	p := NewProfile(0)
	t0 := time.Date(2014, 12, 12, 11, 35, 41, 0, time.UTC)
	for i := 0; i < 34; i++ {
		p.Add("amqp", t0)
	}
	p.Add("cinder.service", t0.Add(2*time.Second))
	p.Add("amqp", t0.Add(6*time.Second))
	p.Add("cinder.api, \"x\"", t0.Add(11*time.Second))
	csv := p.CSV()
	want := "key,2014-12-12T11:35:40Z,2014-12-12T11:35:45Z,2014-12-12T11:35:50Z\n" +
		"amqp,34,1,0\n" +
		"\"cinder.api, \"\"x\"\"\",0,0,1\n" +
		"cinder.service,1,0,0\n"
	if csv != want {
		t.Fatalf("CSV:\n%s\nwant:\n%s", csv, want)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var got profileJSON
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Window != "5s" || len(got.Windows) != 3 || len(got.Rows) != 3 || got.Rows[0].Key != "amqp" || got.Rows[0].Counts[0] != 34 {
		t.Fatalf("JSON %s", b)
	}
	if !strings.Contains(NewProfile(time.Second).CSV(), "key") {
		t.Fatal("empty profile has no header")
	}
}
