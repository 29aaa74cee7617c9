package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hisoka-project/hisoka/server/internal/alerts"
	"github.com/hisoka-project/hisoka/spec"
	"github.com/hisoka-project/hisoka/store"
)

// service is everything beyond the transport: the store, keys, boards, the
// attribution of lines to tenants and the pipeline. It exists when
// [Deps.Store] is set.
type service struct {
	s      *Server
	st     Backend
	keys   *keyStore
	ledger ed25519.PublicKey
	boards *boards
	pmu    sync.Mutex
	pipes  map[string]*pipeline // stream -> its pipeline (platform and tenants)
	bgCtx  context.Context      // set by start
	now    func() time.Time
	rnd    io.Reader

	sources  *sources
	commits  committers                            // group commit per stream
	alerts   *alerts.Dispatcher                    // nil without configured sinks
	addrs    atomic.Pointer[map[netip.Addr]string] // source address -> tenant
	projects atomic.Pointer[map[string]string]     // OpenStack project id -> tenant
	quotas   atomic.Pointer[map[string]uint64]     // registered tenant -> storage quota in bytes (0: none)
	creds    *credCache

	bg     sync.WaitGroup
	cancel context.CancelFunc
}

func newService(s *Server, deps Deps) (*service, error) {
	if deps.IssuerKey == nil {
		return nil, errors.New("server: Deps.Store needs Deps.IssuerKey")
	}
	k, err := newKeys(deps.Store, deps.IssuerKey, deps.Rand)
	if err != nil {
		return nil, err
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	svc := &service{s: s, st: deps.Store, keys: k, ledger: deps.IssuerKey.Public().(ed25519.PublicKey), now: now, rnd: deps.Rand, creds: newCredCache(1 << 14)}
	svc.boards = newBoards(svc)
	svc.sources = newSources()
	if len(s.cfg.Alerts) > 0 {
		var sinks []alerts.Sink
		for _, a := range s.cfg.Alerts {
			secret := []byte(a.Secret)
			if a.SecretFile != "" {
				b, err := os.ReadFile(a.SecretFile)
				if err != nil {
					return nil, fmt.Errorf("server: alert sink %s: secret file: %w", a.Name, err)
				}
				secret = bytes.TrimSpace(b)
			}
			sinks = append(sinks, alerts.Sink{Name: a.Name, URL: a.URL, Secret: secret, MinSeverity: a.MinSeverity})
		}
		d, err := alerts.New(sinks, svc.deadLetter, alerts.Options{Logger: s.log})
		if err != nil {
			return nil, err
		}
		svc.alerts = d
	}
	svc.pipes = map[string]*pipeline{spec.TenantPlatform: newPipeline(svc, spec.TenantPlatform)}
	empty := map[netip.Addr]string{}
	svc.addrs.Store(&empty)
	noProjects := map[string]string{}
	svc.projects.Store(&noProjects)
	noQuotas := map[string]uint64{}
	svc.quotas.Store(&noQuotas)
	return svc, nil
}

// init loads what the service needs before serving: the keyring (created
// on first start), the source address map and the pipeline's state.
func (svc *service) init(ctx context.Context) error {
	if err := svc.keys.load(ctx, svc.now()); err != nil {
		return err
	}
	if err := svc.refreshAddrs(ctx); err != nil {
		return err
	}
	if err := svc.pipes[spec.TenantPlatform].load(ctx); err != nil {
		return err
	}
	ts, err := svc.st.ListTenants(ctx)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if _, err := svc.pipeFor(ctx, t.ID); err != nil {
			return err
		}
	}
	return nil
}

// pipeFor returns the pipeline of a stream, creating (and, once the
// service runs, starting) it on first use; reserved streams other than the
// platform's have none.
func (svc *service) pipeFor(ctx context.Context, stream string) (*pipeline, error) {
	if stream != spec.TenantPlatform && spec.Reserved(stream) {
		return nil, nil
	}
	svc.pmu.Lock()
	defer svc.pmu.Unlock()
	if p, ok := svc.pipes[stream]; ok {
		return p, nil
	}
	p := newPipeline(svc, stream)
	if err := p.load(ctx); err != nil {
		return nil, err
	}
	svc.pipes[stream] = p
	if svc.bgCtx != nil {
		svc.runPipe(p)
	}
	return p, nil
}

// runPipe starts a pipeline's goroutine; pmu is held.
func (svc *service) runPipe(p *pipeline) {
	svc.bg.Add(1)
	go func() {
		defer svc.bg.Done()
		p.run(svc.bgCtx)
	}()
}

// allPipes returns every pipeline.
func (svc *service) allPipes() []*pipeline {
	svc.pmu.Lock()
	defer svc.pmu.Unlock()
	out := make([]*pipeline, 0, len(svc.pipes))
	for _, p := range svc.pipes {
		out = append(out, p)
	}
	return out
}

// lagging reports whether a stream's pipeline is too far behind to take
// more lines now.
func (svc *service) lagging(stream string) bool {
	svc.pmu.Lock()
	p := svc.pipes[stream]
	svc.pmu.Unlock()
	return p != nil && p.lagging()
}

