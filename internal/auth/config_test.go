package auth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parley/parley/internal/auth"
	"github.com/parley/parley/internal/platform"
)

func TestConfigCheck(t *testing.T) {
	cases := []struct {
		name string
		cfg  auth.Config
		want string // "" when valid; else a fragment of the error
	}{
		{"defaults", auth.Config{Mode: "none", JWKSRefresh: 5 * time.Minute}, ""},
		{"jwt with a secret", jwtConfig(func(c *auth.Config) { c.JWTSecret = secret }), ""},
		{"jwt with a file", jwtConfig(func(c *auth.Config) { c.JWKSFile = "/etc/parley/jwks.json" }), ""},
		{"jwt with a URL", jwtConfig(func(c *auth.Config) { c.JWKSURL = "https://host.example/.well-known/jwks.json" }), ""},
		{"jwt with an http URL", jwtConfig(func(c *auth.Config) { c.JWKSURL = "http://127.0.0.1:8080/jwks" }), ""},
		{"unknown mode", auth.Config{Mode: "oauth", JWKSRefresh: time.Minute}, "AUTH_MODE must be none or jwt"},
		{"jwt without keys", jwtConfig(), "AUTH_MODE is jwt, which needs AUTH_JWT_SECRET, AUTH_JWKS_FILE or AUTH_JWKS_URL"},
		{"short secret", jwtConfig(func(c *auth.Config) { c.JWTSecret = strings.Repeat("s", 31) }), "AUTH_JWT_SECRET must be at least 32 bytes"},
		{"short secret in none mode", auth.Config{Mode: "none", JWTSecret: "short", JWKSRefresh: time.Minute}, "AUTH_JWT_SECRET"},
		{"ftp URL", jwtConfig(func(c *auth.Config) { c.JWKSURL = "ftp://host.example/jwks" }), "AUTH_JWKS_URL must be an http or https URL"},
		{"URL without a host", jwtConfig(func(c *auth.Config) { c.JWKSURL = "https:///jwks" }), "AUTH_JWKS_URL"},
		{"not a URL", jwtConfig(func(c *auth.Config) { c.JWKSURL = "://" }), "AUTH_JWKS_URL"},
		{"zero refresh", jwtConfig(func(c *auth.Config) { c.JWTSecret, c.JWKSRefresh = secret, 0 }), "AUTH_JWKS_REFRESH must be at least 1s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var checks platform.Checks
			c.cfg.Check(&checks)
			err := checks.Err()
			if c.want == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Check = %v; want an error holding %q", err, c.want)
			}
		})
	}
}

// The tags parse from the environment, with their defaults.
func TestConfigFromEnv(t *testing.T) {
	load := func() (auth.Config, error) {
		return platform.LoadConfig(func(c *auth.Config, checks *platform.Checks) { c.Check(checks) })
	}
	cfg, err := load()
	if err != nil || cfg.Mode != auth.ModeNone || cfg.JWKSRefresh != 5*time.Minute || cfg.Enabled() {
		t.Fatalf("defaults = %+v, %v", cfg, err)
	}
	t.Setenv("AUTH_MODE", "jwt")
	t.Setenv("AUTH_JWKS_URL", "https://host.example/jwks.json")
	t.Setenv("AUTH_JWKS_REFRESH", "90s")
	t.Setenv("AUTH_ISSUER", "https://host.example")
	t.Setenv("AUTH_AUDIENCE", "parley")
	cfg, err = load()
	if err != nil || !cfg.Enabled() || cfg.JWKSRefresh != 90*time.Second || cfg.Issuer != "https://host.example" || cfg.Audience != "parley" {
		t.Fatalf("from the environment = %+v, %v", cfg, err)
	}
	t.Setenv("AUTH_JWKS_REFRESH", "soon")
	if _, err := load(); err == nil || !strings.Contains(err.Error(), "AUTH_JWKS_REFRESH") {
		t.Fatalf("bad duration: %v", err)
	}
	for _, v := range platform.VarsOf[auth.Config]() {
		if v.Help == "" {
			t.Errorf("%s has no help", v.Name)
		}
	}
}
