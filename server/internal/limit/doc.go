// Package limit bounds what a caller may send: [Body] caps request bodies
// ([ErrBodyTooLarge], HTTP 413) and [Rates] keeps a token bucket per key,
// normally a tenant id ([golang.org/x/time/rate]), refusing with a
// [*RetryError] that wraps [ErrRateLimited] and says when to come back
// (HTTP 429 with Retry-After).
package limit