// refreshAddrs rebuilds the source address map from every tenant's
// resources (platform hosts included).
func (svc *service) refreshAddrs(ctx context.Context) error {
	ts, err := svc.st.ListTenants(ctx)
	if err != nil {
		return err
	}
	ids := []string{spec.TenantPlatform}
	projects := map[string]string{}
	quotas := map[string]uint64{}
	for _, t := range ts {
		ids = append(ids, t.ID)
		quotas[t.ID] = t.Quota
		if p := t.Settings["project"]; p != "" {
			projects[p] = t.ID
		}
	}
	m := map[netip.Addr]string{}
	for _, id := range ids {
		rs, err := svc.st.ListResources(ctx, id)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if r.Project != "" && !spec.Reserved(r.Tenant) {
				if _, ok := projects[r.Project]; !ok {
					projects[r.Project] = r.Tenant
				}
			}
			for _, a := range r.Addresses {
				if ip, err := netip.ParseAddr(a); err == nil {
					m[ip.Unmap()] = r.Tenant
				}
			}
		}
	}
	svc.addrs.Store(&m)
	svc.projects.Store(&projects)
	svc.quotas.Store(&quotas)
	return nil
}

// registered reports whether tenant is a registered tenant (as of the last
// refresh of the maps, which every tenant change triggers).
func (svc *service) registered(tenant string) bool {
	_, ok := (*svc.quotas.Load())[tenant]
	return ok
}

// tenantByAddr returns the tenant owning a source address, or "".
func (svc *service) tenantByAddr(a netip.Addr) string {
	return (*svc.addrs.Load())[a.Unmap()]
}

// start runs the background work: the pipeline, key rotation, the per-epoch
// board batches, ledger checkpoints and retention.
func (svc *service) start() {
	ctx, cancel := context.WithCancel(context.Background())
	svc.cancel = cancel
	svc.pmu.Lock()
	svc.bgCtx = ctx
	for _, p := range svc.pipes {
		svc.runPipe(p)
	}
	svc.pmu.Unlock()
	svc.bg.Add(1)
	go func() {
		defer svc.bg.Done()
		svc.housekeeping(ctx)
	}()
}

// stop ends the background work and waits for it (the pipeline saves its
// state before returning).
func (svc *service) stop() {
	if svc.cancel != nil {
		svc.cancel()
	}
	svc.bg.Wait()
	if svc.alerts != nil {
		svc.alerts.Close()
	}
}

// deadLetter records an alert no webhook took in the operators'
// "deadletters" stream.
func (svc *service) deadLetter(sink string, a alerts.Alert, reason string) {
	line, err := json.Marshal(struct {
		Sink   string       `json:"sink"`
		Reason string       `json:"reason"`
		Alert  alerts.Alert `json:"alert"`
	}{sink, reason, a})
	if err == nil {
		now := svc.now()
		_, _, err = svc.st.Append(context.Background(), spec.TenantDeadLetter, []store.Record{{Time: now, Received: now, App: "alerts", Severity: 3, Line: string(line),
			Fields: map[string]string{"sink": sink, "detection_id": a.DetectionID}}})
	}
	if err != nil {
		svc.s.log.Error("dead letter not stored", "sink", sink, "err", err)
	}
}

func (svc *service) housekeeping(ctx context.Context) {
	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
	slow := 0
	for {
		now := svc.now()
		if _, err := svc.keys.rotate(ctx, now); err != nil && ctx.Err() == nil {
			svc.s.log.Error("key rotation failed", "err", err)
		}
		if err := svc.boards.heartbeat(ctx, now); err != nil && ctx.Err() == nil {
			svc.s.log.Error("epoch batches failed", "err", err)
		}
		if slow%4 == 0 {
			if err := svc.st.CheckpointAll(ctx); err != nil && ctx.Err() == nil {
				svc.s.log.Error("ledger checkpoints failed", "err", err)
			}
			if _, err := svc.st.EnforceRetention(ctx, now); err != nil && ctx.Err() == nil {
				svc.s.log.Error("retention failed", "err", err)
			}
			if err := svc.refreshAddrs(ctx); err != nil && ctx.Err() == nil {
				svc.s.log.Error("resource map refresh failed", "err", err)
			}
			if err := svc.dailyReports(ctx, now); err != nil && ctx.Err() == nil {
				svc.s.log.Error("daily reports failed", "err", err)
			}
		}
		slow++
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Start listens on the configured HTTP and syslog addresses, starts the
// pipeline and returns once everything listens. It needs a server made by
// [Open].
func (s *Server) Start() error {
	if s.svc == nil {
		return errors.New("server: Start needs a server made by Open")
	}
	ln, err := net.Listen("tcp", s.cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("server: HTTP listener: %w", err)
	}
	sl, err := s.ListenSyslog(syslogSink{s.svc})
	if err != nil {
		ln.Close()
		return err
	}
	s.mu.Lock()
	s.listening = append([]net.Addr{ln.Addr()}, sl...)
	s.mu.Unlock()
	s.svc.start()
	go func() {
		if err := s.Serve(ln); err != nil {
			s.log.Error("HTTP server stopped", "err", err)
		}
	}()
	return nil
}

// Pending returns how many acknowledged lines (platform and tenants' VM
// logs) the pipelines have not processed yet.
func (s *Server) Pending() uint64 {
	if s.svc == nil {
		return 0
	}
	var n uint64
	for _, p := range s.svc.allPipes() {
		if a, c := p.appended.Load(), p.cursor.Load(); a > c {
			n += a - c
		}
	}
	return n
}

// Addrs returns the addresses the server listens on: HTTP first, then the
// syslog listeners in the order TCP, TLS, UDP (those configured).
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]net.Addr(nil), s.listening...)
}

// Close stops the pipeline (after [Server.Shutdown] has drained the
// listeners) and closes the store.
func (s *Server) Close() error {
	if s.svc != nil {
		s.svc.stop()
	}
	if s.closer != nil {
		return s.closer.Close()
	}
	return nil
}
