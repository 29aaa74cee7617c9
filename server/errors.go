package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/hisoka-project/hisoka/crypto"
	"github.com/hisoka-project/hisoka/matcher"
	"github.com/hisoka-project/hisoka/server/internal/auth"
	"github.com/hisoka-project/hisoka/server/internal/httperr"
	"github.com/hisoka-project/hisoka/server/internal/ingest"
	"github.com/hisoka-project/hisoka/server/internal/limit"
	"github.com/hisoka-project/hisoka/server/internal/loki"
	"github.com/hisoka-project/hisoka/store"
)

// ErrNotReady is returned by /readyz while a readiness check fails or the
// server drains.
var ErrNotReady = errors.New("server: not ready")

// ErrBodyUnreadable is returned when a request body cannot be read to its
// end (the client hung up or stalled part-way): the client's failure, 400.
var ErrBodyUnreadable = errors.New("server: request body could not be read")

// readBody reads a request's whole body. A body over its limit stays
// limit.ErrBodyTooLarge (413); any other read failure is ErrBodyUnreadable.
func readBody(c echo.Context) ([]byte, error) {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil && !errors.Is(err, limit.ErrBodyTooLarge) {
		var mbe *http.MaxBytesError
		if !errors.As(err, &mbe) {
			err = fmt.Errorf("%w: %w", ErrBodyUnreadable, err)
		}
	}
	return body, err
}

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
		{Err: auth.ErrReplayQuota, Status: http.StatusTooManyRequests, Message: "too many unexpired tokens, try again later"},
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
		{Err: ErrBodyUnreadable, Status: http.StatusBadRequest, Message: "request body could not be read"},
	}
}

// serviceErrorRules map the store, crypto and matcher sentinels and the
// API's own errors; [New] adds them when the server has a store.
func serviceErrorRules() []httperr.Rule {
	return []httperr.Rule{
		{Err: ErrBadParam, Status: http.StatusBadRequest, Message: "bad query parameter"},
		{Err: ErrQuotaExceeded, Status: http.StatusRequestEntityTooLarge, Message: "tenant storage quota exceeded"},
		{Err: ErrBadBody, Status: http.StatusBadRequest, Message: "bad request body"},
		{Err: ErrReservedID, Status: http.StatusBadRequest, Message: "reserved tenant id"},
		{Err: ErrNoCatalog, Status: http.StatusNotFound, Message: "no catalogue published"},
		{Err: ErrUnknownStream, Status: http.StatusNotFound, Message: "not found"},
		{Err: store.ErrNotFound, Status: http.StatusNotFound, Message: "not found"},
		{Err: store.ErrInvalidTenant, Status: http.StatusBadRequest, Message: "invalid tenant id"},
		{Err: store.ErrInvalidRecord, Status: http.StatusBadRequest, Message: "invalid record"},
		{Err: store.ErrInvalidArg, Status: http.StatusBadRequest, Message: "invalid argument"},
		{Err: store.ErrBadCursor, Status: http.StatusBadRequest, Message: "bad cursor"},
		{Err: store.ErrConflict, Status: http.StatusConflict, Message: "conflict"},
		{Err: store.ErrClosed, Status: http.StatusServiceUnavailable, Message: "not ready"},
		{Err: crypto.ErrBudgetExceeded, Status: http.StatusTooManyRequests, Message: "evaluation budget exceeded"},
		{Err: crypto.ErrUnknownKey, Status: http.StatusBadRequest, Message: "unknown or expired key id"},
		{Err: crypto.ErrTooLarge, Status: http.StatusRequestEntityTooLarge, Message: "too many elements"},
		{Err: crypto.ErrMalformed, Status: http.StatusBadRequest, Message: "malformed request"},
		{Err: crypto.ErrEmpty, Status: http.StatusBadRequest, Message: "malformed request"},
		{Err: crypto.ErrIdentityElement, Status: http.StatusBadRequest, Message: "invalid element"},
		{Err: crypto.ErrInvalidElement, Status: http.StatusBadRequest, Message: "invalid element"},
		{Err: crypto.ErrPublicKey, Status: http.StatusBadRequest, Message: "invalid public key"},
		{Err: matcher.ErrCatalog, Status: http.StatusBadRequest, Message: "invalid catalogue"},
	}
}
