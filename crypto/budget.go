package crypto

import "time"

// EvaluationBudget caps how many elements one tenant may have evaluated
// under one POPRF key. It is policy, not arithmetic: the server keeps the
// counter (per tenant and key id, in the store) and calls [EvaluationBudget.Allow]
// before [Keyring.Evaluate].
//
// Why: a static Diffie-Hellman oracle (X -> k*X) lets its user compute
// k^i*G for i up to the number of queries q; when d divides l-1 (l the group
// order) and d <= q, Brown–Gallant (2004) and Cheon (2006) recover k in about
// sqrt(l/d)+sqrt(d) group operations instead of sqrt(l). Each POPRF
// evaluation hands the tenant one such oracle query under its tweaked key
// t = sk+H(info) (the oracle is X -> t^-1*X), and recovering t reveals sk =
// t-H(info), the key of every tenant. Only queries under the same t add up,
// and t differs per tenant and period, so the budget is per tenant and key.
// Capping q per key to a few
// thousand leaves the attack's cost near 2^120 while allowing every
// realistic catalogue to be registered many times over; key rotation
// resets the counter with the key.
type EvaluationBudget struct {
	// PerKey is the most elements a tenant may have evaluated under one key.
	PerKey uint64
	// PerRequestInterval is the shortest interval between two requests of one tenant.
	PerRequestInterval time.Duration
}

// DefaultEvaluationBudget allows 4096 evaluations per tenant and key, and
// one request per second.
func DefaultEvaluationBudget() EvaluationBudget {
	return EvaluationBudget{PerKey: 4096, PerRequestInterval: time.Second}
}

// Allow reports whether a tenant that has used `used` evaluations under a key
// may have `requested` more, returning ErrBudgetExceeded if not.
func (b EvaluationBudget) Allow(used, requested uint64) error {
	if requested > b.PerKey || used > b.PerKey-requested {
		return ErrBudgetExceeded
	}
	return nil
}
