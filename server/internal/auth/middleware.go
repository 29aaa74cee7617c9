package auth

import (
	"strings"

	"github.com/labstack/echo/v4"
)

// Middleware authenticates every request with the bearer token of its
// Authorization header and stores the [Principal] in the request context
// ([FromContext]). Failures are passed to echo's error handler unchanged.
func Middleware(v *Verifier) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			tok, err := BearerToken(c.Request().Header.Get("Authorization"))
			if err != nil {
				return err
			}
			req := c.Request()
			p, err := v.Verify(req.Context(), tok)
			if err != nil {
				return err
			}
			c.SetRequest(req.WithContext(WithPrincipal(req.Context(), p)))
			return next(c)
		}
	}
}

// BearerToken extracts the token of an Authorization header value.
func BearerToken(header string) (string, error) {
	if header == "" {
		return "", ErrMissingToken
	}
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", ErrMalformedToken
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", ErrMissingToken
	}
	return tok, nil
}

// RequireRole lets a request through only if [Middleware] authenticated it
// with one of roles; otherwise it fails with [ErrForbidden] (or
// [ErrMissingToken] if no principal is present at all).
func RequireRole(roles ...Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p, ok := FromContext(c.Request().Context())
			if !ok {
				return ErrMissingToken
			}
			for _, r := range roles {
				if p.Role == r {
					return next(c)
				}
			}
			return ErrForbidden
		}
	}
}
