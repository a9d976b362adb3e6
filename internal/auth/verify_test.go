package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/parley/parley/internal/auth"
	"github.com/parley/parley/internal/auth/authtest"
	"github.com/parley/parley/internal/errs"
)

// The verifiers the table cases run against.
const (
	vFile = "secret and key set file" // AUTH_JWT_SECRET + AUTH_JWKS_FILE
	vURL  = "key set URL"             // AUTH_JWKS_URL only
	vKeys = "key set file, no secret" // AUTH_JWKS_FILE only
	vIss  = "secret, issuer, audience"
)

func TestVerify(t *testing.T) {
	k := testKeys()
	srv := newJWKSServer(t, k.rsa, k.ec, k.ed)
	file := jwksFile(t, k.rsa, k.ec, k.ed)
	type verifier struct {
		v    *auth.Verifier
		logs *observer.ObservedLogs
	}
	verifiers := map[string]verifier{}
	for name, cfg := range map[string]auth.Config{
		vFile: jwtConfig(func(c *auth.Config) { c.JWTSecret, c.JWKSFile = secret, file }),
		vURL:  jwtConfig(func(c *auth.Config) { c.JWKSURL = srv.URL + "/jwks.json" }),
		vKeys: jwtConfig(func(c *auth.Config) { c.JWKSFile = file }),
		vIss:  jwtConfig(func(c *auth.Config) { c.JWTSecret, c.Issuer, c.Audience = secret, "https://host.example", "parley" }),
	} {
		v, logs := newVerifier(t, cfg)
		verifiers[name] = verifier{v, logs}
	}

	hs := func(c authtest.Claims) string { return bearer(must(authtest.SignHS256([]byte(secret), c))) }
	signed := func(key *authtest.Key, c authtest.Claims) string { return bearer(must(key.Sign(c))) }
	raw := func(alg, kid string, key any, c authtest.Claims) string {
		return bearer(must(authtest.Sign(alg, kid, key, c)))
	}
	rsaPEM := must(k.rsa.PublicPEM())
	seg := func(v any) string { return base64.RawURLEncoding.EncodeToString(must(json.Marshal(v))) }
	valid := must(authtest.SignHS256([]byte(secret), claims("u-1")))
	parts := strings.Split(valid, ".")
	tampered := bearer(parts[0] + "." + seg(claims("u-1", set("role", "admin"))) + "." + parts[2])
	noneToken := raw("none", "", nil, claims("u-1"))
	critToken := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(claims("u-1")))
		tok.Header["crit"] = []string{"exp"}
		return bearer(must(tok.SignedString([]byte(secret))))
	}()
	badHeaderJSON := bearer(base64.RawURLEncoding.EncodeToString([]byte("not json")) + "." + parts[1] + "." + parts[2])
	pad := func(n int) func(authtest.Claims) { return set("pad", strings.Repeat("x", n)) }
	user := func(sub, name string, mod bool) *auth.Identity {
		return &auth.Identity{Subject: sub, Name: name, Moderator: mod}
	}
	u1 := user("u-1", "u-1", false)

	cases := []struct {
		name     string
		verifier string
		header   string
		want     *auth.Identity // nil: an error holding msg
		msg      string
	}{
		// Valid tokens, by each key source.
		{"HS256", vFile, hs(claims("u-1")), u1, ""},
		{"RS256 from the file by kid", vFile, signed(k.rsa, claims("u-1")), u1, ""},
		{"ES256 from the file by kid", vFile, signed(k.ec, claims("u-1")), u1, ""},
		{"EdDSA from the file by kid", vFile, signed(k.ed, claims("u-1")), u1, ""},
		{"RS256 from the URL by kid", vURL, signed(k.rsa, claims("u-1")), u1, ""},
		{"ES256 from the URL by kid", vURL, signed(k.ec, claims("u-1")), u1, ""},
		{"EdDSA from the URL by kid", vURL, signed(k.ed, claims("u-1")), u1, ""},
		{"scheme in lower case", vFile, "bearer " + tokenOf(hs(claims("u-1"))), u1, ""},
		{"exp just past, within the leeway", vFile, hs(claims("u-1", set("exp", now.Add(-20*time.Second).Unix()))), u1, ""},
		{"nbf ahead within the leeway", vFile, hs(claims("u-1", set("nbf", now.Add(20*time.Second).Unix()))), u1, ""},
		{"iat ahead within the leeway", vFile, hs(claims("u-1", set("iat", now.Add(20*time.Second).Unix()))), u1, ""},
		{"nbf and iat past", vFile, hs(claims("u-1", set("nbf", now.Add(-time.Hour).Unix()), set("iat", now.Add(-time.Hour).Unix()))), u1, ""},
		{"just under 8 KiB", vFile, hs(claims("u-1", pad(5800))), u1, ""},
		{"issuer and audience", vIss, hs(claims("u-1", set("iss", "https://host.example"), set("aud", "parley"))), u1, ""},
		{"audience among several", vIss, hs(claims("u-1", set("iss", "https://host.example"), set("aud", []string{"blog", "parley"}))), u1, ""},

		// Signatures and keys.
		{"forged signature: unpublished key under a published kid", vFile, raw("RS256", k.rsa.ID, k.other.Private, claims("u-1")), nil, "invalid token signature"},
		{"tampered claims", vFile, tampered, nil, "invalid token signature"},
		{"HS256 with another secret", vFile, raw("HS256", "", []byte(strings.Repeat("s", 40)), claims("u-1")), nil, "invalid token signature"},
		{"alg none", vFile, noneToken, nil, "malformed token"}, // no signature segment
		{"alg none with a signature", vFile, noneToken + "c2ln", nil, "token algorithm not accepted"},
		{"HS256 with the RSA public key as secret", vFile, raw("HS256", k.rsa.ID, rsaPEM, claims("u-1")), nil, "invalid token signature"},
		{"HS256 with the RSA public key, no secret configured", vKeys, raw("HS256", k.rsa.ID, rsaPEM, claims("u-1")), nil, "token algorithm not accepted"},
		{"HS256 with the RSA public key, URL only", vURL, raw("HS256", k.rsa.ID, rsaPEM, claims("u-1")), nil, "token algorithm not accepted"},
		{"RS256 token whose kid names an EC key", vFile, raw("RS256", k.ec.ID, k.rsa.Private, claims("u-1")), nil, "does not fit the token algorithm"},
		{"ES256 token whose kid names an RSA key", vFile, raw("ES256", k.rsa.ID, k.ec.Private, claims("u-1")), nil, "does not fit the token algorithm"},
		{"EdDSA token whose kid names an RSA key", vURL, raw("EdDSA", k.rsa.ID, k.ed.Private, claims("u-1")), nil, "does not fit the token algorithm"},
		{"RS384 is not accepted", vFile, raw("RS384", k.rsa.ID, k.rsa.Private, claims("u-1")), nil, "token algorithm not accepted"},
		{"PS256 is not accepted", vFile, raw("PS256", k.rsa.ID, k.rsa.Private, claims("u-1")), nil, "token algorithm not accepted"},
		{"unknown kid", vFile, raw("RS256", "nobody", k.rsa.Private, claims("u-1")), nil, "unknown signing key"},
		{"unknown kid at the URL", vURL, raw("RS256", "nobody", k.rsa.Private, claims("u-1")), nil, "unknown signing key"},
		{"no kid", vFile, raw("RS256", "", k.rsa.Private, claims("u-1")), nil, "token lacks kid"},
		{"critical header", vFile, critToken, nil, "critical header"},

		// Times.
		{"expired", vFile, hs(claims("u-1", set("exp", now.Add(-time.Minute).Unix()))), nil, "token expired"},
		{"nbf beyond the leeway", vFile, hs(claims("u-1", set("nbf", now.Add(time.Minute).Unix()))), nil, "token not valid yet"},
		{"iat in the future beyond the leeway", vFile, hs(claims("u-1", set("iat", now.Add(time.Minute).Unix()))), nil, "token issued in the future"},
		{"missing exp", vFile, hs(claims("u-1", unset("exp"))), nil, "lacks a required claim"},
		{"exp of the wrong type", vFile, hs(claims("u-1", set("exp", "tomorrow"))), nil, "wrong type"},

		// Issuer and audience.
		{"wrong issuer", vIss, hs(claims("u-1", set("iss", "https://evil.example"), set("aud", "parley"))), nil, "wrong token issuer"},
		{"missing issuer", vIss, hs(claims("u-1", set("aud", "parley"))), nil, "lacks a required claim"},
		{"wrong audience", vIss, hs(claims("u-1", set("iss", "https://host.example"), set("aud", "blog"))), nil, "wrong token audience"},
		{"missing audience", vIss, hs(claims("u-1", set("iss", "https://host.example"))), nil, "lacks a required claim"},

		// Shapes and sizes.
		{"over 8 KiB", vFile, hs(claims("u-1", pad(9000))), nil, "token over 8192 bytes"},
		{"huge header", vFile, "Bearer " + strings.Repeat("A", 100_000), nil, "token over 8192 bytes"},
		{"empty", vFile, "", nil, "missing bearer token"},
		{"blank", vFile, "   ", nil, "missing bearer token"},
		{"scheme alone", vFile, "Bearer", nil, "missing bearer token"},
		{"scheme and a space", vFile, "Bearer ", nil, "missing bearer token"},
		{"two segments", vFile, "Bearer a.b", nil, "malformed token"},
		{"three undecodable segments", vFile, "Bearer a.b.c", nil, "malformed token"},
		{"four segments", vFile, "Bearer a.b.c.d", nil, "malformed token"},
		{"empty segments", vFile, "Bearer ..", nil, "malformed token"},
		{"header not JSON", vFile, badHeaderJSON, nil, "malformed token"},
		{"random bytes", vFile, "Bearer \x00\xff\xfe\x01\x7f.\x80\x81.\x90", nil, "malformed token"},
		{"random bytes without a scheme", vFile, "\x00\xff\xfe\x01\x7f", nil, "authorization scheme must be Bearer"},
		{"Basic scheme", vFile, "Basic dXNlcjpwYXNzd29yZA==", nil, "authorization scheme must be Bearer"},
		{"token without a scheme", vFile, tokenOf(hs(claims("u-1"))), nil, "authorization scheme must be Bearer"},
		{"space inside the token", vFile, "Bearer " + strings.Replace(tokenOf(hs(claims("u-1"))), ".", ". ", 1), nil, "malformed token"},

		// Subject.
		{"missing sub", vFile, hs(claims("u-1", unset("sub"))), nil, "token lacks sub"},
		{"empty sub", vFile, hs(claims("")), nil, "token lacks sub"},
		{"numeric sub", vFile, hs(claims("u-1", set("sub", 42))), nil, "sub must be a string"},
		{"sub with a control character", vFile, hs(claims("u-1\n2")), nil, "sub must be"},
		{"sub of 256 bytes", vFile, hs(claims(strings.Repeat("u", 256))), nil, "sub must be"},
		{"sub of 255 bytes", vFile, hs(claims(strings.Repeat("u", 255))), user(strings.Repeat("u", 255), strings.Repeat("u", 255), false), ""},
		{"sub with a C1 control character", vFile, hs(claims("u-\u0085")), nil, "sub must be"},

		// Names and roles.
		{"preferred_username first", vFile, hs(claims("u-1", set("preferred_username", "ada"), set("name", "Ada L."))), user("u-1", "ada", false), ""},
		{"name without preferred_username", vFile, hs(claims("u-1", set("name", "Ada L."))), user("u-1", "Ada L.", false), ""},
		{"blank preferred_username falls to name", vFile, hs(claims("u-1", set("preferred_username", " "), set("name", "Ada L."))), user("u-1", "Ada L.", false), ""},
		{"non-string name falls to sub", vFile, hs(claims("u-1", set("name", 7))), u1, ""},
		{"name with a control character", vFile, hs(claims("u-1", set("preferred_username", "ada\x1b[31m"))), nil, "preferred_username must be"},
		{"role moderator", vFile, hs(claims("u-1", set("role", "moderator"))), user("u-1", "u-1", true), ""},
		{"role admin", vFile, hs(claims("u-1", set("role", "admin"))), user("u-1", "u-1", true), ""},
		{"role user", vFile, hs(claims("u-1", set("role", "user"))), u1, ""},
		{"role in another case grants nothing", vFile, hs(claims("u-1", set("role", "Admin"))), u1, ""},
		{"roles holding admin", vFile, hs(claims("u-1", set("roles", []string{"user", "admin"}))), user("u-1", "u-1", true), ""},
		{"roles holding moderator", vFile, hs(claims("u-1", set("roles", []string{"moderator"}))), user("u-1", "u-1", true), ""},
		{"roles without either", vFile, hs(claims("u-1", set("roles", []string{"editor", "user"}))), u1, ""},
		{"roles as a string", vFile, hs(claims("u-1", set("roles", "moderator"))), user("u-1", "u-1", true), ""},
		{"role as an array", vFile, hs(claims("u-1", set("role", []string{"admin"}))), user("u-1", "u-1", true), ""},
		{"roles of other types grant nothing", vFile, hs(claims("u-1", set("roles", []any{1, map[string]string{"name": "admin"}, true}))), u1, ""},
		{"role of another type grants nothing", vFile, hs(claims("u-1", set("role", map[string]string{"name": "admin"}))), u1, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := verifiers[c.verifier]
			id, err := verify(t, v.v, c.header)
			noTokenLogged(t, v.logs, c.header)
			if c.want == nil {
				if err == nil {
					t.Fatalf("Verify = %+v; want an error %q", id, c.msg)
				}
				mustFail(t, c.header, err, c.msg)
				if id != (auth.Identity{}) {
					t.Fatalf("a failure returned the identity %+v", id)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if id != *c.want {
				t.Fatalf("Verify = %+v, want %+v", id, *c.want)
			}
		})
	}
}

