package tenantclient

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// Sentinel errors. Each verification failure also wraps the crypto
// sentinel that found it (crypto.ErrBatchSignature, crypto.ErrBatchGap,
// ...), so callers may match either the class or the exact cause with
// errors.Is. Messages never carry keys, tokens, tenant ids or log lines.
var (
	// ErrTampered reports a board batch that was altered, is not signed by
	// the pinned board key, belongs to another tenant, rewrites the hash
	// chain or goes back in epochs. (An entry with one of the tenant's
	// tags that does not open is no error: see Client.Unopened.)
	ErrTampered = errors.New("tenantclient: batch tampered")
	// ErrWithheld reports a batch that was dropped or withheld: a gap in the
	// sequence numbers, or a board with no batch for more than an epoch.
	ErrWithheld = errors.New("tenantclient: batch withheld")
	// ErrReplayed reports a batch served again after it was accepted.
	ErrReplayed = errors.New("tenantclient: batch replayed")
	// ErrReordered reports batches served out of order.
	ErrReordered = errors.New("tenantclient: batch reordered")
	// ErrKeyMismatch reports an evaluation whose proof does not verify
	// against the key published for everybody: the server used a key of its
	// own for this tenant (or another period or tenant). The tokens are
	// discarded.
	ErrKeyMismatch = errors.New("tenantclient: server evaluated with a key other than the published one")
	// ErrKeyChanged reports a directory that publishes a different POPRF key
	// for a period than the one this tenant saw before.
	ErrKeyChanged = errors.New("tenantclient: published key of a period changed")
	// ErrBoardKeyChanged reports a board key different from the pinned one.
	ErrBoardKeyChanged = errors.New("tenantclient: board key differs from the pinned key")
	// ErrLedgerKeyChanged reports a ledger key different from the pinned one.
	ErrLedgerKeyChanged = errors.New("tenantclient: ledger key differs from the pinned key")
	// ErrLogProof reports a log range that does not verify against its proof.
	ErrLogProof = errors.New("tenantclient: log proof does not verify")
	// ErrLogForked reports a verified log proof whose chain differs, at the
	// seq of a checkpoint seen before, from that checkpoint's head: the
	// service signed two histories of the tenant's logs (a rewrite).
	// Client.Checkpoints holds the earlier signed checkpoint as evidence.
	ErrLogForked = errors.New("tenantclient: log history differs from a checkpoint seen before")
	// ErrNoIdentity reports a state directory without an identity (run Init).
	ErrNoIdentity = errors.New("tenantclient: no identity in the state directory")
	// ErrExists reports an Init over an existing identity.
	ErrExists = errors.New("tenantclient: identity already exists")
	// ErrState reports a state file that does not parse or belongs to
	// another tenant.
	ErrState = errors.New("tenantclient: bad state file")
	// ErrConfig reports an incomplete or invalid Config.
	ErrConfig = errors.New("tenantclient: bad configuration")
	// ErrNoKey reports a directory with no key evaluating now.
	ErrNoKey = errors.New("tenantclient: no published key evaluates now")
	// ErrSubscription reports an invalid subscription (empty pattern or
	// resource, bad parameters).
	ErrSubscription = errors.New("tenantclient: invalid subscription")

	// ErrUnauthenticated is HTTP 401: the server refused the tenant token
	// (unknown tenant or key, clock skew).
	ErrUnauthenticated = errors.New("tenantclient: not authenticated")
	// ErrForbidden is HTTP 403.
	ErrForbidden = errors.New("tenantclient: forbidden")
	// ErrNotFound is HTTP 404.
	ErrNotFound = errors.New("tenantclient: not found")
	// ErrRateLimited is HTTP 429 (request rate or evaluation budget).
	ErrRateLimited = errors.New("tenantclient: rate limited")
	// ErrServer is any other unexpected HTTP status.
	ErrServer = errors.New("tenantclient: server error")
)

// APIError is an error answer of the server: its status, its fixed
// message and request id. It matches the status's sentinel with errors.Is.
type APIError struct {
	Status    int
	Message   string
	RequestID string
}

func (e *APIError) Error() string {
	msg := "tenantclient: HTTP " + strconv.Itoa(e.Status)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.RequestID != "" {
		msg += " (request " + e.RequestID + ")"
	}
	return msg
}

// Unwrap returns the sentinel of the status.
func (e *APIError) Unwrap() error {
	switch e.Status {
	case http.StatusUnauthorized:
		return ErrUnauthenticated
	case http.StatusForbidden:
		return ErrForbidden
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusTooManyRequests:
		return ErrRateLimited
	}
	return ErrServer
}

// classify wraps a crypto verification error with its class.
func classify(err error, class error) error {
	return fmt.Errorf("%w: %w", class, err)
}
