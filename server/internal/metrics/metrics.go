// Package metrics holds the server's Prometheus collectors, registered on a
// registry of their own (never the global one), one [Metrics] per server.
//
// Labels have bounded values only: transports, stages, operations,
// severities, route templates and status codes. No tenant id, resource id
// or log content is ever a label.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Label values for transports.
const (
	TransportHTTP      = "http"
	TransportLoki      = "loki"
	TransportSyslogTCP = "syslog_tcp"
	TransportSyslogTLS = "syslog_tls"
	TransportSyslogUDP = "syslog_udp"
)

// Metrics are the server's collectors.
type Metrics struct {
	Registry *prometheus.Registry

	// IngestLines counts accepted lines by transport and stream
	// (platform, tenant, quarantine).
	IngestLines *prometheus.CounterVec
	// IngestBytes counts accepted line bytes by transport.
	IngestBytes *prometheus.CounterVec
	// IngestRejected counts refused lines or requests by transport and
	// reason (rate_limited, too_large, malformed, unauthenticated, ...).
	IngestRejected *prometheus.CounterVec
	// LinesTruncated counts lines cut to the line limit, by transport.
	LinesTruncated *prometheus.CounterVec
	// SyslogConnections is the number of open syslog connections.
	SyslogConnections *prometheus.GaugeVec
	// PipelineLag is, per stage (matcher, boards), the age in seconds of
	// the oldest acknowledged line not yet processed by that stage.
	PipelineLag *prometheus.GaugeVec
	// StoreLatency observes store operations by operation name.
	StoreLatency *prometheus.HistogramVec
	// Detections counts detections by severity.
	Detections *prometheus.CounterVec
	// BoardBatches and BoardEntries count what was appended to boards.
	BoardBatches prometheus.Counter
	BoardEntries prometheus.Counter
	// HTTPRequests and HTTPDuration describe API traffic by route template.
	HTTPRequests *prometheus.CounterVec
	HTTPDuration *prometheus.HistogramVec
}

// New returns fresh collectors on a new registry, with the Go runtime and
// process collectors.
func New() *Metrics {
	r := prometheus.NewRegistry()
	f := func(c prometheus.Collector) { r.MustRegister(c) }
	m := &Metrics{
		Registry: r,
		IngestLines: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "hisoka", Name: "ingest_lines_total",
			Help: "Log lines accepted, by transport and stream."}, []string{"transport", "stream"}),
		IngestBytes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "hisoka", Name: "ingest_bytes_total",
			Help: "Bytes of log lines accepted, by transport."}, []string{"transport"}),
		IngestRejected: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "hisoka", Name: "ingest_rejected_total",
			Help: "Ingest requests or lines refused, by transport and reason."}, []string{"transport", "reason"}),
		LinesTruncated: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "hisoka", Name: "ingest_lines_truncated_total",
			Help: "Lines cut to the line size limit, by transport."}, []string{"transport"}),
		SyslogConnections: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "hisoka", Name: "syslog_connections",
			Help: "Open syslog connections, by transport."}, []string{"transport"}),
		PipelineLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "hisoka", Name: "pipeline_lag_seconds",
			Help: "Age of the oldest acknowledged line a pipeline stage has not processed."}, []string{"stage"}),
		StoreLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "hisoka", Name: "store_operation_seconds",
			Help:    "Store operation latency, by operation.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10)}, []string{"op"}),
		Detections: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "hisoka", Name: "detections_total",
			Help: "Pattern and rule detections, by severity."}, []string{"severity"}),
		BoardBatches: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "hisoka", Name: "board_batches_total",
			Help: "Signed batches appended to tenant boards."}),
		BoardEntries: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "hisoka", Name: "board_entries_total",
			Help: "Notification entries appended to tenant boards, dummies excluded."}),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "hisoka", Name: "http_requests_total",
			Help: "API requests, by route template, method and status code."}, []string{"route", "method", "code"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "hisoka", Name: "http_request_seconds",
			Help: "API request latency, by route template and method.", Buckets: prometheus.DefBuckets}, []string{"route", "method"}),
	}
	for _, c := range []prometheus.Collector{m.IngestLines, m.IngestBytes, m.IngestRejected, m.LinesTruncated,
		m.SyslogConnections, m.PipelineLag, m.StoreLatency, m.Detections, m.BoardBatches, m.BoardEntries,
		m.HTTPRequests, m.HTTPDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		f(c)
	}
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// ObserveStore records one store operation's latency since start.
func (m *Metrics) ObserveStore(op string, start time.Time) {
	m.StoreLatency.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

// Middleware records every API request by its route template (unmatched
// requests under "unmatched"), after the error handler has written the
// status.
func (m *Metrics) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err) // let the error handler set the status now
			}
			route := c.Path()
			if route == "" || c.Response().Status == http.StatusNotFound && route == "/*" {
				route = "unmatched"
			}
			method := c.Request().Method
			m.HTTPRequests.WithLabelValues(route, method, strconv.Itoa(c.Response().Status)).Inc()
			m.HTTPDuration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
			return nil
		}
	}
}
