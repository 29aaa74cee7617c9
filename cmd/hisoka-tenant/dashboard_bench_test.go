package main

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/spec"
	"github.com/hisoka-project/hisoka/tenantclient"
)

// BenchmarkDashboardPages renders each page for a day of notifications
// (one a minute per subscription, 20 subscriptions: 28,800) and a few
// hundred recorded failures; the pages list the newest 500. Issue 8 asks
// for pages under 200 ms for 24 hours of data:
//
//	go test ./cmd/hisoka-tenant -run '^$' -bench DashboardPages
func BenchmarkDashboardPages(b *testing.B) {
	dir := b.TempDir()
	if _, err := tenantclient.Init(dir, "acme", rand.Reader); err != nil {
		b.Fatal(err)
	}
	cl, err := tenantclient.New(tenantclient.Config{URL: "http://offline.invalid", StateDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	j := journalAt(dir)
	cat := &catalogNames{}
	var entries []spec.CatalogEntry
	start := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	for s := range 20 {
		entries = append(entries, spec.CatalogEntry{ID: fmt.Sprintf("pattern.%d", s), Kind: "pattern", Name: fmt.Sprintf("Pattern %d", s), Severity: s % 16})
	}
	cat.set(spec.Catalog{Version: 1, Entries: entries})
	for m := range 24 * 60 {
		at := start.Add(time.Duration(m) * time.Minute)
		for s := range 20 {
			j.apply(journalEntry{At: at, Notification: &tenantclient.Notification{
				Subscription: fmt.Sprintf("pattern.%d@vm-%d", s, s), Pattern: fmt.Sprintf("pattern.%d", s), Resource: fmt.Sprintf("vm-%d", s),
				Period: 10, Seq: uint64(m + 1), Epoch: 498700 + uint64(m/60), Counter: uint64(m % 60), Start: at, End: at.Add(10 * time.Second), Severity: uint8(s % 16), Count: 17,
			}})
		}
		if m%5 == 0 {
			j.apply(journalEntry{At: at, Failure: &failureRecord{Classes: []string{"withheld"}, Message: fmt.Sprintf("tenantclient: batch withheld: gap before %d", m)}})
		}
	}
	d, err := newDashboard(cl, j, cat, "secret", 7480, true, 30*time.Second, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	h := d.routes()
	for _, page := range []string{"/", "/subscriptions", "/failures"} {
		b.Run(page, func(b *testing.B) {
			req := httptest.NewRequest("GET", "http://127.0.0.1:7480"+page, nil)
			req.AddCookie(&http.Cookie{Name: "hisoka_ui_7480", Value: "secret"})
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatalf("%s: %d", page, w.Code)
				}
			}
		})
	}
}
