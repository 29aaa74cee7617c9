// Package server is Hisoka's service: the HTTP API (echo), the syslog
// listeners, authentication and roles, and — once the integrator wires in
// store, matcher and crypto — the pipeline from log line to tenant
// notification.
//
// # How the pieces fit
//
// [New] takes a [config.Config] (defaults, then YAML file, then HISOKA_*
// environment, then flags; see server/internal/config) and [Deps], and
// registers every route in one function, routes (routes.go). Today the
// routes are /healthz, /readyz and /metrics; each further route is added
// there with its handler. Every request passes, in order:
//
//	requestid  X-Request-Id on the response and in the context; every slog
//	           record logged with the request's context carries request_id
//	accessLog  one log line per request (route template, status, duration)
//	metrics    hisoka_http_requests_total / _seconds by route template
//	recover    a panicking handler becomes a 500, with the stack in the log
//	limit.Body request bodies over limits.max_body_bytes are 413
//
// and, for groups made with [Server.Group], auth.Middleware (401 unless a
// valid EdDSA token), auth.RequireRole (403 outside the group's roles) and a
// per-caller token bucket (429 with Retry-After). Handlers return errors;
// the one error handler (server/internal/httperr) maps them to status codes
// and fixed messages with [errorRules] and logs the detail. Nothing else
// writes error responses.
//
// The internal packages, each usable alone:
//
//   - auth: the issuer key (data_dir/issuer.key, created on first use),
//     [auth.Issuer.Mint] for operator and ingest tokens (what
//     "hisoka admin token" calls), tenant token verification with a
//     replay guard and a tenant key lookup, [auth.Principal] in the context.
//   - ingest: NDJSON and raw-line bodies of POST /v1/ingest to records,
//     Content-Encoding, the line limit (truncate and mark, never drop).
//   - loki: POST /loki/api/v1/push bodies (snappy protobuf, JSON) to the
//     same records.
//   - syslogd: TCP/TLS/UDP listeners handing raw frames to a blocking sink;
//     [Server.ListenSyslog] starts the ones the configuration names.
//   - limit, httperr, requestid, metrics, config, selfsigned.
//
// # What the integrator plugs in
//
//   - A store: a [ReadyChecker] for /readyz, an [auth.KeyLookup] (tenant id
//     to its registered Ed25519 key) and, with several replicas, an
//     [auth.ReplayGuard] shared through the store instead of
//     [auth.ReplayCache], which only protects one process.
//   - A syslogd.Sink for [Server.ListenSyslog] that makes frames durable
//     before returning (its blocking is the TCP backpressure), attributes
//     them (peer address through the resource map, or the tenant ingest
//     credential) and feeds the matcher.
//   - Handlers for the ingest routes: decode with ingest/loki, charge
//     [Server.TakeLines], store, acknowledge.
//   - Error rules for store, crypto and matcher sentinels via
//     [Server.AddErrorRules].
//   - Every other route of the API, in routes.go, and spec/openapi.yaml to
//     match.
package server