func TestTokenSizes(t *testing.T) {
	// The 8 KiB bound is on the token, not the header: exactly 8192 bytes
	// is parsed (and here fails its signature), one more is refused before.
	v, _ := newVerifier(t, jwtConfig(func(c *auth.Config) { c.JWTSecret = secret }))
	tok := must(authtest.SignHS256([]byte(secret), claims("u-1", set("pad", ""))))
	parts := strings.Split(tok, ".")
	grow := auth.MaxTokenBytes - len(tok)
	at := parts[0] + "." + parts[1] + "." + parts[2] + strings.Repeat("A", grow)
	if len(at) != auth.MaxTokenBytes {
		t.Fatalf("built a token of %d bytes", len(at))
	}
	_, err := verify(t, v, bearer(at))
	mustFail(t, bearer(at), err, "invalid token signature")
	_, err = verify(t, v, bearer(at+"A"))
	mustFail(t, bearer(at+"A"), err, "token over 8192 bytes")
}

func TestChallenge(t *testing.T) {
	if auth.ChallengeHeader != "WWW-Authenticate" || auth.Challenge != `Bearer error="invalid_token"` {
		t.Fatalf("challenge %s: %s", auth.ChallengeHeader, auth.Challenge)
	}
}

func TestDisabled(t *testing.T) {
	v, _ := newVerifier(t, auth.Config{Mode: auth.ModeNone, JWTSecret: secret, JWKSRefresh: time.Minute})
	if v.Enabled() {
		t.Fatal("AUTH_MODE=none is enabled")
	}
	_, err := verify(t, v, bearer(must(authtest.SignHS256([]byte(secret), claims("u-1")))))
	mustFail(t, "", err, "token authentication is off")
}

