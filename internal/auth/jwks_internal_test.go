package auth

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/parley/parley/internal/auth/authtest"
)

// Each key a key set may hold that this package must not use is skipped
// with its reason, and the usable keys beside it stay.
func TestParseJWKSSkips(t *testing.T) {
	good, err := authtest.NewECKey("good")
	if err != nil {
		t.Fatal(err)
	}
	goodJWK, err := good.JWK()
	if err != nil {
		t.Fatal(err)
	}
	ed, err := authtest.NewEd25519Key("ed")
	if err != nil {
		t.Fatal(err)
	}
	edJWK, _ := ed.JWK()
	b64 := base64.RawURLEncoding.EncodeToString
	// jwkWith is goodJWK (or edJWK) changed.
	with := func(base map[string]any, kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		return m
	}
	small := map[string]any{"kty": "RSA", "kid": "small", "n": b64(make([]byte, 128)), "e": "AQAB"}
	small["n"] = b64(append([]byte{0xc0}, make([]byte, 127)...)) // 1024 bits
	cases := []struct {
		name string
		key  any
		why  string
	}{
		{"symmetric key", map[string]any{"kty": "oct", "kid": "s", "k": b64([]byte("0123456789abcdef0123456789abcdef"))}, "kty"},
		{"no kid", with(goodJWK, "kid", nil), "no kid"},
		{"encryption key", with(goodJWK, "kid", "e", "use", "enc"), "use"},
		{"key_ops without verify", with(goodJWK, "kid", "o", "key_ops", []string{"encrypt"}), "key_ops"},
		{"private key", with(goodJWK, "kid", "p", "d", b64(make([]byte, 32))), "private key"},
		{"P-384", with(goodJWK, "kid", "c", "crv", "P-384"), "P-256"},
		{"point off the curve", with(goodJWK, "kid", "off", "y", b64(make([]byte, 32))), "EC point"},
		{"short coordinate", with(goodJWK, "kid", "short", "x", b64(make([]byte, 31))), "x is 31 bytes"},
		{"alg of another family", with(goodJWK, "kid", "a", "alg", "RS256"), "alg"},
		{"ES384 alg", with(goodJWK, "kid", "a2", "alg", "ES384"), "alg"},
		{"1024-bit RSA", small, "RSA modulus of 1024 bits"},
		{"RSA even exponent", map[string]any{"kty": "RSA", "kid": "ee", "n": b64(append([]byte{0xc0}, make([]byte, 255)...)), "e": b64([]byte{2})}, "exponent"},
		{"X25519 key", with(edJWK, "kid", "x", "crv", "X25519"), "Ed25519"},
		{"bad base64", with(edJWK, "kid", "b", "x", "***"), "base64url"},
		{"member of the wrong type", with(goodJWK, "kid", 7), "key 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			alone, _ := json.Marshal(map[string]any{"keys": []any{c.key}})
			if _, skipped, err := parseJWKS(alone); err == nil || len(skipped) != 1 || !strings.Contains(skipped[0], c.why) {
				t.Fatalf("parseJWKS(alone) = %v, %q; want a skip holding %q", err, skipped, c.why)
			}
			beside, _ := json.Marshal(map[string]any{"keys": []any{c.key, goodJWK}})
			set, skipped, err := parseJWKS(beside)
			if err != nil || len(skipped) != 1 || len(set.kids) != 1 || set.kids[0] != "good" {
				t.Fatalf("parseJWKS(beside a good key) = %v, %v, %q", set, err, skipped)
			}
		})
	}
	for _, doc := range []string{``, `[]`, `{"keys":{}}`, `{"keys":[],"keys":[]}`, `{"keys":[]}`, `{}`} {
		if _, _, err := parseJWKS([]byte(doc)); err == nil {
			t.Errorf("parseJWKS(%q) succeeded", doc)
		}
	}
}

// A JWK's alg and key type must agree with the token's alg.
func TestKeySetLookup(t *testing.T) {
	var keys []*authtest.Key
	for _, mk := range []func(string) (*authtest.Key, error){authtest.NewECKey, authtest.NewEd25519Key} {
		k, err := mk("shared")
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	doc, _ := authtest.JWKS(keys...)
	set, _, err := parseJWKS(doc)
	if err != nil {
		t.Fatal(err)
	}
	for alg, want := range map[string]int{algES256: 1, algEdDSA: 1, algRS256: 0, algHS256: 0} {
		got, known := set.lookup("shared", alg)
		if !known || len(got) != want {
			t.Errorf("lookup(shared, %s) = %d keys, %v; want %d", alg, len(got), known, want)
		}
	}
	if _, known := set.lookup("other", algES256); known {
		t.Error("an unknown kid is known")
	}
}
