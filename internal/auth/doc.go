// Package auth verifies the host site's JSON Web Tokens (SPEC §8) and turns
// them into an Identity: who writes, under which display name, and whether
// they may moderate. It is self-contained: a writer or reader builds a
// Verifier from Config, starts it with its lifecycle, and calls Verify with
// a request's Authorization header; every failure is an errs.Unauthorized
// whose message is safe to show a client, to be answered with the
// Challenge header.
//
// Library: github.com/golang-jwt/jwt/v5, the most used Go JWT library,
// kept by the golang-jwt organisation, with no dependencies of its own.
// Its parser already does what SPEC §8 asks of the claims (required exp,
// nbf and iat with a leeway, iss and aud, an allow-list of algorithms) and
// checks that a key's Go type fits the algorithm, which rules out HS/RS
// confusion. Key sets are parsed here with the standard library rather
// than with keyfunc or jwkset: the three key types SPEC §8 names (RSA,
// P-256, Ed25519) take a couple of hundred lines with strict checks (key
// sizes, points on the curve, use and alg members), and the refresh policy
// (a goroutine owned by the fx lifecycle, the last good set kept on
// failure, one early re-read per interval for an unknown kid) is then ours
// rather than a library's background goroutine. lestrrat-go/jwx would do
// all of it but brings several modules; go-jose leaves more of the claim
// checks to us.
package auth
