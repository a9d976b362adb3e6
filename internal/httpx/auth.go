package httpx

import (
	"crypto/sha256"
	"crypto/subtle"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/parley/parley/internal/auth"
	"github.com/parley/parley/internal/errs"
)

// InternalAuth guards the /internal/ routes: every request carries
// "Authorization: Bearer <token>", compared in constant time (SPEC §9).
// An empty token, allowed only on a loopback address, lets every request
// through.
func InternalAuth(token string) echo.MiddlewareFunc {
	// Comparing digests keeps the comparison's time independent of the
	// token's length as well as of its bytes.
	want := sha256.Sum256([]byte(token))
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if token == "" {
				return next(c)
			}
			got, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
			sum := sha256.Sum256([]byte(got))
			if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="parley-internal"`)
				return errs.Unauthorized.New("a valid internal token is required")
			}
			return next(c)
		}
	}
}

// Authenticate verifies the request's bearer token with v (SPEC §8). A
// request without a valid one gets the Bearer challenge with its 401.
func Authenticate(c echo.Context, v *auth.Verifier) (auth.Identity, error) {
	id, err := v.Verify(c.Request().Context(), c.Request().Header.Get("Authorization"))
	if err != nil {
		c.Response().Header().Set(auth.ChallengeHeader, auth.Challenge)
	}
	return id, err
}
