package alerts

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestDeliverSignedWithRetries(t *testing.T) {
	secret := []byte("s3cret")
	var fails atomic.Int32
	fails.Store(2)
	got := make(chan Alert, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if Sign(secret, r.Header.Get("X-Hisoka-Timestamp"), body) != r.Header.Get("X-Hisoka-Signature") {
			t.Error("bad signature")
		}
		if fails.Add(-1) >= 0 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		var a Alert
		if err := json.Unmarshal(body, &a); err != nil {
			t.Error(err)
		}
		if r.Header.Get("X-Hisoka-Delivery") != a.DetectionID {
			t.Error("delivery id")
		}
		got <- a
	}))
	defer ts.Close()
	dead := func(_ string, _ Alert, reason string) {
		if !strings.HasPrefix(reason, "shutdown") { // Close may cut the last answer short
			t.Error("dead-lettered:", reason)
		}
	}
	d, err := New([]Sink{{Name: "w", URL: ts.URL, Secret: secret, MinSeverity: 5}}, dead, Options{Backoff: time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.Send(Alert{DetectionID: "low", Severity: 2}) // below the sink's minimum
	d.Send(Alert{DetectionID: "d1", ID: "ssh.bruteforce", Severity: 10})
	select {
	case a := <-got:
		if a.DetectionID != "d1" {
			t.Fatalf("delivered %+v", a)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("not delivered")
	}
}

func TestDeadLetterAfterAttempts(t *testing.T) {
	var calls atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer ts.Close()
	var mu sync.Mutex
	var reasons []string
	done := make(chan struct{})
	d, err := New([]Sink{{Name: "w", URL: ts.URL, Secret: []byte("k")}}, func(sink string, a Alert, reason string) {
		mu.Lock()
		reasons = append(reasons, sink+": "+reason)
		mu.Unlock()
		close(done)
	}, Options{MaxAttempts: 3, Backoff: time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.Send(Alert{DetectionID: "d1", Severity: 1})
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("no dead letter")
	}
	mu.Lock()
	defer mu.Unlock()
	if calls.Load() != 3 || len(reasons) != 1 || reasons[0] != "w: 3 attempts, last: status 500" {
		t.Fatalf("calls %d, reasons %v", calls.Load(), reasons)
	}
}

func TestBadSink(t *testing.T) {
	if _, err := New([]Sink{{URL: "http://x"}}, nil, Options{}); err != ErrBadSink {
		t.Fatal(err)
	}
}
