package requestid

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

func TestValid(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"abc-123_x.y", true},
		{"", false},                      // empty
		{strings.Repeat("a", 65), false}, // too long
		{strings.Repeat("a", 64), true},  // at the limit
		{"a b", false},                   // space
		{"a\nb", false},                  // log injection
		{"<script>", false},              // markup
		{"é", false},                     // non-ASCII
	}
	for _, tt := range tests {
		if got := Valid(tt.id); got != tt.want {
			t.Errorf("Valid(%q) = %v", tt.id, got)
		}
	}
}

func TestMiddlewareAndHandler(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(NewHandler(slog.NewJSONHandler(&logs, nil)))
	e := echo.New()
	e.Use(Middleware(NewGenerator(rand.Reader)))
	e.GET("/", func(c echo.Context) error {
		logger.InfoContext(c.Request().Context(), "handled")
		return c.String(http.StatusOK, FromContext(c.Request().Context()))
	})
	srv := httptest.NewServer(e)
	defer srv.Close()

	for _, sent := range []string{"", "client-id-1", "bad id;x"} {
		logs.Reset()
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		if sent != "" {
			req.Header.Set(Header, sent)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		body.ReadFrom(resp.Body)
		resp.Body.Close()
		id := resp.Header.Get(Header)
		if !Valid(id) || body.String() != id {
			t.Fatalf("sent %q: header %q body %q", sent, id, body.String())
		}
		if Valid(sent) && id != sent {
			t.Fatalf("valid client id %q replaced by %q", sent, id)
		}
		if !strings.Contains(logs.String(), `"request_id":"`+id+`"`) {
			t.Fatalf("log line lacks request id: %s", logs.String())
		}
	}
}

func TestHandlerWithoutID(t *testing.T) {
	var logs bytes.Buffer
	slog.New(NewHandler(slog.NewTextHandler(&logs, nil))).With("a", 1).InfoContext(context.Background(), "x")
	if strings.Contains(logs.String(), "request_id") {
		t.Fatal("request_id without one in context")
	}
}
