// Package ledger is the tamper evidence over a tenant's stored log records:
// a per-tenant hash chain with Ed25519-signed checkpoints, and proofs that a
// tenant verifies offline. It is pure (no storage, no I/O) so the tenant SDK
// imports it; spec/ledger.md is the normative description.
//
//	genesis  c0 = SHA-256(0x02 || "hisoka-ledger-v1" || uvarint(len(tenant)) || tenant)
//	leaf     l_i = SHA-256(0x00 || canonical record i)       (record i carries seq i)
//	chain    c_i = SHA-256(0x01 || c_{i-1} || l_i)
//	checkpoint  Ed25519 signature over (tenant, seq n, c_n, time)
//
// A [Proof] for records a..b carries c_{a-1} (Prev), the leaf hashes of
// records b+1..n (Tail) and a [Checkpoint] at n >= b. [Verify] recomputes
// the chain from Prev over the given records and the tail and compares it with
// the signed head, so any altered, deleted, inserted or reordered record, or
// a forged checkpoint, fails with a distinct error. Prev needs no signature:
// forging it would need a second preimage of SHA-256 to reach the signed head.
// Retention trimming deletes records before some seq f and keeps c_{f-1}, so
// what remains stays provable.
package ledger
