package auth

import (
	"context"
	"log/slog"
	"time"
)

// Role is what a caller may do.
type Role string

// The roles. Tenant is given to self-signed tenant tokens only; server tokens
// carry operator or ingest.
const (
	RoleOperator Role = "operator"
	RoleIngest   Role = "ingest"
	RoleTenant   Role = "tenant"
)

// ParseRole returns the role named s, or [ErrClaims].
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleOperator, RoleIngest, RoleTenant:
		return r, nil
	}
	return "", ErrClaims
}

// Principal is an authenticated caller.
type Principal struct {
	Role Role
	// Tenant is the tenant id: the subject of a tenant token, the tenant of a
	// tenant-ingest token, empty for operators and platform-ingest tokens.
	Tenant string
	// TokenID is the token's jti.
	TokenID   string
	ExpiresAt time.Time
}

// IsPlatformIngest reports whether p may send platform logs: an ingest
// token bound to no tenant.
func (p Principal) IsPlatformIngest() bool { return p.Role == RoleIngest && p.Tenant == "" }

// CheckTenant returns nil when p is a tenant, or a tenant-ingest caller,
// acting on its own tenant, and [ErrForbidden] otherwise. Operators are
// refused too: whether an operator may touch a tenant's data is a decision
// of the route, made with [RequireRole].
func (p Principal) CheckTenant(tenant string) error {
	if (p.Role == RoleTenant || p.Role == RoleIngest) && p.Tenant != "" && p.Tenant == tenant {
		return nil
	}
	return ErrForbidden
}

// LogValue logs the role and tenant, not the token id.
func (p Principal) LogValue() slog.Value {
	return slog.GroupValue(slog.String("role", string(p.Role)), slog.String("tenant", p.Tenant))
}

type principalKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal stored by [Middleware].
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
