package limit

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

func TestRates(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := NewRates(10, 5, 2, func() time.Time { return now })
	if err := r.Take("a", 5); err != nil {
		t.Fatal(err)
	}
	err := r.Take("a", 1)
	var re *RetryError
	if !errors.As(err, &re) || !errors.Is(err, ErrRateLimited) {
		t.Fatalf("empty bucket: %v", err)
	}
	if re.After <= 0 || re.After > 200*time.Millisecond {
		t.Fatalf("retry after %v, want about 100ms", re.After)
	}
	if err := r.Take("b", 1); err != nil {
		t.Fatalf("other key limited: %v", err)
	}
	// Table full of busy buckets: a third key is refused, not given a reset bucket.
	if err := r.Take("c", 1); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("third key: %v", err)
	}
	now = now.Add(time.Second) // both buckets refill and become idle
	if err := r.Take("c", 1); err != nil {
		t.Fatalf("after refill: %v", err)
	}
	// More than the burst costs the whole burst.
	if err := r.Take("c", 100); err == nil {
		t.Fatal("bucket not full, oversize take allowed")
	}
	now = now.Add(time.Second)
	if err := r.Take("c", 100); err != nil {
		t.Fatalf("oversize take on full bucket: %v", err)
	}
	if err := r.Take("c", 1); err == nil {
		t.Fatal("oversize take did not empty the bucket")
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for d, want := range map[time.Duration]int{0: 1, time.Millisecond: 1, time.Second: 1, 1500 * time.Millisecond: 2} {
		if got := RetryAfterSeconds(d); got != want {
			t.Errorf("%v: %d want %d", d, got, want)
		}
	}
}

func TestBody(t *testing.T) {
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		if errors.Is(err, ErrBodyTooLarge) {
			_ = c.NoContent(http.StatusRequestEntityTooLarge)
			return
		}
		_ = c.NoContent(http.StatusInternalServerError)
	}
	e.POST("/", func(c echo.Context) error {
		b, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return err
		}
		return c.String(http.StatusOK, string(b))
	}, Body(10))
	srv := httptest.NewServer(e)
	defer srv.Close()
	tests := []struct {
		name    string
		body    io.Reader
		want    int
		chunked bool
	}{
		{"under", strings.NewReader("12345"), 200, false},
		{"exactly", strings.NewReader("1234567890"), 200, false},
		{"over, content-length", strings.NewReader("12345678901"), 413, false},
		{"over, chunked", strings.NewReader(strings.Repeat("x", 100)), 413, true},
		{"exactly, chunked", strings.NewReader("1234567890"), 200, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := tt.body
			if tt.chunked {
				body = io.MultiReader(body) // hides the length
			}
			resp, err := http.Post(srv.URL, "text/plain", body)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			got.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d want %d", resp.StatusCode, tt.want)
			}
		})
	}
}

func BenchmarkRatesTake(b *testing.B) {
	r := NewRates(1e9, 1e9, 1000, nil)
	for b.Loop() {
		_ = r.Take("tenant", 100)
	}
}
