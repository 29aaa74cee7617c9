// Package requestid gives every HTTP request an id: [Middleware] takes a
// well-formed X-Request-Id from the client or makes a new one, sets it on the
// response and in the request context ([FromContext]); [Handler] wraps a
// slog.Handler so that every record logged with that context carries it as
// request_id.
package requestid
