// Package authtest mints the tokens a host site signs for Parley (SPEC §8),
// for tests and as the worked example of how a host site signs one: claims
// for a user, an HS256 token with the shared secret, or a key pair (RSA,
// ECDSA P-256 or Ed25519) whose public half is published as a JSON Web Key
// Set and whose private half signs tokens that name it by kid.
//
// It is not a test file so that tests in other packages, and tools, can use
// it; nothing in a service imports it.
package authtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims is a token's payload: the registered claims (sub, exp, iat, nbf,
// iss, aud) and the host site's own (preferred_username, name, role, roles).
type Claims = map[string]any

// NewClaims returns the claims of a token for the user sub, issued at now
// and valid for ttl.
func NewClaims(sub string, now time.Time, ttl time.Duration) Claims {
	return Claims{"sub": sub, "iat": now.Unix(), "exp": now.Add(ttl).Unix()}
}

// SignHS256 signs claims with the secret shared with Parley
// (AUTH_JWT_SECRET).
func SignHS256(secret []byte, claims Claims) (string, error) {
	return Sign("HS256", "", secret, claims)
}

// Sign signs claims with the algorithm alg ("HS256", "RS256", "ES256",
// "EdDSA", or "none", which ignores key) and key, naming kid in the header
// when it is not empty. It makes wrong tokens as readily as right ones:
// that is what tests need.
func Sign(alg, kid string, key any, claims Claims) (string, error) {
	m := jwt.GetSigningMethod(alg)
	if m == nil {
		return "", fmt.Errorf("authtest: unknown algorithm %q", alg)
	}
	if alg == "none" {
		key = jwt.UnsafeAllowNoneSignatureType
	}
	t := jwt.NewWithClaims(m, jwt.MapClaims(claims))
	if kid != "" {
		t.Header["kid"] = kid
	}
	return t.SignedString(key)
}

// Key is a key pair of a host site: it signs tokens with the private half
// and publishes the public half, both under ID.
type Key struct {
	ID      string        // the kid
	Alg     string        // RS256, ES256 or EdDSA
	Private crypto.Signer // *rsa.PrivateKey, *ecdsa.PrivateKey or ed25519.PrivateKey
}

// NewRSAKey generates a 2048-bit RSA key for RS256.
func NewRSAKey(kid string) (*Key, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	return &Key{ID: kid, Alg: "RS256", Private: k}, nil
}

// NewECKey generates a P-256 key for ES256.
func NewECKey(kid string) (*Key, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return &Key{ID: kid, Alg: "ES256", Private: k}, nil
}

// NewEd25519Key generates an Ed25519 key for EdDSA.
func NewEd25519Key(kid string) (*Key, error) {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return &Key{ID: kid, Alg: "EdDSA", Private: k}, nil
}

// Sign signs claims with the key, naming it by kid.
func (k *Key) Sign(claims Claims) (string, error) {
	return Sign(k.Alg, k.ID, k.Private, claims)
}

// Public is the key's public half.
func (k *Key) Public() crypto.PublicKey { return k.Private.Public() }

// PublicPEM is the public half as a PEM "PUBLIC KEY" block (PKIX), the
// bytes an HS/RS confusion attack uses as an HMAC secret.
func (k *Key) PublicPEM() ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// JWK is the public half as a JSON Web Key (RFC 7517, 7518, 8037), with
// kid, alg and use "sig".
func (k *Key) JWK() (map[string]any, error) {
	b64 := base64.RawURLEncoding.EncodeToString
	jwk := map[string]any{"kid": k.ID, "alg": k.Alg, "use": "sig"}
	switch pub := k.Public().(type) {
	case *rsa.PublicKey:
		jwk["kty"] = "RSA"
		jwk["n"] = b64(pub.N.Bytes())
		jwk["e"] = b64(big.NewInt(int64(pub.E)).Bytes())
	case *ecdsa.PublicKey:
		point, err := pub.Bytes() // 0x04 ‖ X ‖ Y, each 32 bytes on P-256
		if err != nil {
			return nil, err
		}
		jwk["kty"], jwk["crv"] = "EC", "P-256"
		jwk["x"], jwk["y"] = b64(point[1:33]), b64(point[33:])
	case ed25519.PublicKey:
		jwk["kty"], jwk["crv"] = "OKP", "Ed25519"
		jwk["x"] = b64(pub)
	default:
		return nil, fmt.Errorf("authtest: unsupported key type %T", pub)
	}
	return jwk, nil
}

// JWKS is the JSON Web Key Set that publishes keys' public halves: the
// content of AUTH_JWKS_FILE, or what AUTH_JWKS_URL serves.
func JWKS(keys ...*Key) ([]byte, error) {
	set := struct {
		Keys []map[string]any `json:"keys"`
	}{Keys: []map[string]any{}}
	for _, k := range keys {
		jwk, err := k.JWK()
		if err != nil {
			return nil, err
		}
		set.Keys = append(set.Keys, jwk)
	}
	return json.MarshalIndent(set, "", "  ")
}
