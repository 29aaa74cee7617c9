package server

import (
	"errors"
	"net/http"

	"github.com/hisoka-project/hisoka/server/internal/auth"
	"github.com/hisoka-project/hisoka/server/internal/httperr"
	"github.com/hisoka-project/hisoka/server/internal/ingest"
	"github.com/hisoka-project/hisoka/server/internal/limit"
	"github.com/hisoka-project/hisoka/server/internal/loki"
)

// ErrNotReady is returned by /readyz while a readiness check fails or the
// server drains.
var ErrNotReady = errors.New("server: not ready")

// errorRules maps the sentinel errors of the packages below the server to
// status codes and fixed messages. Order matters: the first match wins, so
// specific auth errors come before auth.ErrUnauthenticated. The integrator
// adds store, crypto and matcher errors with [Server.AddErrorRules].
//
// Several auth failures share "invalid token" on purpose: telling an
// unknown tenant from a bad signature would let callers probe for tenants.
func errorRules() []httperr.Rule {
	return []httperr.Rule{
		{Err: auth.ErrMissingToken, Status: http.StatusUnauthorized, Message: "missing bearer token"},
		{Err: auth.ErrExpired, Status: http.StatusUnauthorized, Message: "token expired"},
		{Err: auth.ErrNotYetValid, Status: http.StatusUnauthorized, Message: "token not yet valid"},
		{Err: auth.ErrReplayed, Status: http.StatusUnauthorized, Message: "token already used"},
		{Err: auth.ErrLifetime, Status: http.StatusUnauthorized, Message: "token lifetime exceeds 10 minutes"},
		{Err: auth.ErrUnauthenticated, Status: http.StatusUnauthorized, Message: "invalid token"},
		{Err: auth.ErrForbidden, Status: http.StatusForbidden, Message: "forbidden"},
		{Err: auth.ErrReplayCacheFull, Status: http.StatusServiceUnavailable, Message: "busy, try again later"},
		{Err: limit.ErrBodyTooLarge, Status: http.StatusRequestEntityTooLarge, Message: "request body too large"},
		{Err: limit.ErrRateLimited, Status: http.StatusTooManyRequests, Message: "rate limited"},
		{Err: ingest.ErrDecompressedTooLarge, Status: http.StatusRequestEntityTooLarge, Message: "decompressed body too large"},
		{Err: ingest.ErrTooManyRecords, Status: http.StatusRequestEntityTooLarge, Message: "too many records in one request"},
		{Err: ingest.ErrUnsupportedEncoding, Status: http.StatusUnsupportedMediaType, Message: "unsupported content encoding"},
		{Err: loki.ErrUnsupportedContentType, Status: http.StatusUnsupportedMediaType, Message: "unsupported content type"},
		{Err: ingest.ErrCorruptCompression, Status: http.StatusBadRequest, Message: "corrupt compressed body"},
		{Err: ingest.ErrMalformedRecord, Status: http.StatusBadRequest, Message: "malformed record"},
		{Err: ingest.ErrMissingLine, Status: http.StatusBadRequest, Message: "record has no line"},
		{Err: ingest.ErrBadTime, Status: http.StatusBadRequest, Message: "bad record time"},
		{Err: ingest.ErrBadFormat, Status: http.StatusBadRequest, Message: "unknown log format"},
		{Err: loki.ErrMalformed, Status: http.StatusBadRequest, Message: "malformed push request"},
		{Err: loki.ErrBadLabels, Status: http.StatusBadRequest, Message: "malformed labels"},
		{Err: loki.ErrBadTimestamp, Status: http.StatusBadRequest, Message: "bad timestamp"},
		{Err: ErrNotReady, Status: http.StatusServiceUnavailable, Message: "not ready"},
	}
}
