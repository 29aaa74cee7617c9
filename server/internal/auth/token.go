package auth

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MaxTenantLifetime bounds exp - iat of a tenant token.
const MaxTenantLifetime = 10 * time.Minute

// DefaultLeeway is the clock skew tolerated on exp, nbf and iat.
const DefaultLeeway = 30 * time.Second

const algEdDSA = "EdDSA"

type claims struct {
	jwt.RegisteredClaims
	Role   string `json:"role,omitempty"`
	Tenant string `json:"tenant,omitempty"`
}

// Issuer mints server tokens with the issuer key.
type Issuer struct {
	key      ed25519.PrivateKey
	name     string
	audience string
	rand     io.Reader
	now      func() time.Time
}

// NewIssuer returns an issuer signing with key, writing iss = name and aud =
// audience; rand supplies token ids and now the clock (nil means time.Now).
func NewIssuer(key ed25519.PrivateKey, name, audience string, rand io.Reader, now func() time.Time) *Issuer {
	if now == nil {
		now = time.Now
	}
	return &Issuer{key: key, name: name, audience: audience, rand: rand, now: now}
}

// PublicKey returns the issuer's public key.
func (i *Issuer) PublicKey() ed25519.PublicKey { return i.key.Public().(ed25519.PublicKey) }

// Name returns the iss claim the issuer writes.
func (i *Issuer) Name() string { return i.name }

// MintOptions describes a server token.
type MintOptions struct {
	Role Role // RoleOperator or RoleIngest
	// Tenant binds an ingest token to a tenant; empty means platform-ingest.
	// Operator tokens take no tenant.
	Tenant string
	TTL    time.Duration // must be positive
}

// ErrMintOptions is returned by [Issuer.Mint] for invalid options.
var ErrMintOptions = errors.New("auth: invalid token options")

// Mint returns a signed server token.
func (i *Issuer) Mint(o MintOptions) (string, error) {
	switch {
	case o.Role != RoleOperator && o.Role != RoleIngest:
		return "", fmt.Errorf("%w: role must be operator or ingest", ErrMintOptions)
	case o.Role == RoleOperator && o.Tenant != "":
		return "", fmt.Errorf("%w: operator tokens take no tenant", ErrMintOptions)
	case o.TTL <= 0:
		return "", fmt.Errorf("%w: ttl must be positive", ErrMintOptions)
	}
	jti, err := newTokenID(i.rand)
	if err != nil {
		return "", err
	}
	now := i.now().Truncate(time.Second)
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.name,
			Audience:  jwt.ClaimStrings{i.audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(o.TTL)),
			ID:        jti,
		},
		Role:   string(o.Role),
		Tenant: o.Tenant,
	}
	return jwt.NewWithClaims(jwt.SigningMethodEdDSA, c).SignedString(i.key)
}

// SignTenantToken returns a tenant token for tenant signed with key, valid
// from now for ttl (at most [MaxTenantLifetime]), with a random jti. It is
// what the tenant SDK does; the server uses it in tests and tools.
func SignTenantToken(key ed25519.PrivateKey, tenant, audience string, now time.Time, ttl time.Duration, rand io.Reader) (string, error) {
	if ttl <= 0 || ttl > MaxTenantLifetime {
		return "", fmt.Errorf("%w: ttl must be in (0, %v]", ErrMintOptions, MaxTenantLifetime)
	}
	jti, err := newTokenID(rand)
	if err != nil {
		return "", err
	}
	now = now.Truncate(time.Second)
	c := jwt.RegisteredClaims{
		Subject:   tenant,
		Audience:  jwt.ClaimStrings{audience},
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		ID:        jti,
	}
	return jwt.NewWithClaims(jwt.SigningMethodEdDSA, c).SignedString(key)
}

func newTokenID(rand io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", fmt.Errorf("auth: token id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// KeyLookup finds the Ed25519 public key registered for a tenant. It returns
// an error wrapping [ErrUnknownKey] when the tenant or its key does not
// exist; other errors are treated as internal failures.
type KeyLookup interface {
	TenantKey(ctx context.Context, tenant string) (ed25519.PublicKey, error)
}

// ReplayGuard records a tenant token's id until it expires. Claim returns
// [ErrReplayed] if tenant's id was already claimed and has not expired.
type ReplayGuard interface {
	Claim(ctx context.Context, tenant, id string, expires time.Time) error
}

// TenantLimiter charges one request to a tenant's rate, returning an error
// (such as a rate-limit error with a retry time) to refuse it.
type TenantLimiter interface {
	TakeTenant(tenant string) error
}

// VerifierConfig configures a [Verifier].
type VerifierConfig struct {
	IssuerName string            // iss of server tokens
	IssuerKey  ed25519.PublicKey // verifies server tokens
	Audience   string            // required aud of every token
	Keys       KeyLookup         // tenant keys
	Replay     ReplayGuard       // tenant jti cache
	// Limit, when set, charges a tenant token's request to its tenant after
	// the token verified and before its id is claimed in Replay.
	Limit  TenantLimiter
	Leeway time.Duration    // clock skew; zero means DefaultLeeway
	Now    func() time.Time // nil means time.Now
}

// Verifier checks tokens and returns principals.
type Verifier struct {
	cfg VerifierConfig
}

// NewVerifier returns a verifier. Every field of cfg but Limit, Leeway and
// Now is required.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	if cfg.IssuerName == "" || len(cfg.IssuerKey) != ed25519.PublicKeySize || cfg.Audience == "" || cfg.Keys == nil || cfg.Replay == nil {
		return nil, errors.New("auth: incomplete verifier configuration")
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = DefaultLeeway
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Verifier{cfg: cfg}, nil
}

