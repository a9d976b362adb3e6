package auth_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/parley/parley/internal/auth"
	"github.com/parley/parley/internal/auth/authtest"
	"github.com/parley/parley/internal/errs"
)

// FuzzVerify feeds arbitrary Authorization headers to a Verifier with a
// secret and a key set file: it must never panic, and every failure must be
// an Unauthorized *errs.Error whose message does not echo the token.
func FuzzVerify(f *testing.F) {
	k := testKeys()
	dir := f.TempDir()
	file := dir + "/jwks.json"
	if err := writeFileF(file, must(authtest.JWKS(k.rsa, k.ec, k.ed))); err != nil {
		f.Fatal(err)
	}
	v, err := auth.New(jwtConfig(func(c *auth.Config) {
		c.JWTSecret, c.JWKSFile, c.Issuer, c.Audience = secret, file, "https://host.example", "parley"
	}), zap.NewNop(), auth.WithClock(func() time.Time { return now }))
	if err != nil {
		f.Fatal(err)
	}
	c := claims("u-1", set("iss", "https://host.example"), set("aud", "parley"), set("role", "admin"), set("name", "Ada"))
	for _, seed := range []string{
		bearer(must(authtest.SignHS256([]byte(secret), c))),
		bearer(must(k.rsa.Sign(c))),
		bearer(must(k.ec.Sign(c))),
		bearer(must(k.ed.Sign(c))),
		bearer(must(authtest.Sign("none", "", nil, c))),
		bearer(must(authtest.Sign("HS256", k.rsa.ID, must(k.rsa.PublicPEM()), c))),
		bearer(must(authtest.Sign("RS256", k.ec.ID, k.rsa.Private, c))),
		"", "Bearer", "Bearer ", "Bearer a.b", "Bearer a.b.c", "Basic Zm9vOmJhcg==",
		"Bearer eyJhbGciOiJub25lIn0.e30.", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjFlMzAwfQ.AAAA",
		"Bearer " + strings.Repeat("A", 9000),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		id, err := v.Verify(context.Background(), header)
		if err == nil {
			if id.Subject == "" || id.Name == "" {
				t.Fatalf("Verify(%q) = %+v without an error", header, id)
			}
			return
		}
		e, ok := errs.Classified(err)
		if !ok || e.Kind != errs.Unauthorized {
			t.Fatalf("Verify(%q) = %v, not Unauthorized", header, err)
		}
		if tok := tokenOf(header); len(tok) >= 16 && strings.Contains(err.Error(), tok) {
			t.Fatalf("error %q echoes the token", err)
		}
		if id != (auth.Identity{}) {
			t.Fatalf("a failure returned the identity %+v", id)
		}
	})
}

func writeFileF(name string, data []byte) error { return os.WriteFile(name, data, 0o600) }
