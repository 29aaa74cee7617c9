package auth

import (
	"errors"
	"time"
)

// ErrUnauthenticated is wrapped by every verification failure: the caller is
// not (or not validly) authenticated and gets HTTP 401.
var ErrUnauthenticated = errors.New("auth: unauthenticated")

// Verification failures. Each wraps [ErrUnauthenticated].
var (
	ErrMissingToken   = unauth("auth: missing token")
	ErrMalformedToken = unauth("auth: malformed token")
	ErrAlgorithm      = unauth("auth: signing algorithm not allowed")
	ErrSignature      = unauth("auth: invalid signature")
	ErrExpired        = unauth("auth: token expired")
	ErrNotYetValid    = unauth("auth: token not yet valid")
	ErrAudience       = unauth("auth: wrong audience")
	ErrUnknownKey     = unauth("auth: unknown key")
	ErrReplayed       = unauth("auth: token replayed")
	ErrLifetime       = unauth("auth: token lifetime too long")
	ErrClaims         = unauth("auth: invalid claims")
)

// ErrForbidden is returned for a valid caller acting outside its role or
// tenant (HTTP 403).
var ErrForbidden = errors.New("auth: forbidden")

// ErrReplayCacheFull is returned when the replay cache holds its maximum
// number of unexpired token ids; the token is refused (fail closed) and the
// caller may retry later (HTTP 503).
var ErrReplayCacheFull = errors.New("auth: replay cache full")

// ErrReplayQuota is wrapped by every [*QuotaError]: the tenant holds its
// quota of unexpired token ids (HTTP 429).
var ErrReplayQuota = errors.New("auth: too many unexpired tokens for this tenant")

// QuotaError refuses a tenant token while the tenant holds its quota of
// unexpired token ids; it may succeed after After.
type QuotaError struct{ After time.Duration }

func (e *QuotaError) Error() string { return ErrReplayQuota.Error() }

// Is makes errors.Is(err, ErrReplayQuota) hold.
func (e *QuotaError) Is(target error) bool { return target == ErrReplayQuota }

// RetryAfter returns when to retry.
func (e *QuotaError) RetryAfter() time.Duration { return e.After }

// ErrKeyFile is returned when the issuer key file exists but cannot be used.
var ErrKeyFile = errors.New("auth: bad issuer key file")

type authError struct{ msg string }

func (e *authError) Error() string        { return e.msg }
func (e *authError) Is(target error) bool { return target == ErrUnauthenticated }

func unauth(msg string) error { return &authError{msg: msg} }
