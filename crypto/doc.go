// Package crypto is Hisoka's token protocol: blind pattern subscriptions
// and tenant-bound notification tokens built on the partially-oblivious PRF
// (POPRF) of RFC 9497 [1], suite ristretto255-SHA512 (RFC 9496 [2]), with
// tags, sealed payloads and signed, hash-chained board batches on top. The
// normative description is spec/protocol.md; known answers are in
// testdata/crypto.
//
// # Protocol
//
//	Tenant T (SDK)                                   Server (Keyring, Minter)
//	===========================================================================
//	dir = ParseDirectory(GET /v1/keys, pinned board key)
//	key = dir.KeyAt(now)
//	reg, req = Blind(rnd, key, T, descriptors)
//	                          req (JWT says T) ------>
//	                                 Keyring.Evaluate(rnd, T from JWT, now, req)
//	                                 info = Info(T, period); one DLEQ proof
//	                          <------ resp
//	tokens = reg.Finalize(resp)   (proof checked against the published key
//	                               tweaked with T's own info)
//
//	                                 detection on T's resource, descriptor d:
//	                                 tok = Minter.Mint(T, period, d)   (= T's token)
//	                                 e   = NewEntry(&tok, T, epoch, counter, payload)
//	                                 b   = Keyring.SealBatch(prev.Next(..), entries, padTo)
//	                                 store b.MarshalStored(); serve
//	                                 Keyring.OpenStored(..).MarshalBinary()
//	                          <------ batches
//	bs = ChainVerifier.Verify(batches...)   (gap, reorder, replay, alteration)
//	ns = Matcher.Match(b)                   (local; nothing leaves the tenant,
//	                                         no network action depends on ns)
//
// The server learns neither the descriptors a tenant registers nor which
// entries it recognises; a tenant can obtain tokens only under its own
// authenticated id, so it can never compute another tenant's tags.
//
// # Matching must stay invisible
//
// The server can compute any tenant's token, so it can place the tag of a
// descriptor of its choice on a board. What keeps it from learning whether
// the tenant holds that token is that nothing the tenant does on the network
// depends on matching. [Matcher.Match] therefore returns no error that
// depends on the tenant's tokens: an entry whose tag matches but whose
// payload does not open is a non-match, counted only in
// [Matcher.Unopened]. SDK callers MUST NOT take network-visible actions
// (poll cadence, back-off, retries, requests, errors or acknowledgements sent
// to the server) that depend on whether, or how many, entries matched or
// failed to open. Only errors independent of the tenant's secrets
// (transport, [ChainVerifier] signature, chain, gap, replay, freshness) may
// change how the tenant polls.
//
// # Pieces
//
//   - [Descriptor] and [Info] are the canonical, length-prefixed inputs.
//   - [Keyring] holds one POPRF key per period of its [Schedule], the Ed25519
//     board key and the dummy secret; [Keyring.Directory] publishes the
//     public keys, [ParseDirectory] verifies them.
//   - [Keyring.Evaluate] answers [Blind]; [Registration.Finalize] yields
//     one [Token] per descriptor. [EvaluationBudget] is the static-DH budget per key,
//     per tenant and over all tenants.
//   - [Minter] recomputes tokens on the server, caching the tweaked-key
//     inverse per tenant and period and the tokens themselves.
//   - [Token.TagKey], [Token.PayloadKey], [NewEntry] and [Payload] make
//     notification entries; [Keyring.SealBatch] packs them into a [Batch].
//   - [ChainVerifier] and [Matcher] are the tenant's side of the board.
//   - [Identity], [X25519PublicKey], [SealTo] and [Identity.Open] are tenant
//     identity keys and HPKE (RFC 9180) to them.
//
// Randomness is always an [io.Reader] argument. Types holding secrets
// implement [log/slog.LogValuer] and redact themselves.
//
// # References
//
// [1] RFC 9497: https://www.rfc-editor.org/info/rfc9497
//
// [2] RFC 9496: https://www.rfc-editor.org/info/rfc9496
package crypto
