// Package server is Hisoka's service: the HTTP API (echo), the syslog
// listeners, authentication and roles, and the pipeline from log line to
// tenant notification.
//
// # Running it
//
// [Open] builds the whole service from a [Config]: the issuer key in the
// data directory (created on first start), the store ([OpenBackend]: the
// embedded store in data_dir/store, or Redis), the token verifier (tenant
// keys from the store; tenant token ids kept until they expire in a cache
// with a per-tenant quota, auth.replay_per_tenant, and on Redis also with
// SET NX under the tenant's hash tag so a token is used once across
// replicas), the POPRF keyring (created on first start, kept in
// the store sealed with AES-256-GCM under a key derived from the issuer
// key, rotated on a timer) and every route. [Server.Start] listens and
// starts the background work; [Server.Shutdown] then [Server.Close] stop it
// gracefully (syslog drains into the store, pipelines save their state).
// "hisoka serve" is exactly that; "hisoka admin token" is [MintToken].
//
// # How the pieces fit
//
// Every route is registered in one function, routes (routes.go), and listed
// in spec/openapi.yaml (served at /openapi.yaml; a test keeps the two
// equal). Every request passes, in order:
//
//	requestid  X-Request-Id on the response and in the context; every slog
//	           record logged with the request's context carries request_id
//	accessLog  one log line per request (route template, status, duration)
//	metrics    hisoka_http_requests_total / _seconds by route template
//	recover    a panicking handler becomes a 500, with the stack in the log
//	limit.Body request bodies over limits.max_body_bytes are 413
//
// and, for authenticated routes, auth.Middleware (401 unless a valid EdDSA
// token), auth.RequireRole (403 outside the route's role), for
// /v1/tenants/{tenant}/... a check that the tenant is the caller (403
// otherwise; the reserved streams are nobody's), and a per-caller token
// bucket (429 with Retry-After; a tenant token is charged inside the
// verifier, before its id is claimed, so requests over the rate take no
// room in the replay cache). Handlers return errors; the one error
// handler (server/internal/httperr) maps them to status codes and fixed
// messages with [errorRules] and serviceErrorRules and logs the detail.
//
// # Data flow
//
//	shippers ──HTTP /v1/ingest, Loki push, syslog TCP/TLS/UDP──▶ attribute
//	  ──▶ store Append (durable) ──▶ acknowledge
//	pipeline per stream (platform; each tenant's VM logs), from its cursor:
//	  ReadAfter ──▶ matcher.Engine ──▶ detections ──▶ owner ──▶ Minter.Mint
//	  ──▶ NewEntry (occurrence counter in the store) ──▶ SealBatch ──▶
//	  AppendBoard with the detection ids ──▶ wake long polls
//
// Attribution: a platform-ingest token sends to the reserved stream
// "platform", a tenant-ingest token to its tenant. A syslog frame carries
// its token in the RFC 5424 structured data element "hisoka" (param
// "token", removed before storage, see [ExtractToken]); without one, its
// source address goes through the resource map (platform hosts are
// resources of "platform"); otherwise, or with a bad token, it goes to
// "quarantine". Only operators read the reserved streams.
//
// Owners: a platform detection belongs to the tenant owning its resource,
// else to the tenant whose settings name its OpenStack project; a detection
// on a tenant's own stream belongs to that tenant, with resource id
// [AnyResource]. Tokens are minted for every detection with an owner,
// whether or not anybody subscribed (anomalies go to the operators'
// "anomalies" stream instead, and tenants' residual anomalies nowhere).
// Every other platform detection is also written, as one
// spec.DetectionRecord, to the operators' "detections" stream; both
// streams skip a detection id they already hold, so a replay stores
// nothing twice.
// Every tenant gets at least one batch per epoch (dummies if nothing
// happened), so withheld batches show up in crypto.ChainVerifier.CheckFresh.
//
// Exactly once: a pipeline saves its cursor and engine state together; a
// restart replays from the saved cursor, the engine gives the same
// detection ids, and a detection id already on the board is skipped.
// A batch whose append fails keeps, in memory, the occurrence counters it
// took: posting the same detection again (same token, epoch and payload)
// reuses its counter, so the entry is byte for byte the one that failed
// and a store outage leaves no holes beyond the tenant's lookahead; a
// counter is never reused for a different entry.
//
// Durability: concurrent appends to one stream share one synced store
// write (group commit); a caller is acknowledged once its lines are durable.
// The appended records are also handed to the stream's pipeline in memory
// (bounded), which reads back from the store only what it was not handed.
//
// Backpressure and limits: when a stream's pipeline is more than
// limits.max_pipeline_lag lines behind, HTTP ingest of that stream is 429
// with Retry-After and the syslog sink blocks (TCP flow control slows the
// sender). Lines per tenant are a token bucket (429); a tenant's storage
// quota makes HTTP ingest 413 and holds syslog connections; blind
// evaluations are about one request per second per tenant, within the
// per-tenant and all-tenants budgets per key.
//
// Operators also get: alert webhooks for platform detections (package
// alerts: HMAC-signed, retried, dead letters in the "deadletters" stream),
// source health (GET /v1/admin/sources), tenant reports (on demand and
// daily), catalogue learning from stored platform logs, and the access
// audit; every read of logs (search, export, verify, report, learn) is
// recorded in it.
//
// # Operator console
//
// /ui is the operator console (package console; not JSON API, so not in
// spec/openapi.yaml, and registered in routes.go too): sign-in with an
// operator token into a session cookie, then HTML pages over what the admin
// API offers, through consoleSource, which calls the same functions as the
// admin handlers. Its heatmap reads the per-minute, per-component counts
// that the platform pipeline keeps as it processes lines (heatmap.go: one
// state blob per hour in a ring of 8 days, each hour remembering the last
// sequence number counted so a replay counts nothing twice; saved with, and
// before, the pipeline's cursor, so at most saveEvery stale; a line dated
// more than heatSkew past its receipt is not counted, so that a wrong clock
// cannot take a slot for a far-future hour; a page shows the heatRows
// busiest components and folds the rest into one row); learned bursts
// and pattern timelines come from the "detections" stream. The browser test
// (TestConsoleInBrowser) writes a screenshot of each page to
// $HISOKA_ARTIFACTS, or a temporary directory when unset.
//
// The internal packages, each usable alone: auth, ingest, loki, syslogd,
// limit, httperr, requestid, metrics, config, selfsigned, console.
package server
