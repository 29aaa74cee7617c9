package server

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hisoka-project/hisoka/crypto"
	"github.com/hisoka-project/hisoka/server/internal/auth"
	"github.com/hisoka-project/hisoka/server/internal/config"
	"github.com/hisoka-project/hisoka/server/internal/console"
	"github.com/hisoka-project/hisoka/server/internal/httperr"
	"github.com/hisoka-project/hisoka/server/internal/limit"
	"github.com/hisoka-project/hisoka/server/internal/metrics"
	"github.com/hisoka-project/hisoka/server/internal/requestid"
	"github.com/hisoka-project/hisoka/server/internal/syslogd"
)

// ReadyChecker is something /readyz asks before saying the server is
// ready: the store, for one. Its error goes to the log only.
type ReadyChecker interface {
	Ready(ctx context.Context) error
}

// Deps are what the server is built from beside its configuration.
type Deps struct {
	Logger  *slog.Logger     // required
	Metrics *metrics.Metrics // nil: a new set
	// Verifier authenticates callers of [Server.Group] routes; nil means
	// the server has no authenticated routes yet.
	Verifier *auth.Verifier
	// Ready are the readiness checks of /readyz.
	Ready []ReadyChecker
	// Rand makes request ids and, with Store, keys; nil means crypto/rand.
	Rand io.Reader
	// Store, when set, makes the whole service: every API route, the
	// keyring, boards and the pipeline ([Open] sets it). Without it the
	// server has only the public routes.
	Store Backend
	// IssuerKey signs server tokens and ledger checkpoints; required with
	// Store.
	IssuerKey ed25519.PrivateKey
	// Now is the service's clock; nil means time.Now.
	Now func() time.Time
}

// Server is the HTTP API and the syslog listeners of one process.
type Server struct {
	cfg      config.Config
	log      *slog.Logger
	metrics  *metrics.Metrics
	verifier *auth.Verifier
	ready    []ReadyChecker
	errors   *httperr.Handler
	echo     *echo.Echo
	http     *http.Server
	requests *limit.Rates // per-caller API requests
	lines    *limit.Rates // per-tenant ingested lines
	evals    *limit.Rates // per-tenant blind evaluation requests
	draining atomic.Bool

	svc     *service         // nil without Deps.Store
	console *console.Console // the operator console at /ui; nil without Deps.Store
	closer  io.Closer        // closes the store opened by Open

	mu        sync.Mutex
	syslog    *syslogd.Server
	addrs     []net.Addr
	listening []net.Addr
}

// evalBurst is how many evaluation requests a tenant may make at once
// before the one-per-second rate applies.
const evalBurst = 4

