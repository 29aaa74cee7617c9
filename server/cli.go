package server

import (
	"crypto/ed25519"
	"io"
	"time"

	"github.com/hisoka-project/hisoka/server/internal/auth"
	"github.com/hisoka-project/hisoka/server/internal/config"
)

// Config is the server configuration (server/internal/config).
type Config = config.Config

// LoadConfig builds the configuration of "hisoka serve" from defaults, the
// YAML file of --config or HISOKA_CONFIG, HISOKA_* variables (looked up with
// getenv) and flags; -h prints usage to usage and returns flag.ErrHelp.
func LoadConfig(args []string, getenv func(string) (string, bool), usage io.Writer) (Config, error) {
	return config.Load(args, getenv, usage)
}

// DefaultConfig returns the built-in configuration.
func DefaultConfig() Config { return config.Default() }

// TokenOptions describe a server token for [MintToken].
type TokenOptions struct {
	Role   string // "operator" or "ingest"
	Tenant string // ingest only: the tenant its lines belong to; "" for platform ingest
	TTL    time.Duration
}

// MintToken mints an operator or ingest token locally with the issuer key
// in cfg.DataDir (created if missing), as "hisoka admin token" does.
func MintToken(cfg Config, o TokenOptions, rnd io.Reader) (string, error) {
	role, err := auth.ParseRole(o.Role)
	if err != nil || role == auth.RoleTenant {
		return "", auth.ErrMintOptions
	}
	key, err := auth.LoadOrCreateIssuerKey(cfg.DataDir, rnd)
	if err != nil {
		return "", err
	}
	return auth.NewIssuer(key, cfg.Auth.Issuer, cfg.Auth.Audience, rnd, nil).Mint(auth.MintOptions{Role: role, Tenant: o.Tenant, TTL: o.TTL})
}

// SignTenantToken signs a tenant's own short-lived token (sub = tenant,
// aud = audience, at most 10 minutes), as the tenant SDK does.
func SignTenantToken(key ed25519.PrivateKey, tenant, audience string, now time.Time, ttl time.Duration, rnd io.Reader) (string, error) {
	return auth.SignTenantToken(key, tenant, audience, now, ttl, rnd)
}