func TestNewErrors(t *testing.T) {
	missing := writeFile(t, "missing.json", nil)
	noKeys := writeFile(t, "empty.json", []byte(`{"keys":[{"kty":"oct","kid":"s","k":"c2VjcmV0"}]}`))
	notJSON := writeFile(t, "bad.json", []byte(`{"keys":`))
	for _, c := range []struct {
		name, file, want string
	}{
		{"missing file", missing, "AUTH_JWKS_FILE"},
		{"no usable key", noKeys, "no usable key"},
		{"not JSON", notJSON, "not a JSON Web Key Set"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := auth.New(jwtConfig(func(cfg *auth.Config) { cfg.JWKSFile = c.file }), zap.NewNop())
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "AUTH_JWKS_FILE") {
				t.Fatalf("New = %v; want an error naming AUTH_JWKS_FILE and holding %q", err, c.want)
			}
		})
	}
}

func TestModule(t *testing.T) {
	cfg := jwtConfig(func(c *auth.Config) { c.JWTSecret = secret })
	var v *auth.Verifier
	app := fxtest.New(t, fx.Supply(cfg, zap.NewNop()), auth.Module, fx.Populate(&v))
	app.RequireStart()
	defer app.RequireStop()
	tok := must(authtest.SignHS256([]byte(secret), authtest.NewClaims("u-1", time.Now(), time.Minute)))
	id, err := v.Verify(context.Background(), bearer(tok))
	if err != nil || id.Subject != "u-1" {
		t.Fatalf("Verify = %+v, %v", id, err)
	}
	if _, err := v.Verify(context.Background(), "Bearer x"); !errorsIsUnauthorized(err) {
		t.Fatalf("Verify(junk) = %v", err)
	}
}

func errorsIsUnauthorized(err error) bool {
	e, ok := errs.Classified(err)
	return ok && e.Kind == errs.Unauthorized
}

// writeFile writes data, when not nil, to a file name in a temporary
// directory and returns its path.
func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if data != nil {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return path
}