// New builds a server and registers its routes. It does not listen yet.
func New(cfg config.Config, deps Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		return nil, errors.New("server: Deps.Logger is required")
	}
	if deps.Metrics == nil {
		deps.Metrics = metrics.New()
	}
	if deps.Rand == nil {
		deps.Rand = rand.Reader
	}
	s := &Server{
		cfg:      cfg,
		log:      deps.Logger,
		metrics:  deps.Metrics,
		verifier: deps.Verifier,
		ready:    deps.Ready,
		errors:   httperr.New(deps.Logger, errorRules()...),
		requests: limit.NewRates(cfg.Limits.TenantRequestsPerSecond, cfg.Limits.TenantRequestBurst, 1<<20, nil),
		lines:    limit.NewRates(cfg.Limits.TenantLinesPerSecond, cfg.Limits.TenantBurst, 1<<20, nil),
		// Protocol 5.4: about one evaluation request per second per tenant
		// (a small burst lets a client retry at once).
		evals: limit.NewRates(1/crypto.DefaultEvaluationBudget().PerRequestInterval.Seconds(), evalBurst, 1<<20, nil),
	}
	if s.verifier != nil {
		// Tenant tokens are charged to the tenant's request rate before
		// their id is claimed (callerKey then skips them).
		s.verifier = s.verifier.WithLimit(tenantRequests{s.requests})
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errors.Handle
	e.Use(
		requestid.Middleware(requestid.NewGenerator(deps.Rand)),
		accessLog(s.log),
		s.metrics.Middleware(),
		recoverPanics(s.log),
		limit.Body(int64(cfg.Limits.MaxBodyBytes)),
	)
	s.echo = e
	if deps.Store != nil {
		if deps.Verifier == nil {
			return nil, errors.New("server: Deps.Store needs Deps.Verifier")
		}
		svc, err := newService(s, deps)
		if err != nil {
			return nil, err
		}
		s.svc = svc
		s.AddErrorRules(serviceErrorRules()...)
		if s.console, err = newConsole(s); err != nil {
			return nil, err
		}
	}
	s.routes()
	s.http = &http.Server{
		Handler:           e,
		ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout,
		IdleTimeout:       cfg.HTTP.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// Handler returns the HTTP handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.echo }

// Metrics returns the server's collectors.
func (s *Server) Metrics() *metrics.Metrics { return s.metrics }

// AddErrorRules adds mappings from domain errors to responses; call it
// before serving.
func (s *Server) AddErrorRules(rules ...httperr.Rule) { s.errors.Add(rules...) }

// Group returns a route group under prefix whose requests must carry a
// valid token of one of roles, and are rate limited per caller
// ([auth.Principal] tenant, or token id for server tokens). It needs
// [Deps.Verifier].
func (s *Server) Group(prefix string, roles ...auth.Role) *echo.Group {
	if s.verifier == nil {
		panic("server: Group needs Deps.Verifier") // a wiring mistake, not input
	}
	return s.echo.Group(prefix, auth.Middleware(s.verifier), auth.RequireRole(roles...), limit.Middleware(s.requests, callerKey))
}

// guard returns the middleware of [Server.Group] (auth, role, per-caller
// rate) for routes registered one by one, which unlike a group adds no
// catch-all route (unknown paths stay 404, not 401).
func (s *Server) guard(roles ...auth.Role) []echo.MiddlewareFunc {
	if s.verifier == nil {
		panic("server: guard needs Deps.Verifier") // a wiring mistake, not input
	}
	return []echo.MiddlewareFunc{auth.Middleware(s.verifier), auth.RequireRole(roles...), limit.Middleware(s.requests, callerKey)}
}

func callerKey(c echo.Context) string {
	p, ok := auth.FromContext(c.Request().Context())
	if !ok || p.Role == auth.RoleTenant {
		return "" // tenant tokens were charged by the verifier (tenantRequests)
	}
	if p.Tenant != "" {
		return tenantRequestKey(p.Tenant)
	}
	return string(p.Role) + "/" + p.TokenID
}

// tenantRequestKey is a tenant's bucket of API requests, shared by its own
// tokens and the ingest tokens minted for it.
func tenantRequestKey(tenant string) string { return "tenant/" + tenant }

// tenantRequests charges a tenant token's request to the tenant's bucket
// before the verifier claims the token's id, so a tenant over its rate
// takes no room in the replay guard.
type tenantRequests struct{ r *limit.Rates }

func (t tenantRequests) TakeTenant(tenant string) error { return t.r.Take(tenantRequestKey(tenant), 1) }

// TakeLines charges n ingested lines to tenant's bucket ("" for platform
// logs), returning a [*limit.RetryError] (HTTP 429 with Retry-After) when
// the tenant is over its rate.
func (s *Server) TakeLines(tenant string, n int) error {
	return s.lines.Take("lines/"+tenant, n)
}

// Serve serves HTTP on ln until [Server.Shutdown].
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.addrs = append(s.addrs, ln.Addr())
	s.mu.Unlock()
	s.log.Info("HTTP API listening", "addr", ln.Addr().String())
	if err := s.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ListenSyslog opens the syslog listeners the configuration names (TCP,
// UDP, TLS; empty addresses are skipped) and serves them into sink in the
// background until [Server.Shutdown]. It returns their addresses.
func (s *Server) ListenSyslog(sink syslogd.Sink) ([]net.Addr, error) {
	s.mu.Lock()
	started := s.syslog != nil
	s.mu.Unlock()
	if started {
		return nil, errors.New("server: syslog listeners already started")
	}
	c := s.cfg.Syslog
	srv := syslogd.NewServer(syslogd.Config{
		MaxFrameBytes: int(s.cfg.Limits.MaxFrameBytes),
		// Larger batches than syslogd's default: each batch is one durable
		// (synced) store append.
		MaxBatch:      8192,
		MaxBatchBytes: 2 << 20,
		// A batch is what the read buffer holds: 256 KiB per connection
		// (at most max_conns of them) makes batches of about a thousand
		// lines instead of a few hundred.
		ReadBuffer:  256 << 10,
		MaxConns:    c.MaxConns,
		IdleTimeout: c.IdleTimeout,
		Logger:      s.log,
		ConnChange: func(t syslogd.Transport, d int) {
			s.metrics.SyslogConnections.WithLabelValues("syslog_" + string(t)).Add(float64(d))
		},
	}, sink)
	var tlsCfg *tls.Config
	if c.TLSAddr != "" {
		var err error
		if tlsCfg, err = syslogd.LoadTLSConfig(c.TLSCert, c.TLSKey, c.TLSClientCA); err != nil {
			return nil, err
		}
	}
	var addrs []net.Addr
	var transports []syslogd.Transport // transports[i] is what addrs[i] listens for
	var serve []func() error
	fail := func(err error) ([]net.Addr, error) {
		srv.Shutdown(context.Background())
		return nil, err
	}
	for _, l := range []struct {
		addr string
		t    syslogd.Transport
	}{{c.TCPAddr, syslogd.TCP}, {c.TLSAddr, syslogd.TLS}} {
		if l.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			return fail(fmt.Errorf("server: syslog %s listener: %w", l.t, err))
		}
		if l.t == syslogd.TLS {
			ln = tls.NewListener(ln, tlsCfg)
		}
		addrs = append(addrs, ln.Addr())
		transports = append(transports, l.t)
		t := l.t
		serve = append(serve, func() error { return srv.ServeStream(ln, t) })
	}
	if c.UDPAddr != "" {
		pc, err := net.ListenPacket("udp", c.UDPAddr)
		if err != nil {
			return fail(fmt.Errorf("server: syslog udp listener: %w", err))
		}
		addrs = append(addrs, pc.LocalAddr())
		transports = append(transports, syslogd.UDP)
		serve = append(serve, func() error { return srv.ServePacket(pc) })
	}
	s.mu.Lock()
	s.syslog = srv
	s.mu.Unlock()
	for i, f := range serve {
		s.log.Info("syslog listening", "transport", string(transports[i]), "addr", addrs[i].String())
		go func() {
			if err := f(); err != nil && !errors.Is(err, syslogd.ErrServerClosed) {
				s.log.Error("syslog listener stopped", "err", err)
			}
		}()
	}
	return addrs, nil
}

// Shutdown makes /readyz fail (so load balancers stop sending), stops the
// syslog listeners and lets them drain into the sink, then stops HTTP and
// waits for requests in flight, all within ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	s.mu.Lock()
	sl := s.syslog
	s.mu.Unlock()
	var errs []error
	if sl != nil {
		errs = append(errs, sl.Shutdown(ctx))
	}
	if s.svc != nil {
		s.svc.boards.shutdown() // long polls answer now rather than hold shutdown up
	}
	errs = append(errs, s.http.Shutdown(ctx))
	return errors.Join(errs...)
}

func recoverPanics(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				if r := recover(); r != nil {
					if r == http.ErrAbortHandler {
						panic(r)
					}
					log.ErrorContext(c.Request().Context(), "handler panic", "route", c.Path(), "stack", string(debug.Stack()))
					err = errors.New("server: handler panic")
				}
			}()
			return next(c)
		}
	}
}
