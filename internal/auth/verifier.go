package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/parley/parley/internal/errs"
	"github.com/parley/parley/internal/platform"
)

// MaxTokenBytes is the longest token Verify parses; a longer one is
// refused before any decoding.
const MaxTokenBytes = 8 << 10

// Leeway is the clock skew tolerated on exp, nbf and iat.
const Leeway = 30 * time.Second

// FetchTimeout bounds one read of AUTH_JWKS_URL.
const FetchTimeout = 10 * time.Second

// StartTimeout bounds Start's attempts at the first read of AUTH_JWKS_URL
// (the start context may end them sooner).
const StartTimeout = 30 * time.Second

// ChallengeHeader and Challenge are the header a 401 for a missing or bad
// token carries (RFC 6750 §3).
const (
	ChallengeHeader = "WWW-Authenticate"
	Challenge       = `Bearer error="invalid_token"`
)

// Verifier checks bearer tokens against the configured keys: the shared
// secret (HS256), the key set file, and the key set URL, which it re-reads
// while started. It is safe for concurrent use.
type Verifier struct {
	cfg     Config
	log     *zap.Logger
	now     func() time.Time
	client  *http.Client
	secret  []byte   // AUTH_JWT_SECRET; nil when unset
	file    *keySet  // AUTH_JWKS_FILE; nil when unset
	methods []string // the token algorithms the key sources serve
	parser  *jwt.Parser
	remote  atomic.Pointer[keySet] // AUTH_JWKS_URL's last good set
	loops   *platform.Loops
	urlText string // AUTH_JWKS_URL without credentials or query, for logs

	fetchMu   sync.Mutex        // one read of the URL at a time; guards what follows
	lastEarly time.Time         // when an unknown kid last caused a read
	kids      []string          // the URL set's kids, to log changes
	trouble   *platform.Trouble // logs the URL failing, once, and recovering
}

// Option adjusts a Verifier, for tests.
type Option func(*Verifier)

// WithClock makes the Verifier read the time from now: token times and
// the early re-read's rate limit.
func WithClock(now func() time.Time) Option { return func(v *Verifier) { v.now = now } }

// WithHTTPClient makes the Verifier read AUTH_JWKS_URL with c rather than
// with a client of its own (whose timeout is FetchTimeout).
func WithHTTPClient(c *http.Client) Option { return func(v *Verifier) { v.client = c } }

