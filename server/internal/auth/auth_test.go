package auth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"
)

const (
	testIssuer   = "hisoka"
	testAudience = "https://hisoka.test"
)

var epoch = time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)

type keyMap map[string]ed25519.PublicKey

func (m keyMap) TenantKey(_ context.Context, tenant string) (ed25519.PublicKey, error) {
	k, ok := m[tenant]
	if !ok {
		return nil, fmt.Errorf("lookup %w", ErrUnknownKey)
	}
	return k, nil
}

type fixture struct {
	issuer   *Issuer
	verifier *Verifier
	tenantA  ed25519.PrivateKey
	stranger ed25519.PrivateKey
	now      *time.Time
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	seed := func(b byte) ed25519.PrivateKey { return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, 32)) }
	f := &fixture{tenantA: seed(2), stranger: seed(3)}
	now := epoch
	f.now = &now
	clock := func() time.Time { return *f.now }
	f.issuer = NewIssuer(seed(1), testIssuer, testAudience, rand.Reader, clock)
	v, err := NewVerifier(VerifierConfig{
		IssuerName: testIssuer,
		IssuerKey:  f.issuer.PublicKey(),
		Audience:   testAudience,
		Keys:       keyMap{"tenant-a": f.tenantA.Public().(ed25519.PublicKey)},
		Replay:     NewReplayCache(1000, 0, clock),
		Now:        clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.verifier = v
	return f
}

func sign(t testing.TB, method jwt.SigningMethod, key any, c jwt.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func tenantClaims(now time.Time, ttl time.Duration, jti string) jwt.RegisteredClaims {
	return jwt.RegisteredClaims{
		Subject: "tenant-a", Audience: jwt.ClaimStrings{testAudience},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)), ID: jti,
	}
}

