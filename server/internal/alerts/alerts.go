package alerts

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Sink is one webhook.
type Sink struct {
	Name        string
	URL         string
	Secret      []byte // HMAC key; never logged
	MinSeverity int
}

// LogValue keeps the secret out of logs.
func (s Sink) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", s.Name), slog.Int("min_severity", s.MinSeverity))
}

// Alert is the JSON body sent to a sink.
type Alert struct {
	DetectionID string    `json:"detection_id"`
	Kind        string    `json:"kind"`
	ID          string    `json:"id"`
	Reason      string    `json:"reason,omitempty"`
	Stream      string    `json:"stream"`
	Tenant      string    `json:"tenant,omitempty"` // the owning tenant, when known
	Resource    string    `json:"resource,omitempty"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Severity    int       `json:"severity"`
	Count       int       `json:"count"`
	Compliance  []string  `json:"compliance,omitempty"`
	Component   string    `json:"component,omitempty"`
}

// DeadLetter records an alert that could not be delivered.
type DeadLetter func(sink string, a Alert, reason string)

// Options tune a Dispatcher; zero values take the defaults shown.
type Options struct {
	MaxAttempts int           // 5
	Backoff     time.Duration // 500ms, doubled per attempt, at most 1 minute
	Timeout     time.Duration // 10s per attempt
	Queue       int           // 1024 alerts per sink
	Client      *http.Client  // a client with no redirects
	Now         func() time.Time
	Logger      *slog.Logger
}

// Dispatcher delivers alerts to sinks, one worker per sink.
type Dispatcher struct {
	opt    Options
	dead   DeadLetter
	sinks  []*worker
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type worker struct {
	sink Sink
	q    chan Alert
}

// ErrBadSink is returned for a sink without a URL or secret.
var ErrBadSink = errors.New("alerts: sink needs a URL and a secret")

// New starts a dispatcher for sinks.
func New(sinks []Sink, dead DeadLetter, opt Options) (*Dispatcher, error) {
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 5
	}
	if opt.Backoff <= 0 {
		opt.Backoff = 500 * time.Millisecond
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Second
	}
	if opt.Queue <= 0 {
		opt.Queue = 1024
	}
	if opt.Client == nil {
		opt.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	d := &Dispatcher{opt: opt, dead: dead}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	for _, s := range sinks {
		if s.URL == "" || len(s.Secret) == 0 {
			d.cancel()
			return nil, ErrBadSink
		}
		w := &worker{sink: s, q: make(chan Alert, opt.Queue)}
		d.sinks = append(d.sinks, w)
		d.wg.Add(1)
		go d.run(w)
	}
	return d, nil
}

// Send queues a for every sink whose minimum severity it reaches; it never
// blocks.
func (d *Dispatcher) Send(a Alert) {
	for _, w := range d.sinks {
		if a.Severity < w.sink.MinSeverity {
			continue
		}
		select {
		case w.q <- a:
		default:
			d.dead(w.sink.Name, a, "queue full")
		}
	}
}

// Close stops the workers; queued alerts are dead-lettered.
func (d *Dispatcher) Close() {
	d.cancel()
	d.wg.Wait()
}

func (d *Dispatcher) run(w *worker) {
	defer d.wg.Done()
	for {
		select {
		case <-d.ctx.Done():
			for {
				select {
				case a := <-w.q:
					d.dead(w.sink.Name, a, "shutdown")
				default:
					return
				}
			}
		case a := <-w.q:
			d.deliver(w.sink, a)
		}
	}
}

func (d *Dispatcher) deliver(s Sink, a Alert) {
	body, err := json.Marshal(a)
	if err != nil {
		d.dead(s.Name, a, "encoding")
		return
	}
	wait := d.opt.Backoff
	var last string
	for attempt := 1; attempt <= d.opt.MaxAttempts; attempt++ {
		if last = d.post(s, a.DetectionID, body); last == "" {
			return
		}
		d.opt.Logger.Warn("alert delivery failed", "sink", s, "attempt", attempt, "reason", last)
		if attempt == d.opt.MaxAttempts {
			break
		}
		select {
		case <-d.ctx.Done():
			d.dead(s.Name, a, "shutdown after: "+last)
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Minute)
	}
	d.dead(s.Name, a, fmt.Sprintf("%d attempts, last: %s", d.opt.MaxAttempts, last))
}

// Sign returns the X-Hisoka-Signature value of body sent at ts.
func Sign(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// post makes one attempt; it returns "" on success or the reason.
func (d *Dispatcher) post(s Sink, id string, body []byte) string {
	ctx, cancel := context.WithTimeout(d.ctx, d.opt.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return "bad URL"
	}
	ts := strconv.FormatInt(d.opt.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hisoka-Timestamp", ts)
	req.Header.Set("X-Hisoka-Delivery", id)
	req.Header.Set("X-Hisoka-Signature", Sign(s.Secret, ts, body))
	resp, err := d.opt.Client.Do(req)
	if err != nil {
		return "no answer"
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return "status " + strconv.Itoa(resp.StatusCode)
	}
	return ""
}
