package httperr

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hisoka-project/hisoka/server/internal/limit"
	"github.com/hisoka-project/hisoka/server/internal/requestid"
)

var errThing = errors.New("thing: not found")

func TestHandler(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(requestid.NewHandler(slog.NewJSONHandler(&logs, nil)))
	h := New(log, Rule{Err: errThing, Status: http.StatusNotFound, Message: "not found"})
	h.Add(Rule{Err: limit.ErrRateLimited, Status: http.StatusTooManyRequests, Message: "rate limited"})
	e := echo.New()
	e.HTTPErrorHandler = h.Handle
	e.Use(requestid.Middleware(requestid.NewGenerator(rand.Reader)))
	fail := map[string]error{
		"/known":    fmt.Errorf("lookup tenant secret-tenant-42: %w", errThing),
		"/internal": errors.New("pebble: disk /srv/hisoka full"),
		"/rate":     &limit.RetryError{After: 1500 * time.Millisecond},
		"/bind":     echo.NewHTTPError(http.StatusBadRequest, "field <raw line> invalid"),
		"/big":      &http.MaxBytesError{Limit: 1},
	}
	for p, err := range fail {
		e.GET(p, func(echo.Context) error { return err })
	}
	srv := httptest.NewServer(e)
	defer srv.Close()
	tests := []struct {
		path   string
		status int
		msg    string
		header string
	}{
		{"/known", 404, "not found", ""},
		{"/internal", 500, "internal error", ""},
		{"/rate", 429, "rate limited", "2"},
		{"/bind", 400, "bad request", ""},
		{"/big", 413, "request entity too large", ""},
		{"/no-such-route", 404, "not found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			logs.Reset()
			resp, err := http.Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b Body
			if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status || b.Error != tt.msg {
				t.Fatalf("got %d %q", resp.StatusCode, b.Error)
			}
			id := resp.Header.Get(requestid.Header)
			if b.RequestID == "" || b.RequestID != id {
				t.Fatalf("request id body %q header %q", b.RequestID, id)
			}
			if resp.Header.Get("Retry-After") != tt.header {
				t.Fatalf("Retry-After %q", resp.Header.Get("Retry-After"))
			}
			if !strings.Contains(logs.String(), id) {
				t.Fatalf("log lacks request id: %s", logs.String())
			}
		})
	}
	// Internal detail reaches the log, not the client.
	resp, _ := http.Get(srv.URL + "/internal")
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	resp.Body.Close()
	if strings.Contains(body.String(), "/srv/hisoka") || !strings.Contains(logs.String(), "/srv/hisoka") {
		t.Fatalf("detail misplaced: body %s", body.String())
	}
}