func TestVerifyAccepts(t *testing.T) {
	f := newFixture(t)
	op, err := f.issuer.Mint(MintOptions{Role: RoleOperator, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	platform, _ := f.issuer.Mint(MintOptions{Role: RoleIngest, TTL: time.Hour})
	tenantIngest, _ := f.issuer.Mint(MintOptions{Role: RoleIngest, Tenant: "tenant-b", TTL: time.Hour})
	tenant, err := SignTenantToken(f.tenantA, "tenant-a", testAudience, epoch, 5*time.Minute, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		token string
		role  Role
		ten   string
	}{
		{"operator", op, RoleOperator, ""},
		{"platform ingest", platform, RoleIngest, ""},
		{"tenant ingest", tenantIngest, RoleIngest, "tenant-b"},
		{"tenant self-signed", tenant, RoleTenant, "tenant-a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := f.verifier.Verify(context.Background(), tt.token)
			if err != nil {
				t.Fatal(err)
			}
			if p.Role != tt.role || p.Tenant != tt.ten || p.TokenID == "" {
				t.Fatalf("got %+v", p)
			}
		})
	}
	// Server tokens are reusable; only tenant tokens are single-use.
	if _, err := f.verifier.Verify(context.Background(), op); err != nil {
		t.Fatalf("second use of operator token: %v", err)
	}
}

func TestVerifyRejects(t *testing.T) {
	f := newFixture(t)
	pubA := f.tenantA.Public().(ed25519.PublicKey)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	good := tenantClaims(epoch, 5*time.Minute, "j1")
	withAud := good
	withAud.Audience = jwt.ClaimStrings{"https://elsewhere"}
	expired := tenantClaims(epoch.Add(-20*time.Minute), 5*time.Minute, "j2")
	future := tenantClaims(epoch.Add(5*time.Minute), 5*time.Minute, "j3")
	notBefore := tenantClaims(epoch, 5*time.Minute, "j4")
	notBefore.NotBefore = jwt.NewNumericDate(epoch.Add(2 * time.Minute))
	long := tenantClaims(epoch, 11*time.Minute, "j5")
	unknown := tenantClaims(epoch, 5*time.Minute, "j6")
	unknown.Subject = "tenant-z"
	noJTI := tenantClaims(epoch, 5*time.Minute, "")
	noExp := tenantClaims(epoch, 5*time.Minute, "j7")
	noExp.ExpiresAt = nil
	noSub := tenantClaims(epoch, 5*time.Minute, "j8")
	noSub.Subject = ""
	claimsOperator := claims{RegisteredClaims: tenantClaims(epoch, 5*time.Minute, "j9"), Role: "operator"}
	forgedIss := tenantClaims(epoch, 5*time.Minute, "j10")
	forgedIss.Issuer = testIssuer
	strangerOp := claims{RegisteredClaims: jwt.RegisteredClaims{Issuer: testIssuer, Audience: jwt.ClaimStrings{testAudience},
		IssuedAt: jwt.NewNumericDate(epoch), ExpiresAt: jwt.NewNumericDate(epoch.Add(time.Hour)), ID: "j11"}, Role: "operator"}
	badRole := strangerOp
	badRole.Role = "root"
	badRole.ID = "j12"
	noneTok := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good)
	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"missing", "", ErrMissingToken},
		{"garbage", "not-a-jwt", ErrMalformedToken},
		{"bad base64", "a.b.c", ErrMalformedToken},
		{"alg none", noneTok, ErrAlgorithm},
		{"alg none, signature appended", noneTok + "AAAA", ErrAlgorithm},
		// The classic confusion attack: HMAC keyed with the tenant's public key.
		{"HS256 with public key as secret", sign(t, jwt.SigningMethodHS256, []byte(pubA), good), ErrAlgorithm},
		{"ES256", sign(t, jwt.SigningMethodES256, ecKey, good), ErrAlgorithm},
		{"unknown alg", "eyJhbGciOiJGT08iLCJ0eXAiOiJKV1QifQ.e30.AAAA", ErrAlgorithm},
		{"signed by another key", sign(t, jwt.SigningMethodEdDSA, f.stranger, good), ErrSignature},
		{"expired", sign(t, jwt.SigningMethodEdDSA, f.tenantA, expired), ErrExpired},
		{"issued in the future", sign(t, jwt.SigningMethodEdDSA, f.tenantA, future), ErrNotYetValid},
		{"not yet valid", sign(t, jwt.SigningMethodEdDSA, f.tenantA, notBefore), ErrNotYetValid},
		{"wrong audience", sign(t, jwt.SigningMethodEdDSA, f.tenantA, withAud), ErrAudience},
		{"lifetime over 10 minutes", sign(t, jwt.SigningMethodEdDSA, f.tenantA, long), ErrLifetime},
		{"unknown tenant", sign(t, jwt.SigningMethodEdDSA, f.tenantA, unknown), ErrUnknownKey},
		{"no jti", sign(t, jwt.SigningMethodEdDSA, f.tenantA, noJTI), ErrClaims},
		{"no exp", sign(t, jwt.SigningMethodEdDSA, f.tenantA, noExp), ErrClaims},
		{"no sub", sign(t, jwt.SigningMethodEdDSA, f.tenantA, noSub), ErrClaims},
		{"tenant claiming operator", sign(t, jwt.SigningMethodEdDSA, f.tenantA, claimsOperator), ErrClaims},
		{"tenant forging server iss", sign(t, jwt.SigningMethodEdDSA, f.tenantA, forgedIss), ErrSignature},
		{"server token from another key", sign(t, jwt.SigningMethodEdDSA, f.stranger, strangerOp), ErrSignature},
		{"server token with unknown role", sign(t, jwt.SigningMethodEdDSA, f.issuer.key, badRole), ErrClaims},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := f.verifier.Verify(context.Background(), tt.token)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("err %v does not wrap ErrUnauthenticated", err)
			}
			if p != (Principal{}) {
				t.Fatalf("principal %+v returned with error", p)
			}
		})
	}
}