// New returns a Verifier for cfg, which Config.Check passed. It reads
// AUTH_JWKS_FILE now; AUTH_JWKS_URL is read by Start. With AUTH_MODE=none
// the Verifier refuses every token, and Start and Stop do nothing.
func New(cfg Config, log *zap.Logger, opts ...Option) (*Verifier, error) {
	v := &Verifier{cfg: cfg, log: log, now: time.Now, loops: platform.NewLoops()}
	for _, o := range opts {
		o(v)
	}
	if v.client == nil {
		v.client = &http.Client{
			Timeout:   FetchTimeout,
			Transport: http.DefaultTransport.(*http.Transport).Clone(),
		}
	}
	if !cfg.Enabled() {
		return v, nil
	}
	var methods []string
	if cfg.JWTSecret != "" {
		v.secret = []byte(cfg.JWTSecret)
		methods = append(methods, algHS256)
	}
	if cfg.JWKSFile != "" {
		set, skipped, err := readJWKSFile(cfg.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf("AUTH_JWKS_FILE: %w", err)
		}
		v.file = set
		log.Info("key set file read", zap.String("file", cfg.JWKSFile), zap.Strings("kids", set.kids), zap.Strings("skipped", skipped))
	}
	if cfg.JWKSURL != "" {
		u, err := url.Parse(cfg.JWKSURL)
		if err != nil {
			return nil, errors.New("AUTH_JWKS_URL must be an http or https URL")
		}
		v.urlText = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
		if u.Scheme == "http" && !platform.IsLoopback(net.JoinHostPort(u.Hostname(), "0")) {
			log.Warn("AUTH_JWKS_URL is plain http: whoever sits on the path can replace the keys", zap.String("url", v.urlText))
		}
		v.trouble = platform.NewTrouble(log, "cannot read the key set; keeping the last good one", "key set read again")
	}
	if cfg.JWKSFile != "" || cfg.JWKSURL != "" {
		methods = append(methods, algRS256, algES256, algEdDSA)
	}
	v.methods = methods
	popts := []jwt.ParserOption{
		jwt.WithValidMethods(methods),
		jwt.WithLeeway(Leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(func() time.Time { return v.now() }),
		jwt.WithStrictDecoding(),
	}
	if cfg.Issuer != "" {
		popts = append(popts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		popts = append(popts, jwt.WithAudience(cfg.Audience))
	}
	v.parser = jwt.NewParser(popts...)
	return v, nil
}

func readJWKSFile(name string) (*keySet, []string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return readJWKS(f)
}

// Enabled reports whether the Verifier checks tokens (AUTH_MODE=jwt).
func (v *Verifier) Enabled() bool { return v.cfg.Enabled() }

// Start reads AUTH_JWKS_URL, when set, retrying until it succeeds, ctx
// ends or StartTimeout passes (an error then: start fails), and re-reads
// it every AUTH_JWKS_REFRESH until Stop. Call it once.
func (v *Verifier) Start(ctx context.Context) error {
	if !v.Enabled() || v.cfg.JWKSURL == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()
	if err := platform.Retry(ctx, 5*time.Second, v.Refresh, nil); err != nil {
		return fmt.Errorf("AUTH_JWKS_URL: %w", err)
	}
	v.loops.Go(v.refreshLoop)
	return nil
}

// Stop ends the re-reads Start began and waits for them.
func (v *Verifier) Stop() {
	v.loops.Stop()
	v.client.CloseIdleConnections()
}

// Hook starts and stops the Verifier with an fx app.
func (v *Verifier) Hook() fx.Hook {
	return fx.Hook{
		OnStart: v.Start,
		OnStop:  func(context.Context) error { v.Stop(); return nil },
	}
}

// Module provides a *Verifier, started and stopped with the app, from the
// Config the service provides.
var Module = fx.Module("auth", fx.Provide(func(lc fx.Lifecycle, cfg Config, log *zap.Logger) (*Verifier, error) {
	v, err := New(cfg, log.Named("auth"))
	if err != nil {
		return nil, err
	}
	lc.Append(v.Hook())
	return v, nil
}))

func (v *Verifier) refreshLoop(ctx context.Context) {
	platform.Every(ctx, v.cfg.JWKSRefresh, func() {
		_ = v.Refresh(ctx) // logged; the last good set stays
	})
}

// Refresh reads AUTH_JWKS_URL now and, when it yields a usable key set,
// replaces the one in use; on failure the last good set stays.
func (v *Verifier) Refresh(ctx context.Context) error {
	if v.cfg.JWKSURL == "" {
		return nil
	}
	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	return v.fetchLocked(ctx)
}

// fetchLocked reads the URL, fetchMu held.
func (v *Verifier) fetchLocked(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, FetchTimeout)
	defer cancel()
	set, skipped, err := v.fetch(ctx)
	v.trouble.Report(err, zap.String("url", v.urlText))
	if err != nil {
		return err
	}
	v.remote.Store(set)
	if !slices.Equal(set.kids, v.kids) {
		v.kids = set.kids
		v.log.Info("key set read", zap.String("url", v.urlText), zap.Strings("kids", set.kids), zap.Strings("skipped", skipped))
	}
	return nil
}

func (v *Verifier) fetch(ctx context.Context) (*keySet, []string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.cfg.JWKSURL, nil)
	if err != nil {
		return nil, nil, v.redact(err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, nil, v.redact(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	return readJWKS(resp.Body)
}

// redact keeps the key set URL's query (which may hold a secret) out of an
// error that names the URL: a *url.Error, from the client, names the URL it
// failed on (the one configured, or one it was redirected to) in full, and
// it goes to logs and to Start's error. It names urlText instead.
func (v *Verifier) redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: v.urlText, Err: ue.Err}
	}
	return err
}

// Verify checks an Authorization header's bearer token and returns whom it
// speaks for. Every failure is an errs.Unauthorized whose message is safe
// to show a client; the caller answers it with the Challenge header. exp
// is required; exp, nbf and iat are checked with Leeway; iss and aud when
// configured. Neither the token nor its claims are logged. ctx bounds the early
// re-read of AUTH_JWKS_URL an unknown kid may cause.
func (v *Verifier) Verify(ctx context.Context, authorization string) (Identity, error) {
	if !v.Enabled() {
		return Identity{}, errs.Unauthorized.New("token authentication is off")
	}
	token, err := bearer(authorization)
	if err != nil {
		return Identity{}, err
	}
	claims := jwt.MapClaims{}
	t, err := v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) { return v.key(ctx, t) })
	if err != nil {
		if t != nil && t.Method != nil && !slices.Contains(v.methods, t.Method.Alg()) {
			return Identity{}, errs.Unauthorized.Wrap("token algorithm not accepted", err)
		}
		return Identity{}, classify(err)
	}
	return identity(claims)
}

