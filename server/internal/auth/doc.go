// Package auth authenticates API callers with EdDSA JSON Web Tokens (RFC 8037,
// github.com/golang-jwt/jwt/v5) and enforces roles.
//
// Two kinds of token exist:
//
//   - Server tokens are minted by [Issuer] with the server's own Ed25519 key
//     ([LoadOrCreateIssuerKey], kept in the data directory). They carry the
//     claim role = operator or ingest; an ingest token may name a tenant
//     (tenant-ingest: everything it sends belongs to that tenant) or not
//     (platform-ingest: platform logs). iss is the server's issuer name, aud is
//     the service audience, exp comes from a ttl and jti is random.
//   - Tenant tokens are self-signed by a tenant with the Ed25519 key registered
//     for it: sub = tenant id, aud = the service audience, exp at most
//     [MaxTenantLifetime] after iat, and a jti that may be used once within the
//     token's lifetime. The public key is found through [KeyLookup] and replays
//     are refused through [ReplayGuard].
//
// [Verifier.Verify] tells the two apart by iss (equal to the server's issuer
// name means a server token; a tenant who writes that iss into its own token
// fails the signature check against the issuer key). It returns a [Principal]
// or one of the sentinel errors below; only "EdDSA" is accepted as alg, so
// "none", HS256 keyed with a public key, RS256 and the rest are refused before
// any key is looked up.
//
// [Middleware] puts the [Principal] in the request context; [RequireRole] and
// [Principal.CheckTenant] enforce roles and tenants. Verification failures are
// 401 (every one wraps [ErrUnauthenticated]); a valid caller outside its role or
// tenant gets [ErrForbidden], 403.
//
// Replay protection: [ReplayCache] is an in-memory [ReplayGuard], bounded in
// size and per tenant, whose entries expire with their token. A
// [TenantLimiter] in the [VerifierConfig] charges a tenant's request rate
// after the signature check and before the token id is claimed, so a tenant
// over its rate takes no room in the guard. With several server replicas the
// guard must be shared (the server puts a Redis guard in front of the
// cache), or a token could be replayed once against each replica.
package auth