func TestVerifyReplay(t *testing.T) {
	f := newFixture(t)
	tok, err := SignTenantToken(f.tenantA, "tenant-a", testAudience, epoch, 2*time.Minute, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.verifier.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if _, err := f.verifier.Verify(context.Background(), tok); !errors.Is(err, ErrReplayed) {
		t.Fatalf("replay: %v", err)
	}
	*f.now = epoch.Add(time.Minute)
	if _, err := f.verifier.Verify(context.Background(), tok); !errors.Is(err, ErrReplayed) {
		t.Fatalf("replay a minute later: %v", err)
	}
	*f.now = epoch.Add(3 * time.Minute)
	if _, err := f.verifier.Verify(context.Background(), tok); !errors.Is(err, ErrExpired) {
		t.Fatalf("after expiry: %v", err)
	}
}

func TestReplayCacheBounded(t *testing.T) {
	now := epoch
	r := NewReplayCache(2, 0, func() time.Time { return now })
	ctx := context.Background()
	for _, k := range []string{"a", "b"} {
		if err := r.Claim(ctx, "t", k, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Claim(ctx, "t", "c", now.Add(time.Minute)); !errors.Is(err, ErrReplayCacheFull) {
		t.Fatalf("full cache: %v", err)
	}
	if err := r.Claim(ctx, "t", "a", now.Add(time.Minute)); !errors.Is(err, ErrReplayed) {
		t.Fatalf("replay in full cache: %v", err)
	}
	if err := r.Claim(ctx, "u", "a", now.Add(time.Minute)); !errors.Is(err, ErrReplayCacheFull) {
		t.Fatalf("another tenant's id in a full cache: %v", err)
	}
	now = now.Add(2 * time.Minute)
	if err := r.Claim(ctx, "t", "c", now.Add(time.Minute)); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if r.Len() != 1 {
		t.Fatalf("len = %d, want 1 (expired ids dropped)", r.Len())
	}
}

// TestReplayCacheTenantQuota: one tenant filling its quota gets a retry
// error (429), the others still claim; the quota frees as ids expire; the
// same id of two tenants are two ids.
func TestReplayCacheTenantQuota(t *testing.T) {
	now := epoch
	r := NewReplayCache(100, 3, func() time.Time { return now })
	ctx := context.Background()
	for i := range 3 {
		if err := r.Claim(ctx, "greedy", fmt.Sprint(i), now.Add(time.Duration(i+1)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	err := r.Claim(ctx, "greedy", "3", now.Add(time.Minute))
	var qe *QuotaError
	if !errors.Is(err, ErrReplayQuota) || !errors.As(err, &qe) || qe.RetryAfter() <= 0 {
		t.Fatalf("over quota: %v", err)
	}
	if err := r.Claim(ctx, "greedy", "0", now.Add(time.Minute)); !errors.Is(err, ErrReplayed) {
		t.Fatalf("replay over quota: %v", err)
	}
	for i := range 3 {
		if err := r.Claim(ctx, "other", fmt.Sprint(i), now.Add(time.Minute)); err != nil {
			t.Fatalf("other tenant locked out: %v", err)
		}
	}
	now = now.Add(time.Minute) // greedy's first id expired
	if err := r.Claim(ctx, "greedy", "3", now.Add(time.Minute)); err != nil {
		t.Fatalf("after one expiry: %v", err)
	}
	if err := r.Claim(ctx, "greedy", "4", now.Add(time.Minute)); !errors.Is(err, ErrReplayQuota) {
		t.Fatalf("quota again: %v", err)
	}
}

// TestVerifyLimitsBeforeClaim: a tenant token refused by the rate limiter
// leaves no id in the replay guard, so the same token passes later.
func TestVerifyLimitsBeforeClaim(t *testing.T) {
	f := newFixture(t)
	lim := &countdown{refuse: 1}
	v := f.verifier.WithLimit(lim)
	tok := sign(t, jwt.SigningMethodEdDSA, f.tenantA, tenantClaims(epoch, 5*time.Minute, "limited"))
	if _, err := v.Verify(context.Background(), tok); !errors.Is(err, errLimited) {
		t.Fatalf("limited: %v", err)
	}
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("after the limit: %v", err)
	}
	if _, err := v.Verify(context.Background(), tok); !errors.Is(err, ErrReplayed) {
		t.Fatalf("replay: %v", err)
	}
	if lim.tenants[0] != "tenant-a" {
		t.Fatalf("charged %v", lim.tenants)
	}
}

var errLimited = errors.New("test: limited")

type countdown struct {
	refuse  int
	tenants []string
}

func (c *countdown) TakeTenant(tenant string) error {
	c.tenants = append(c.tenants, tenant)
	if c.refuse > 0 {
		c.refuse--
		return errLimited
	}
	return nil
}

func TestMintOptions(t *testing.T) {
	f := newFixture(t)
	for _, o := range []MintOptions{
		{Role: RoleTenant, TTL: time.Hour},
		{Role: "root", TTL: time.Hour},
		{Role: RoleOperator, Tenant: "x", TTL: time.Hour},
		{Role: RoleIngest, TTL: 0},
	} {
		if _, err := f.issuer.Mint(o); !errors.Is(err, ErrMintOptions) {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

func TestIssuerKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k1, err := LoadOrCreateIssuerKey(dir, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, IssuerKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode().Perm())
	}
	k2, err := LoadOrCreateIssuerKey(dir, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Equal(k2) {
		t.Fatal("key not reloaded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left temporary files: %v", entries)
	}
	if err := os.Chmod(filepath.Join(dir, IssuerKeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateIssuerKey(dir, rand.Reader); !errors.Is(err, ErrKeyFile) {
		t.Fatalf("world-readable key: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, IssuerKeyFile), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateIssuerKey(dir, rand.Reader); !errors.Is(err, ErrKeyFile) {
		t.Fatalf("junk key: %v", err)
	}
}

// TestMiddleware runs the middleware on a real HTTP server.
func TestMiddleware(t *testing.T) {
	f := newFixture(t)
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		code := http.StatusInternalServerError
		switch {
		case errors.Is(err, ErrUnauthenticated):
			code = http.StatusUnauthorized
		case errors.Is(err, ErrForbidden):
			code = http.StatusForbidden
		}
		_ = c.NoContent(code)
	}
	g := e.Group("/v1", Middleware(f.verifier))
	g.GET("/op", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }, RequireRole(RoleOperator))
	g.GET("/t/:tenant", func(c echo.Context) error {
		p, _ := FromContext(c.Request().Context())
		if err := p.CheckTenant(c.Param("tenant")); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	}, RequireRole(RoleTenant))
	srv := httptest.NewServer(e)
	defer srv.Close()

	op, _ := f.issuer.Mint(MintOptions{Role: RoleOperator, TTL: time.Hour})
	tenant := func() string {
		s, err := SignTenantToken(f.tenantA, "tenant-a", testAudience, epoch, time.Minute, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name, path, auth string
		want             int
	}{
		{"no header", "/v1/op", "", 401},
		{"basic auth", "/v1/op", "Basic dTpw", 401},
		{"operator", "/v1/op", "Bearer " + op, 204},
		{"tenant on operator route", "/v1/op", "Bearer " + tenant(), 403},
		{"tenant on own data", "/v1/t/tenant-a", "Bearer " + tenant(), 204},
		{"tenant on other tenant", "/v1/t/tenant-b", "Bearer " + tenant(), 403},
		{"operator on tenant route", "/v1/t/tenant-a", "bearer " + op, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+tt.path, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}

func TestPrincipalLogValueHidesTokenID(t *testing.T) {
	p := Principal{Role: RoleTenant, Tenant: "t", TokenID: "secret-jti"}
	if strings.Contains(p.LogValue().String(), "secret-jti") {
		t.Fatal("token id logged")
	}
}

func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	op, _ := fx.issuer.Mint(MintOptions{Role: RoleOperator, TTL: time.Hour})
	ten, _ := SignTenantToken(fx.tenantA, "tenant-a", testAudience, epoch, time.Minute, rand.Reader)
	for _, s := range []string{op, ten, "", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "Bearer x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := fx.verifier.Verify(context.Background(), tok)
		if err != nil {
			if p != (Principal{}) {
				t.Fatalf("principal with error: %+v", p)
			}
			if !errors.Is(err, ErrUnauthenticated) && !errors.Is(err, ErrReplayCacheFull) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		if p.Role == "" {
			t.Fatal("empty role accepted")
		}
	})
}

func BenchmarkVerifyServerToken(b *testing.B) {
	f := newFixture(b)
	tok, _ := f.issuer.Mint(MintOptions{Role: RoleIngest, TTL: time.Hour})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.verifier.Verify(context.Background(), tok); err != nil {
			b.Fatal(err)
		}
	}
}
