package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// The token algorithms a key set's keys verify; HS256 is the shared
// secret's alone.
const (
	algHS256 = "HS256"
	algRS256 = "RS256"
	algES256 = "ES256"
	algEdDSA = "EdDSA"
)

// maxJWKSBytes bounds a key set read from a file or a URL.
const maxJWKSBytes = 1 << 20

// RSA moduli outside these bounds are refused: below, forgeable; above,
// costly to verify with (and refused by crypto/rsa).
const (
	minRSABits = 2048
	maxRSABits = 8192
)

// publicKey is one usable key of a set.
type publicKey struct {
	alg string // the token alg it verifies: RS256, ES256 or EdDSA
	key any    // *rsa.PublicKey, *ecdsa.PublicKey (P-256) or ed25519.PublicKey
}

// keySet is an immutable set of public keys by kid. A kid may name more
// than one key (of different types, or during a rotation): each is tried.
type keySet struct {
	byKid map[string][]publicKey
	kids  []string // sorted, one per distinct kid
}

// lookup returns the keys kid names that verify alg, and whether kid names
// any key at all.
func (s *keySet) lookup(kid, alg string) (keys []any, known bool) {
	if s == nil {
		return nil, false
	}
	all, known := s.byKid[kid]
	for _, k := range all {
		if k.alg == alg {
			keys = append(keys, k.key)
		}
	}
	return keys, known
}

// jwk is the members of a JSON Web Key (RFC 7517, 7518, 8037) that matter
// here; others are ignored.
type jwk struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid"`
	Use    string   `json:"use"`
	KeyOps []string `json:"key_ops"`
	Alg    string   `json:"alg"`
	Crv    string   `json:"crv"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	X      string   `json:"x"`
	Y      string   `json:"y"`
	D      string   `json:"d"`
}

// readJWKS reads and parses a key set of at most maxJWKSBytes.
func readJWKS(r io.Reader) (*keySet, []string, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxJWKSBytes+1))
	if err != nil {
		return nil, nil, err
	}
	if len(data) > maxJWKSBytes {
		return nil, nil, fmt.Errorf("key set over %d bytes", maxJWKSBytes)
	}
	return parseJWKS(data)
}

// parseJWKS parses a JSON Web Key Set. It returns the keys this package
// verifies with and, for each other key, why it was skipped; a set with no
// usable key is an error.
func parseJWKS(data []byte) (*keySet, []string, error) {
	var doc struct {
		Keys []jsontext.Value `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("not a JSON Web Key Set: %w", err)
	}
	set := &keySet{byKid: map[string][]publicKey{}}
	var skipped []string
	for i, raw := range doc.Keys {
		var k jwk
		if err := json.Unmarshal(raw, &k); err != nil {
			skipped = append(skipped, fmt.Sprintf("key %d: %v", i, err))
			continue
		}
		pk, err := parseJWK(k)
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("key %d (kid %.64q): %v", i, k.Kid, err))
			continue
		}
		if _, seen := set.byKid[k.Kid]; !seen {
			set.kids = append(set.kids, k.Kid)
		}
		set.byKid[k.Kid] = append(set.byKid[k.Kid], pk)
	}
	if len(set.kids) == 0 {
		if len(skipped) > 0 {
			return nil, skipped, fmt.Errorf("no usable key (%s)", strings.Join(skipped, "; "))
		}
		return nil, nil, errors.New("no usable key")
	}
	slices.Sort(set.kids)
	return set, skipped, nil
}

// parseJWK turns one JSON Web Key into a public key for RS256, ES256 or
// EdDSA, refusing what it cannot be sure of.
func parseJWK(k jwk) (publicKey, error) {
	switch {
	case k.Kid == "":
		return publicKey{}, errors.New("no kid")
	case k.Use != "" && k.Use != "sig":
		return publicKey{}, fmt.Errorf("use %.16q is not sig", k.Use)
	case k.KeyOps != nil && !slices.Contains(k.KeyOps, "verify"):
		return publicKey{}, errors.New("key_ops lacks verify")
	case k.D != "":
		return publicKey{}, errors.New("holds private key material, which a public key set must not")
	}
	var (
		pk   publicKey
		err  error
		algs []string // the JWK alg values that fit
	)
	switch k.Kty {
	case "RSA":
		pk.alg, algs = algRS256, []string{algRS256}
		pk.key, err = parseRSA(k)
	case "EC":
		pk.alg, algs = algES256, []string{algES256}
		pk.key, err = parseP256(k)
	case "OKP":
		pk.alg, algs = algEdDSA, []string{algEdDSA, "Ed25519"} // RFC 9864's fully specified name
		pk.key, err = parseEd25519(k)
	default:
		return publicKey{}, fmt.Errorf("kty %.16q is not RSA, EC or OKP", k.Kty)
	}
	if err != nil {
		return publicKey{}, err
	}
	if k.Alg != "" && !slices.Contains(algs, k.Alg) {
		return publicKey{}, fmt.Errorf("alg %.16q does not fit a %s key", k.Alg, k.Kty)
	}
	return pk, nil
}

func parseRSA(k jwk) (*rsa.PublicKey, error) {
	n, err := b64(k.N, "n", 0)
	if err != nil {
		return nil, err
	}
	e, err := b64(k.E, "e", 0)
	if err != nil {
		return nil, err
	}
	mod := new(big.Int).SetBytes(n)
	if bits := mod.BitLen(); bits < minRSABits || bits > maxRSABits {
		return nil, fmt.Errorf("RSA modulus of %d bits, not %d to %d", bits, minRSABits, maxRSABits)
	}
	exp := new(big.Int).SetBytes(e)
	if exp.BitLen() > 31 || exp.Int64() < 3 || exp.Bit(0) == 0 {
		return nil, errors.New("RSA exponent is not an odd number from 3 to 2³¹")
	}
	return &rsa.PublicKey{N: mod, E: int(exp.Int64())}, nil
}

func parseP256(k jwk) (*ecdsa.PublicKey, error) {
	if k.Crv != "P-256" {
		return nil, fmt.Errorf("EC curve %.16q is not P-256", k.Crv)
	}
	x, err := b64(k.X, "x", 32)
	if err != nil {
		return nil, err
	}
	y, err := b64(k.Y, "y", 32)
	if err != nil {
		return nil, err
	}
	point := append(append([]byte{4}, x...), y...)
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		return nil, fmt.Errorf("EC point: %w", err)
	}
	return pub, nil
}

func parseEd25519(k jwk) (ed25519.PublicKey, error) {
	if k.Crv != "Ed25519" {
		return nil, fmt.Errorf("OKP curve %.16q is not Ed25519", k.Crv)
	}
	x, err := b64(k.X, "x", ed25519.PublicKeySize)
	if err != nil {
		return nil, err
	}
	return ed25519.PublicKey(x), nil
}

// b64 decodes a JWK member in base64url, padding tolerated; size, when
// not 0, is the length it must have.
func b64(s, member string, size int) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("no %s", member)
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, fmt.Errorf("%s is not base64url", member)
	}
	if size != 0 && len(b) != size {
		return nil, fmt.Errorf("%s is %d bytes, not %d", member, len(b), size)
	}
	return b, nil
}
