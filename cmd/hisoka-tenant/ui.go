package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/hisoka-project/hisoka/tenantclient"
)

// defaultUIAddr is where "hisoka-tenant ui" listens unless --listen says.
const defaultUIAddr = "127.0.0.1:7480"

// catalogRetry and catalogRefresh pace the dashboard's reads of the
// published catalogue (names of the pattern ids).
const (
	catalogRetry   = time.Minute
	catalogRefresh = time.Hour
)

// runUI is "hisoka-tenant ui": the local dashboard. It polls and verifies
// the board in the background through the SDK, exactly as "poll --follow"
// does (same state, so the two never deliver a notification twice), records
// what it verified in the journal, and serves the pages on loopback.
func runUI(ctx context.Context, e *env, args []string) error {
	fs, c := newFlags(e, "ui")
	listen := fs.String("listen", defaultUIAddr, "loopback address:port of the dashboard (port 0 picks one)")
	poll := fs.Bool("poll", true, "poll and verify the board in the background (false: only show what is stored)")
	verifyLogs := fs.Duration("verify-logs", 0, "also check this often that the service's history of the own logs still extends the one seen before (0: never)")
	wait := fs.Duration("wait", 30*time.Second, "how long one background poll waits for a batch (at most 60s)")
	refresh := fs.Duration("refresh", 30*time.Second, "how often the pages reload themselves (0: never)")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	addr, err := loopbackAddr(*listen)
	if err != nil {
		return err
	}
	if *wait <= 0 || *refresh < 0 || *verifyLogs < 0 {
		return fmt.Errorf("%w: --wait must be positive, --refresh and --verify-logs not negative", errUsage)
	}
	if !*poll && *verifyLogs == 0 && c.url == "" {
		c.url = "http://offline.invalid" // showing the stored state talks to nobody
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cl, err := c.clientLogging(e, log)
	if err != nil {
		return err
	}
	j, err := openJournal(c.state)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	secret, err := accessSecret()
	if err != nil {
		return err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	cat := &catalogNames{}
	d, err := newDashboard(cl, j, cat, secret, port, *poll, *refresh, log)
	if err != nil {
		return err
	}
	if *verifyLogs > 0 {
		d.logs = &logCheck{}
	}
	srv := &http.Server{Handler: d.routes(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var workers sync.WaitGroup
	if *poll {
		workers.Go(func() { pollInto(ctx, cl, j, *wait, e) })
		workers.Go(func() { fetchCatalog(ctx, cl, cat) })
	}
	if d.logs != nil {
		workers.Go(func() { d.logs.run(ctx, cl, j, *verifyLogs, e) })
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	host := ln.Addr().String()
	fmt.Fprintf(e.stdout, "Dashboard of tenant %s (state %s):\n  http://%s/?%s=%s\n", cl.Tenant(), c.state, host, accessParam, secret)
	fmt.Fprintln(e.stdout, "The address holds this run's access secret: open it in a browser on this machine and do not share it. Interrupt to stop.")

	select {
	case <-ctx.Done():
	case err = <-served:
	}
	cancel()
	// Finish the pages being served; a browser's idle or speculative
	// connections are then simply closed.
	sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer scancel()
	if srv.Shutdown(sctx) != nil {
		srv.Close()
	}
	workers.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// loopbackAddr checks that --listen names a loopback address ("localhost"
// means 127.0.0.1), so the dashboard is never reachable from other machines.
func loopbackAddr(listen string) (string, error) {
	bad := fmt.Errorf("%w: --listen must be a loopback address and port such as %s", errUsage, defaultUIAddr)
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", bad
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || strconv.FormatUint(p, 10) != port {
		return "", bad
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return "", bad
	}
	return net.JoinHostPort(ip.String(), port), nil
}

// accessSecret draws the run's access secret: 256 random bits.
func accessSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// pollInto long-polls through the SDK's iterator until ctx ends and records
// every verified notification and verification failure in the journal.
// The iterator paces the polls by their outcome only; what the loop body
// does (local disk writes) never shows on the network.
func pollInto(ctx context.Context, cl *tenantclient.Client, j *journal, wait time.Duration, e *env) {
	for n, err := range cl.Notifications(ctx, wait) {
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			fmt.Fprintln(e.stderr, "hisoka-tenant ui:", err)
			if jerr := j.addFailure(time.Now(), err); jerr != nil {
				fmt.Fprintln(e.stderr, "hisoka-tenant ui: journal:", jerr)
			}
			continue
		}
		if jerr := j.addNotification(time.Now(), n); jerr != nil {
			fmt.Fprintln(e.stderr, "hisoka-tenant ui: journal (shown until exit, not kept):", jerr)
		}
	}
}

// fetchCatalog keeps the catalogue's names: read at start, retried after a
// minute while it fails, read again every hour.
func fetchCatalog(ctx context.Context, cl *tenantclient.Client, cat *catalogNames) {
	for {
		next := catalogRefresh
		if c, err := cl.Catalog(ctx); err == nil {
			cat.set(c)
		} else {
			next = catalogRetry
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(next):
		}
	}
}

// logCheck checks the tenant's own log history now and then (ui
// --verify-logs) and keeps the outcome for the pages.
type logCheck struct {
	mu  sync.Mutex
	at  time.Time
	seq uint64
	err error
}

// last returns when the last check ended, up to which record the history
// is verified, and the check's error.
func (l *logCheck) last() (time.Time, uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.at, l.seq, l.err
}

// run checks every so often until ctx ends, recording verification
// failures in the journal.
func (l *logCheck) run(ctx context.Context, cl *tenantclient.Client, j *journal, every time.Duration, e *env) {
	for {
		seq, err := verifyOwnLogs(ctx, cl)
		if ctx.Err() != nil {
			return
		}
		l.mu.Lock()
		l.at, l.err = time.Now(), err
		if err == nil {
			l.seq = seq
		}
		l.mu.Unlock()
		if err != nil {
			fmt.Fprintln(e.stderr, "hisoka-tenant ui: own logs:", err)
			if jerr := j.addFailure(time.Now(), err); jerr != nil {
				fmt.Fprintln(e.stderr, "hisoka-tenant ui: journal:", jerr)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// verifyOwnLogs checks that the service's history of the tenant's logs
// still extends the newest checkpoint this state kept: it verifies that
// checkpoint's record with a proof up to the service's newest checkpoint
// (the records after it travel as hashes only), which the SDK walks through
// every kept checkpoint (tenantclient.ErrLogForked on a rewrite) and then
// keeps. With no checkpoint kept, or the kept record gone by retention, it
// verifies the first page of records instead. It returns the seq of the
// newest kept checkpoint; 0 when no log is stored.
func verifyOwnLogs(ctx context.Context, cl *tenantclient.Client) (uint64, error) {
	newest := func() uint64 {
		if cps := cl.Checkpoints(); len(cps) > 0 {
			return cps[len(cps)-1].Seq
		}
		return 0
	}
	from := newest()
	_, err := cl.VerifyLogs(ctx, from, from)
	if from > 0 && errors.Is(err, tenantclient.ErrNotFound) {
		_, err = cl.VerifyLogs(ctx, 0, 0)
	}
	if from == 0 && errors.Is(err, tenantclient.ErrNotFound) {
		return 0, nil // nothing stored yet
	}
	if err != nil {
		return 0, err
	}
	return newest(), nil
}
