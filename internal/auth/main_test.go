package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/parley/parley/internal/auth"
	"github.com/parley/parley/internal/auth/authtest"
	"github.com/parley/parley/internal/errs"
)

// Every goroutine a Verifier starts has an owner that stops it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// now is the tests' fixed time.
var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const secret = "0123456789abcdef0123456789abcdef-test"

// keys are generated once: RSA generation is slow under -race.
type keys struct {
	rsa, ec, ed *authtest.Key // published
	rsa2        *authtest.Key // published only by the rotation tests
	other       *authtest.Key // never published: forgeries
}

var testKeys = sync.OnceValue(func() keys {
	gen := func(k *authtest.Key, err error) *authtest.Key {
		if err != nil {
			panic(err)
		}
		return k
	}
	return keys{
		rsa:   gen(authtest.NewRSAKey("rsa-1")),
		ec:    gen(authtest.NewECKey("ec-1")),
		ed:    gen(authtest.NewEd25519Key("ed-1")),
		rsa2:  gen(authtest.NewRSAKey("rsa-2")),
		other: gen(authtest.NewRSAKey("other")),
	}
})

// must is for setting up tests, where an error is a bug of the test.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// claims are a valid token's for user sub at now, changed by mods.
func claims(sub string, mods ...func(authtest.Claims)) authtest.Claims {
	c := authtest.NewClaims(sub, now, time.Hour)
	for _, m := range mods {
		m(c)
	}
	return c
}

func set(k string, v any) func(authtest.Claims) { return func(c authtest.Claims) { c[k] = v } }
func unset(k string) func(authtest.Claims)      { return func(c authtest.Claims) { delete(c, k) } }

// jwksFile writes the key set of keys to a file and returns its name.
func jwksFile(t *testing.T, keys ...*authtest.Key) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(name, must(authtest.JWKS(keys...)), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// jwksServer serves a key set, or a failure, and counts its requests.
type jwksServer struct {
	*httptest.Server
	mu     sync.Mutex
	body   []byte
	status int
	hits   atomic.Int64
}

func newJWKSServer(t *testing.T, keys ...*authtest.Key) *jwksServer {
	t.Helper()
	s := &jwksServer{body: must(authtest.JWKS(keys...)), status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		body, status := s.body, s.status
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) serve(status int, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.body = status, body
}

// jwtConfig is AUTH_MODE=jwt with the defaults, changed by mods.
func jwtConfig(mods ...func(*auth.Config)) auth.Config {
	cfg := auth.Config{Mode: auth.ModeJWT, JWKSRefresh: 5 * time.Minute}
	for _, m := range mods {
		m(&cfg)
	}
	return cfg
}

// newVerifier builds and starts a Verifier whose logs are observed; it is
// stopped when the test ends. Without a clock option, the time is now.
func newVerifier(t *testing.T, cfg auth.Config, opts ...auth.Option) (*auth.Verifier, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	opts = append([]auth.Option{auth.WithClock(func() time.Time { return now })}, opts...)
	v := must(auth.New(cfg, zap.New(core), opts...))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := v.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Stop)
	return v, logs
}

// verify calls Verify, turning a panic into a test failure.
func verify(t *testing.T, v *auth.Verifier, header string) (id auth.Identity, err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Verify panicked: %v", r)
		}
	}()
	return v.Verify(context.Background(), header)
}

// mustFail asserts err is an Unauthorized *errs.Error whose client message
// holds want and which echoes no part of header's token.
func mustFail(t *testing.T, header string, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Verify succeeded; want an error %q", want)
	}
	if !errors.Is(err, errs.Unauthorized) {
		t.Fatalf("error %v is not Unauthorized", err)
	}
	e, ok := errs.Classified(err)
	if !ok || e.Kind != errs.Unauthorized {
		t.Fatalf("error %v is not a classified Unauthorized error", err)
	}
	if !strings.Contains(e.Msg, want) {
		t.Fatalf("message %q does not hold %q", e.Msg, want)
	}
	if tok := tokenOf(header); len(tok) >= 16 && strings.Contains(err.Error(), tok) {
		t.Fatalf("error %q echoes the token", err)
	}
}

// mustVerify asserts header verifies as want.
func mustVerify(t *testing.T, v *auth.Verifier, header string, want auth.Identity) {
	t.Helper()
	id, err := verify(t, v, header)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if id != want {
		t.Fatalf("Verify = %+v, want %+v", id, want)
	}
}

// noTokenLogged asserts that no log line holds header's token.
func noTokenLogged(t *testing.T, logs *observer.ObservedLogs, header string) {
	t.Helper()
	tok := tokenOf(header)
	if len(tok) < 16 {
		return
	}
	for _, e := range logs.All() {
		text := e.Message
		for k, v := range e.ContextMap() {
			text += " " + k + "=" + strings.TrimSpace(fmtAny(v))
		}
		if strings.Contains(text, tok) {
			t.Fatalf("log line %q holds the token", e.Message)
		}
	}
}

func fmtAny(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if ss, ok := v.([]any); ok {
		var b strings.Builder
		for _, s := range ss {
			b.WriteString(fmtAny(s) + " ")
		}
		return b.String()
	}
	return ""
}

// tokenOf is what follows the scheme in an Authorization header.
func tokenOf(header string) string {
	_, tok, _ := strings.Cut(header, " ")
	return strings.TrimSpace(tok)
}

func bearer(token string) string { return "Bearer " + token }
