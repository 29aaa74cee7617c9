// Package tenantclient is the tenant's side of Hisoka: the SDK behind the
// hisoka-tenant command. It keeps the tenant's key and tokens on the
// tenant's machine, makes every subscription blind, believes a notification
// only after verifying it, and reports a lying board or key loudly.
//
// # The flow
//
//	id, _ := Init(stateDir, "acme", rand.Reader)     // Ed25519 key, 0600 file
//	// hand id.Public() to the operator; pin the board and ledger keys of
//	// the answer (spec.TenantRegistered)
//	c, _ := New(Config{URL: url, StateDir: stateDir, BoardKey: board, LedgerKey: ledger})
//	c.Catalog(ctx)                                     // what may be subscribed to
//	c.Subscribe(ctx, Subscription{Pattern: "vm.create", Resource: vm})
//	for n, err := range c.Notifications(ctx, 30*time.Second) { ... }
//	c.Search(ctx, LogQuery{Terms: "sshd"}); c.Export(ctx, w, 0, 0)
//	c.VerifyLogs(ctx, 0, 0); c.AccessReport(ctx, ...); c.SetRetention(ctx, d)
//
// [Example] runs it against a real server.
//
// # What leaves the machine
//
// Every request carries a fresh self-signed EdDSA token (sub = tenant,
// aud = [Config.Audience], a lifetime of [Config.TokenLifetime] of at most
// ten minutes, a random jti the server accepts once). [Client.Subscribe]
// sends only blinded descriptors (RFC 9497 POPRF, spec/protocol.md section
// 5) and verifies the server's DLEQ proof against the key published in the
// signed directory for everybody, tweaked with the tenant's own id: a server
// that evaluated with a key of its own for this tenant fails with
// [ErrKeyMismatch], and a directory whose key for a period changed with
// [ErrKeyChanged]. [Client.DirectoryHash] lets tenants compare directories.
// Polling downloads whole board batches; which entries the tenant
// recognised never leaves the machine. The tokens, the subscriptions and the
// identity key stay in the state directory.
//
// # Verification
//
// [Client.Poll] and [Client.Notifications] verify every batch with
// crypto.ChainVerifier before matching it locally (crypto.Matcher) and
// opening the sealed payloads:
//
//   - [ErrTampered]: an altered batch (crypto.ErrBatchSignature), another
//     tenant's batch, a rewritten chain (crypto.ErrBatchChain), a batch
//     from the future (crypto.ErrBatchFuture: an epoch after the local
//     clock's next one or a creation time more than crypto.MaxClockSkew
//     ahead, judged by [Config.Now]; such a batch is not accepted, so it can
//     neither silence the freshness check nor make the client drop tokens);
//   - [ErrWithheld]: a dropped batch (crypto.ErrBatchGap) or no batch for
//     more than an epoch while the server writes one per epoch
//     (crypto.ErrBatchStale);
//   - [ErrReplayed]: an accepted batch served again (crypto.ErrBatchReplayed);
//   - [ErrReordered]: batches out of order (crypto.ErrBatchReordered).
//
// Each error wraps both its class and the crypto sentinel. Nothing of a
// rejected batch is delivered and the client's position does not move, so
// an honest answer later delivers everything.
//
// # Matching stays invisible
//
// The server can compute any tenant's tags, so it could place the tag of a
// descriptor of its choice, with a payload that does not open, on a board
// and watch how the tenant reacts. None of the errors above depends on the
// tenant's tokens, and nothing else the client does on the network does
// either: such an entry is not an error, it is counted locally
// ([Client.Unopened], a warning logged after the poll), and the poll pace,
// back-off, retries and the CLI's exit status are the same as for a batch
// the tenant recognises nothing in. [Client.Notifications] polls apart from
// its loop body, so the time spent on a notification does not show in the
// polling either. Callers must keep it so: take no action the server can
// see (a request, a retry, a change of pace) per notification.
//
// # Pinning
//
// The board key (batches and directories) and the ledger key (log proofs)
// are pinned out of band from the operator's registration answer
// ([Config.BoardKey], [Config.LedgerKey], [Client.Pin]). Without that, the
// first key seen is pinned (trust on first use, logged as a warning) and
// any later different key is an error ([ErrBoardKeyChanged],
// [ErrLedgerKeyChanged]) that no configuration silences: moving to a new
// key means a new state directory.
//
// # Own logs
//
// [Client.VerifyLogs] and [Client.VerifyProof] check a range of the
// tenant's records offline against a checkpoint signed by the pinned ledger
// key (store.VerifyRecords, spec/ledger.md). The client also keeps every
// checkpoint it verified (seq and head, with the signed checkpoint as
// evidence: [Client.Checkpoints]) and checks each later proof against them:
// a proof's chain passes through every seq from its first record's
// predecessor to its checkpoint, and at each kept seq it must reach the
// kept head. A history the service rewrote and signed again verifies on its
// own but fails here with [ErrLogForked] (spec/ledger.md, "Keeping
// checkpoints"). The newest 4,096 checkpoints are kept.
//
// # State and restarts
//
// The state directory holds [IdentityFile] (the tenant id and the key's
// seed) and [StateFile] (pinned keys, key ids seen per period, the
// subscriptions with their tokens per key period, the last verified batch's
// sequence, hash and epoch, each token's next occurrence counter, the ledger
// checkpoints seen, and verified notifications not yet handed out). Both are 0600 and written
// atomically (temporary file, fsync, rename, fsync of the directory).
// [Client.Poll] saves before returning; [Client.Notifications] marks a
// notification delivered when the loop body for it returns, so a restarted
// client resumes at the last verified batch with no notification lost or
// repeated (one being handled when the process died is yielded again).
// Only one process may use a state directory at a time.
//
// # Key rotation
//
// The server publishes the next period's key an overlap before it mints
// with it. Polling re-reads the directory every [Config.RefreshInterval]
// ([Client.Refresh] does it at once) and registers every subscription with
// any published key it holds no token for; a period's tokens are dropped
// once a verified batch was created after that period's end.
//
// # Subscribing mid-epoch
//
// Occurrence counters restart every epoch (an hour). A token added in the
// middle of one (a new subscription, or a new key period) reads the epoch's
// batches again from the board, verifies them from the epoch's first
// accepted batch up to the accepted head (a different history is
// [ErrTampered]), and starts after the occurrences it finds there; those are
// delivered too, as notifications of this epoch before the subscription
// (spec/protocol.md section 9).
//
// # Losing the state
//
// The identity alone does not restore the subscriptions: their tokens live
// in [StateFile]. A new state file starts from the board's first batch and
// delivers again what the current key period's tokens recognise in it.
package tenantclient
