package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

func TestMetricsServed(t *testing.T) {
	m := New()
	m.IngestLines.WithLabelValues(TransportSyslogTCP, "platform").Add(3)
	m.ObserveStore("append", time.Now())
	m.Detections.WithLabelValues("high").Inc()
	m.PipelineLag.WithLabelValues("matcher").Set(0.25)
	e := echo.New()
	e.Use(m.Middleware())
	e.GET("/metrics", echo.WrapHandler(m.Handler()))
	e.GET("/v1/things/:id", func(c echo.Context) error { return echo.NewHTTPError(http.StatusTeapot) })
	srv := httptest.NewServer(e)
	defer srv.Close()
	for _, p := range []string{"/v1/things/secret-id", "/nope"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(b)
	for _, want := range []string{
		`hisoka_ingest_lines_total{stream="platform",transport="syslog_tcp"} 3`,
		`hisoka_detections_total{severity="high"} 1`,
		`hisoka_pipeline_lag_seconds{stage="matcher"} 0.25`,
		`hisoka_store_operation_seconds_count{op="append"} 1`,
		`hisoka_http_requests_total{code="418",method="GET",route="/v1/things/:id"} 1`,
		`hisoka_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %s", want)
		}
	}
	if strings.Contains(body, "secret-id") {
		t.Error("path parameter became a label")
	}
}

func counterValue(t *testing.T, m *Metrics, name string) float64 {
	t.Helper()
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("%s not gathered", name)
	return 0
}

func TestPerServerRegistries(t *testing.T) {
	a, b := New(), New() // no global registration: two servers coexist
	a.BoardBatches.Inc()
	if counterValue(t, a, "hisoka_board_batches_total") != 1 || counterValue(t, b, "hisoka_board_batches_total") != 0 {
		t.Fatal("registries shared")
	}
}