// bearer returns the token of an "Authorization: Bearer <token>" header
// (the scheme's case does not matter, RFC 9110 §11.1) if it has a JWS
// compact form's shape and is at most MaxTokenBytes.
func bearer(h string) (string, error) {
	if len(h) > MaxTokenBytes+64 { // before any other work on it
		return "", errs.Unauthorized.New("token over %d bytes", MaxTokenBytes)
	}
	scheme, token, _ := strings.Cut(strings.TrimSpace(h), " ")
	token = strings.TrimLeft(token, " ")
	switch {
	case scheme == "":
		return "", errs.Unauthorized.New("missing bearer token")
	case !strings.EqualFold(scheme, "Bearer"):
		return "", errs.Unauthorized.New("authorization scheme must be Bearer")
	case token == "":
		return "", errs.Unauthorized.New("missing bearer token")
	case len(token) > MaxTokenBytes:
		return "", errs.Unauthorized.New("token over %d bytes", MaxTokenBytes)
	case !compactJWS(token):
		return "", errs.Unauthorized.New("malformed token")
	}
	return token, nil
}

// compactJWS reports whether s is three non-empty base64url segments
// joined by dots.
func compactJWS(s string) bool {
	dots, seg := 0, 0
	for i := range len(s) {
		switch c := s[i]; {
		case c == '.':
			if seg == 0 {
				return false
			}
			dots, seg = dots+1, 0
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
			seg++
		default:
			return false
		}
	}
	return dots == 2 && seg > 0
}

// key chooses the key that verifies t: the secret for HS256, the keys
// its kid names for the others, provided their type fits alg. The parser
// has already refused an alg that no configured key source serves.
func (v *Verifier) key(ctx context.Context, t *jwt.Token) (any, error) {
	if _, ok := t.Header["crit"]; ok {
		return nil, errs.Unauthorized.New("token has critical header parameters, which are not supported")
	}
	alg := t.Method.Alg()
	switch alg {
	case algHS256:
		if v.secret == nil {
			return nil, errs.Unauthorized.New("token algorithm not accepted")
		}
		return v.secret, nil
	case algRS256, algES256, algEdDSA:
	default:
		return nil, errs.Unauthorized.New("token algorithm not accepted")
	}
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return nil, errs.Unauthorized.New("token lacks kid")
	}
	keys, known := v.lookup(kid, alg)
	if !known {
		keys, known = v.refetchFor(ctx, kid, alg)
	}
	switch {
	case !known:
		return nil, errs.Unauthorized.New("unknown signing key")
	case len(keys) == 0:
		return nil, errs.Unauthorized.New("signing key does not fit the token algorithm")
	case len(keys) == 1:
		return keys[0], nil
	}
	set := jwt.VerificationKeySet{}
	for _, k := range keys {
		set.Keys = append(set.Keys, k)
	}
	return set, nil
}

// lookup searches the URL's set, then the file's.
func (v *Verifier) lookup(kid, alg string) ([]any, bool) {
	keys, known := v.remote.Load().lookup(kid, alg)
	fkeys, fknown := v.file.lookup(kid, alg)
	return append(keys, fkeys...), known || fknown
}

// refetchFor re-reads the URL for a kid no set knows (a key rotation the
// periodic read has not seen yet), at most once per AUTH_JWKS_REFRESH so
// that made-up kids cannot make it hammer the URL.
func (v *Verifier) refetchFor(ctx context.Context, kid, alg string) ([]any, bool) {
	if v.cfg.JWKSURL == "" {
		return nil, false
	}
	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	if keys, known := v.lookup(kid, alg); known { // read while this call waited
		return keys, known
	}
	now := v.now()
	if !v.lastEarly.IsZero() && now.Sub(v.lastEarly) < v.cfg.JWKSRefresh {
		return nil, false
	}
	v.lastEarly = now
	v.log.Info("token names an unknown kid; reading the key set early", zap.String("url", v.urlText))
	// The read serves later requests too: the client going away must not
	// cut it short (FetchTimeout bounds it).
	if err := v.fetchLocked(context.WithoutCancel(ctx)); err != nil {
		return nil, false
	}
	return v.lookup(kid, alg)
}

// classify turns the parser's error into an Unauthorized error whose
// message a client may see; the parser's error, which holds no part of
// the token, is kept as the cause for logs.
func classify(err error) error {
	var e *errs.Error
	if errors.As(err, &e) { // from key
		return e
	}
	msg := "invalid token"
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		msg = "malformed token"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		msg = "invalid token signature"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		msg = "token algorithm not accepted"
	case errors.Is(err, jwt.ErrInvalidType):
		msg = "token claim of the wrong type"
	case errors.Is(err, jwt.ErrTokenExpired):
		msg = "token expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		msg = "token not valid yet"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		msg = "token issued in the future"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		msg = "token lacks a required claim (exp, or iss or aud when configured)"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		msg = "wrong token issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		msg = "wrong token audience"
	}
	return errs.Unauthorized.Wrap(msg, err)
}
