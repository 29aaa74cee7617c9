package server

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hisoka-project/hisoka/server/internal/auth"
	"github.com/hisoka-project/hisoka/server/internal/config"
	"github.com/hisoka-project/hisoka/store"
	"github.com/hisoka-project/hisoka/store/embedded"
	"github.com/hisoka-project/hisoka/store/redis"
)

// Backend is what the service keeps in the store: logs and their ledger,
// tenants, resources, catalogue versions, the encrypted keyring, counters,
// boards, the access audit and pipeline state. Both store backends
// implement it.
type Backend interface {
	store.Log
	store.Tenants
	store.Resources
	store.Catalogue
	store.Keys
	store.Counters
	store.Boards
	store.Audit
	store.States
	Close() error
}

var (
	_ Backend = (*embedded.DB)(nil)
	_ Backend = (*redis.Store)(nil)
)

// OpenBackend opens the store the configuration names: Redis when
// cfg.Redis is set (a redis:// URL; addr= query parameters naming more
// nodes make it a Redis Cluster client), otherwise the embedded store
// in cfg.DataDir/store. signer signs the ledger checkpoints. The returned
// closer closes the store and any client.
func OpenBackend(cfg config.Config, signer ed25519.PrivateKey) (Backend, io.Closer, error) {
	st, _, closer, err := openBackend(cfg, signer)
	return st, closer, err
}

// redisPrefix starts every key of the Redis store (its default) and of the
// replay guard.
const redisPrefix = "hk:"

// openBackend is [OpenBackend], also returning the Redis client (nil for
// the embedded store).
func openBackend(cfg config.Config, signer ed25519.PrivateKey) (Backend, goredis.UniversalClient, io.Closer, error) {
	if cfg.Redis == "" {
		db, err := embedded.Open(cfg.DataDir+"/store", embedded.Options{Signer: signer})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("server: open embedded store: %w", err)
		}
		return db, nil, db, nil
	}
	var client goredis.UniversalClient
	if u, err := url.Parse(cfg.Redis); err == nil && u.Query().Has("addr") {
		opt, err := goredis.ParseClusterURL(cfg.Redis)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%w: redis cluster URL", config.ErrInvalid)
		}
		client = goredis.NewClusterClient(opt)
	} else {
		opt, err := goredis.ParseURL(cfg.Redis)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%w: redis URL", config.ErrInvalid)
		}
		client = goredis.NewClient(opt)
	}
	st, err := redis.New(redis.Options{Client: client, Prefix: redisPrefix, Signer: signer})
	if err != nil {
		client.Close()
		return nil, nil, nil, fmt.Errorf("server: open redis store: %w", err)
	}
	return st, client, closers{st, client}, nil
}

type closers []io.Closer

func (c closers) Close() error {
	var errs []error
	for _, x := range c {
		errs = append(errs, x.Close())
	}
	return errors.Join(errs...)
}

// storeReady is the /readyz check of the store: one small read.
type storeReady struct{ st store.States }

func (r storeReady) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := r.st.GetState(ctx, "ready-probe")
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// tenantKeys is the auth.KeyLookup over registered tenants.
type tenantKeys struct{ st store.Tenants }

var _ auth.KeyLookup = tenantKeys{}

func (k tenantKeys) TenantKey(ctx context.Context, tenant string) (ed25519.PublicKey, error) {
	if store.ValidTenant(tenant) != nil {
		return nil, auth.ErrUnknownKey
	}
	t, err := k.st.GetTenant(ctx, tenant)
	if errors.Is(err, store.ErrNotFound) {
		return nil, auth.ErrUnknownKey
	}
	if err != nil {
		return nil, err
	}
	if len(t.PublicKey) != ed25519.PublicKeySize {
		return nil, auth.ErrUnknownKey
	}
	return ed25519.PublicKey(t.PublicKey), nil
}

// Open builds the whole service from cfg: the issuer key in the data
// directory, the store, the token verifier (tenant keys from the store,
// an in-process replay cache with a per-tenant quota, behind a Redis guard
// shared by the replicas on the Redis store), the keyring (created on first start,
// persisted encrypted in the store) and every route. Call [Server.Start]
// to listen and run the pipeline, and [Server.Close] after
// [Server.Shutdown].
func Open(ctx context.Context, cfg config.Config, log *slog.Logger, rnd io.Reader) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if rnd == nil {
		return nil, errors.New("server: Open needs a randomness source")
	}
	issuerKey, err := auth.LoadOrCreateIssuerKey(cfg.DataDir, rnd)
	if err != nil {
		return nil, err
	}
	st, rc, closer, err := openBackend(cfg, issuerKey)
	if err != nil {
		return nil, err
	}
	var replay auth.ReplayGuard = auth.NewReplayCache(cfg.Auth.ReplayCacheSize, cfg.Auth.ReplayPerTenant, nil)
	if rc != nil {
		replay = &redisReplay{local: replay.(*auth.ReplayCache), c: rc, prefix: redisPrefix, now: time.Now}
	}
	v, err := auth.NewVerifier(auth.VerifierConfig{
		IssuerName: cfg.Auth.Issuer,
		IssuerKey:  issuerKey.Public().(ed25519.PublicKey),
		Audience:   cfg.Auth.Audience,
		Keys:       tenantKeys{st},
		Replay:     replay,
		Leeway:     cfg.Auth.Leeway,
	})
	if err != nil {
		closer.Close()
		return nil, err
	}
	s, err := New(cfg, Deps{
		Logger:    log,
		Verifier:  v,
		Ready:     []ReadyChecker{storeReady{st}},
		Rand:      rnd,
		Store:     st,
		IssuerKey: issuerKey,
	})
	if err != nil {
		closer.Close()
		return nil, err
	}
	s.closer = closer
	if err := s.svc.init(ctx); err != nil {
		closer.Close()
		return nil, err
	}
	return s, nil
}