// WithLimit returns a copy of v that charges tenant tokens to l before
// claiming their ids (see [VerifierConfig].Limit).
func (v *Verifier) WithLimit(l TenantLimiter) *Verifier {
	cfg := v.cfg
	cfg.Limit = l
	return &Verifier{cfg: cfg}
}

// Verify checks token and returns its principal. Failures wrap
// [ErrUnauthenticated] and are one of the package's sentinel errors, except
// for failures of the [KeyLookup] or [ReplayGuard] themselves, returned as is.
func (v *Verifier) Verify(ctx context.Context, token string) (Principal, error) {
	if token == "" {
		return Principal{}, ErrMissingToken
	}
	// Look at the header first so that no other alg reaches key selection.
	unverified, _, err := jwt.NewParser().ParseUnverified(token, &claims{})
	if err != nil {
		if errors.Is(err, jwt.ErrTokenUnverifiable) {
			return Principal{}, ErrAlgorithm // alg missing or unknown
		}
		return Principal{}, ErrMalformedToken
	}
	if alg, _ := unverified.Header["alg"].(string); alg != algEdDSA {
		return Principal{}, ErrAlgorithm
	}
	uc := unverified.Claims.(*claims)
	server := uc.Issuer == v.cfg.IssuerName
	var key ed25519.PublicKey
	if server {
		key = v.cfg.IssuerKey
	} else {
		if uc.Subject == "" {
			return Principal{}, ErrClaims
		}
		key, err = v.cfg.Keys.TenantKey(ctx, uc.Subject)
		if err != nil {
			if errors.Is(err, ErrUnknownKey) {
				return Principal{}, ErrUnknownKey
			}
			return Principal{}, fmt.Errorf("auth: tenant key lookup: %w", err)
		}
		if len(key) != ed25519.PublicKeySize {
			return Principal{}, ErrUnknownKey
		}
	}
	c := &claims{}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{algEdDSA}),
		jwt.WithAudience(v.cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(v.cfg.Leeway),
		jwt.WithTimeFunc(v.cfg.Now),
	)
	if _, err := parser.ParseWithClaims(token, c, func(*jwt.Token) (any, error) { return key, nil }); err != nil {
		return Principal{}, mapJWTError(err)
	}
	if c.ID == "" || c.IssuedAt == nil {
		return Principal{}, ErrClaims
	}
	if server {
		return v.serverPrincipal(c)
	}
	return v.tenantPrincipal(ctx, c)
}

func (v *Verifier) serverPrincipal(c *claims) (Principal, error) {
	role, err := ParseRole(c.Role)
	if err != nil || role == RoleTenant || (role == RoleOperator && c.Tenant != "") {
		return Principal{}, ErrClaims
	}
	return Principal{Role: role, Tenant: c.Tenant, TokenID: c.ID, ExpiresAt: c.ExpiresAt.Time}, nil
}

func (v *Verifier) tenantPrincipal(ctx context.Context, c *claims) (Principal, error) {
	if (c.Role != "" && c.Role != string(RoleTenant)) || (c.Tenant != "" && c.Tenant != c.Subject) {
		return Principal{}, ErrClaims
	}
	if c.ExpiresAt.Sub(c.IssuedAt.Time) > MaxTenantLifetime {
		return Principal{}, ErrLifetime
	}
	// A tenant over its rate takes no room in the replay guard.
	if v.cfg.Limit != nil {
		if err := v.cfg.Limit.TakeTenant(c.Subject); err != nil {
			return Principal{}, err
		}
	}
	// Keep the id past exp by the leeway, during which the token still verifies.
	if err := v.cfg.Replay.Claim(ctx, c.Subject, c.ID, c.ExpiresAt.Add(v.cfg.Leeway)); err != nil {
		return Principal{}, err
	}
	return Principal{Role: RoleTenant, Tenant: c.Subject, TokenID: c.ID, ExpiresAt: c.ExpiresAt.Time}, nil
}

func mapJWTError(err error) error {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return ErrMalformedToken
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return ErrSignature
	case errors.Is(err, jwt.ErrTokenExpired):
		return ErrExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return ErrNotYetValid
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return ErrAudience
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return ErrAlgorithm
	}
	return ErrClaims
}
