package auth

import (
	"fmt"
	"net/url"
	"time"

	"github.com/parley/parley/internal/platform"
)

// The values of AUTH_MODE.
const (
	ModeNone = "none" // the body's user is the author; anyone may edit or delete
	ModeJWT  = "jwt"  // a host site's signed token names the author
)

// MinSecretLen is the shortest AUTH_JWT_SECRET, in bytes: HS256 wants a
// key at least as long as its hash.
const MinSecretLen = 32

// MinRefresh is the shortest AUTH_JWKS_REFRESH: a shorter one would poll
// the host site for nothing.
const MinRefresh = time.Second

// Config is how a service verifies tokens, read from the environment; a
// service's own Config embeds it. Every field names its variable, its
// default and what it sets.
type Config struct {
	Mode        string        `env:"AUTH_MODE" envDefault:"none" help:"who a writer believes a request comes from: 'none' (the body's 'user'; anyone may edit or delete) or 'jwt' (a token the host site signs, in 'Authorization: Bearer')"`
	JWTSecret   string        `env:"AUTH_JWT_SECRET" help:"HS256 key shared with the host site, at least 32 bytes; never logged"`
	JWKSFile    string        `env:"AUTH_JWKS_FILE" help:"JSON Web Key Set file of the host site's public keys (RS256, ES256, EdDSA, chosen by the token's 'kid'), read at start"`
	JWKSURL     string        `env:"AUTH_JWKS_URL" help:"http(s) URL of the host site's JSON Web Key Set, read at start and every 'AUTH_JWKS_REFRESH'"`
	JWKSRefresh time.Duration `env:"AUTH_JWKS_REFRESH" envDefault:"5m" help:"how often 'AUTH_JWKS_URL' is re-read; a token with an unknown 'kid' triggers at most one early re-read per interval"`
	Issuer      string        `env:"AUTH_ISSUER" help:"when set, a token's 'iss' must equal it"`
	Audience    string        `env:"AUTH_AUDIENCE" help:"when set, a token's 'aud' must contain it"`
}

// Enabled reports whether requests must carry a token (AUTH_MODE=jwt).
func (c Config) Enabled() bool { return c.Mode == ModeJWT }

// Check records in checks what is wrong with c, each error naming its
// variable. Key variables are checked when set, whatever the mode.
func (c Config) Check(checks *platform.Checks) {
	check := checks.Check
	check(c.Mode == ModeNone || c.Mode == ModeJWT, "AUTH_MODE", "must be none or jwt")
	check(!c.Enabled() || c.JWTSecret != "" || c.JWKSFile != "" || c.JWKSURL != "", "AUTH_MODE",
		"is jwt, which needs AUTH_JWT_SECRET, AUTH_JWKS_FILE or AUTH_JWKS_URL")
	check(c.JWTSecret == "" || len(c.JWTSecret) >= MinSecretLen, "AUTH_JWT_SECRET",
		fmt.Sprintf("must be at least %d bytes", MinSecretLen))
	if c.JWKSURL != "" {
		u, err := url.Parse(c.JWKSURL)
		check(err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "", "AUTH_JWKS_URL",
			"must be an http or https URL")
	}
	check(c.JWKSRefresh >= MinRefresh, "AUTH_JWKS_REFRESH", "must be at least 1s")
}
