// Package httperr is the one place where errors become HTTP responses.
//
// A [Handler] holds [Rule]s mapping sentinel errors (matched with
// errors.Is) to a status code and a fixed message. The client sees only
// {"error": <fixed message>, "request_id": <id>}; the error itself, with
// whatever detail it wraps, goes to the log with the request id. Errors no
// rule knows are 500 "internal error". Errors that carry
// RetryAfter() time.Duration add a Retry-After header; 401 responses carry
// WWW-Authenticate: Bearer.
package httperr
