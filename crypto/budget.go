package crypto

import "time"

// EvaluationBudget caps how many elements are evaluated under one POPRF
// key. It is policy, not arithmetic: the server keeps the counters (in the
// store: per tenant and key id, and per key id over all tenants) and calls
// [EvaluationBudget.Allow] and [EvaluationBudget.AllowAllTenants] before
// [Keyring.Evaluate].
//
// Why: a static Diffie-Hellman oracle (X -> k*X) lets its user compute
// k^i*G for i up to the number of queries q; when d divides l-1 (or l+1,
// with the variant) for l the group order and d <= q, Brown–Gallant (2004)
// and Cheon (2006) recover k in about sqrt(l/d)+sqrt(d) group operations
// instead of sqrt(l). Each POPRF evaluation for tenant T answers one query to
// X -> t_T^-1*X with t_T = sk+H(info_T), and recovering any t_T reveals
// sk = t_T-H(info_T), the key of every tenant.
//
// Queries of different tenants DO add up: all t_T share sk and differ by
// offsets H(info_T) everyone can compute, so answers 1/(sk+h_1), ...,
// 1/(sk+h_q) under q distinct offsets span the same space as q powers of sk
// over a common base, and Cheon's attack applies to sk with the combined
// count of all tenants that pool their answers (one party with many tenant
// accounts, or colluding tenants). The per-tenant cap PerKey therefore
// bounds one tenant's share, not the attacker's q; AllTenantsPerKey bounds q
// for the key. For ristretto255 the practical gain is nil either way: the
// divisors of l-1 below 2^22 are those of 132 (l-1 = 2^2*3*11*r) and of l+1
// those of 7210 (l+1 = 2*5*7*103*r'), r and r' having no factor below 2^22,
// so with q <= 2^22 the attack still costs about 2^120 group operations.
// Key rotation resets both counters with the key.
type EvaluationBudget struct {
	// PerKey is the most elements one tenant may have evaluated under one key.
	PerKey uint64
	// AllTenantsPerKey is the most elements all tenants together may have
	// evaluated under one key (0: no such cap). Size it to the number of
	// tenants times their expected registrations; reaching it refuses
	// evaluations for every tenant until the next key.
	AllTenantsPerKey uint64
	// PerRequestInterval is the shortest interval between two requests of one tenant.
	PerRequestInterval time.Duration
}

// DefaultAllTenantsPerKey is the default cap on elements evaluated under
// one key over all tenants: 2^22, 1,024 tenants using their whole default
// per-tenant budget.
const DefaultAllTenantsPerKey = 1 << 22

// DefaultEvaluationBudget allows 4096 evaluations per tenant and key,
// [DefaultAllTenantsPerKey] per key over all tenants, and one request per
// second per tenant.
func DefaultEvaluationBudget() EvaluationBudget {
	return EvaluationBudget{PerKey: 4096, AllTenantsPerKey: DefaultAllTenantsPerKey, PerRequestInterval: time.Second}
}

// Allow reports whether a tenant that has used `used` evaluations under a key
// may have `requested` more, returning ErrBudgetExceeded if not.
func (b EvaluationBudget) Allow(used, requested uint64) error {
	return allow(b.PerKey, used, requested)
}

// AllowAllTenants reports whether a key under which all tenants together
// have used `used` evaluations may evaluate `requested` more, returning
// ErrBudgetExceeded if not. A zero AllTenantsPerKey allows everything.
func (b EvaluationBudget) AllowAllTenants(used, requested uint64) error {
	if b.AllTenantsPerKey == 0 {
		return nil
	}
	return allow(b.AllTenantsPerKey, used, requested)
}

func allow(limit, used, requested uint64) error {
	if requested > limit || used > limit-requested {
		return ErrBudgetExceeded
	}
	return nil
}
