package crypto

import "errors"

// Sentinel errors. Callers match them with [errors.Is]; messages never carry
// tenant ids, keys or payloads.
var (
	// ErrMalformed reports an encoding that does not parse or is not canonical.
	ErrMalformed = errors.New("crypto: malformed encoding")
	// ErrIdentityElement reports a group element equal to the identity.
	ErrIdentityElement = errors.New("crypto: identity element")
	// ErrInvalidElement reports a string that is not a canonical ristretto255 element.
	ErrInvalidElement = errors.New("crypto: invalid group element")
	// ErrTooLarge reports an input over a protocol bound (RFC 9497's 2^16-1
	// bytes for inputs and info, or the evaluation batch limit).
	ErrTooLarge = errors.New("crypto: input too large")
	// ErrEmpty reports an empty request or a missing required field.
	ErrEmpty = errors.New("crypto: empty input")
	// ErrUnknownKey reports a key id that is not in the keyring or directory,
	// or a key outside its acceptance window.
	ErrUnknownKey = errors.New("crypto: unknown key")
	// ErrProof reports a DLEQ proof that does not verify against the
	// published key and this tenant's info: the server used another key.
	ErrProof = errors.New("crypto: proof verification failed")
	// ErrSignature reports a bad Ed25519 signature on a key directory.
	ErrSignature = errors.New("crypto: bad signature")
	// ErrBudgetExceeded reports a tenant over its static-DH evaluation budget.
	ErrBudgetExceeded = errors.New("crypto: evaluation budget exceeded")
	// ErrOpen reports a sealed payload or HPKE message that does not open.
	ErrOpen = errors.New("crypto: message authentication failed")
	// ErrPublicKey reports a tenant identity key that is non-canonical, of
	// small order, or has a torsion component.
	ErrPublicKey = errors.New("crypto: invalid public key")
	// ErrNoRandomness reports a nil randomness source.
	ErrNoRandomness = errors.New("crypto: no randomness source")
	// ErrEpoch reports a batch whose epoch goes backwards.
	ErrEpoch = errors.New("crypto: epoch out of order")

	// ErrBatchSignature reports a batch whose signature does not verify:
	// it was altered (or was not signed by the board key).
	ErrBatchSignature = errors.New("crypto: batch signature invalid")
	// ErrBatchGap reports a missing batch: the sequence number jumped.
	ErrBatchGap = errors.New("crypto: batch gap")
	// ErrBatchReordered reports a batch delivered after one with a higher sequence number.
	ErrBatchReordered = errors.New("crypto: batch reordered")
	// ErrBatchReplayed reports a batch whose sequence number was already accepted.
	ErrBatchReplayed = errors.New("crypto: batch replayed")
	// ErrBatchChain reports a correctly signed batch whose previous-hash does
	// not match the last accepted batch: the board's history was rewritten.
	ErrBatchChain = errors.New("crypto: batch hash chain broken")
	// ErrBatchStale reports a board whose newest accepted batch is more
	// than one epoch old: the server withholds the latest batches (it writes
	// at least one batch per epoch, dummies only if need be).
	ErrBatchStale = errors.New("crypto: board stale")
	// ErrBatchFuture reports a batch from the future: its epoch is after
	// the one following the verifier's current epoch, or it was created more
	// than [MaxClockSkew] after the verifier's clock. Such a batch is not
	// accepted (it would silence [ChainVerifier.CheckFresh] and expire
	// tokens early); a later poll accepts it once the clock has caught up.
	ErrBatchFuture = errors.New("crypto: batch from the future")
	// ErrBatchTenant reports a batch addressed to another tenant.
	ErrBatchTenant = errors.New("crypto: batch for another tenant")
)
