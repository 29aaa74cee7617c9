package store

import (
	"fmt"
	"unicode/utf8"
)

// MaxTenantLen is the longest tenant id, in bytes. It is the token
// protocol's bound (crypto.MaxTenantIDLen, spec/protocol.md), so that every
// tenant the store accepts can also receive notifications.
const MaxTenantLen = 255

// ValidTenant reports whether id is a usable tenant id: non-empty, at most
// MaxTenantLen bytes, valid UTF-8. The error wraps ErrInvalidTenant and does
// not contain the id.
func ValidTenant(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty", ErrInvalidTenant)
	case len(id) > MaxTenantLen:
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidTenant, MaxTenantLen)
	case !utf8.ValidString(id):
		return fmt.Errorf("%w: not UTF-8", ErrInvalidTenant)
	}
	return nil
}

// MaxNameLen bounds key, state and resource names.
const MaxNameLen = 1024

// ValidName checks a key, state, period, detection or resource name.
func ValidName(name string) error {
	if name == "" || len(name) > MaxNameLen {
		return fmt.Errorf("%w: name empty or longer than %d bytes", ErrInvalidArg, MaxNameLen)
	}
	return nil
}
