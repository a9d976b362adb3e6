package auth_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/parley/parley/internal/auth"
	"github.com/parley/parley/internal/auth/authtest"
	"github.com/parley/parley/internal/clocktest"
)

// eventually waits for cond, failing the test after 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The periodic re-read picks up a rotated key set: the new key verifies,
// the retired one no longer does; when the URL then fails, the set in use
// stays.
func TestRefreshPicksUpRotation(t *testing.T) {
	k := testKeys()
	srv := newJWKSServer(t, k.rsa)
	// The clock stands still, so the one early re-read an unknown kid may
	// cause is spent at once: what picks up the rotation is the loop.
	v, _ := newVerifier(t, jwtConfig(func(c *auth.Config) {
		c.JWKSURL, c.JWKSRefresh = srv.URL, 20*time.Millisecond
	}))
	oldTok := bearer(must(k.rsa.Sign(claims("u-1"))))
	newTok := bearer(must(k.rsa2.Sign(claims("u-2"))))
	mustVerify(t, v, oldTok, auth.Identity{Subject: "u-1", Name: "u-1"})
	_, err := verify(t, v, newTok)
	mustFail(t, newTok, err, "unknown signing key")

	srv.serve(http.StatusOK, must(authtest.JWKS(k.rsa2)))
	eventually(t, "the new key", func() bool { _, err := verify(t, v, newTok); return err == nil })
	mustVerify(t, v, newTok, auth.Identity{Subject: "u-2", Name: "u-2"})
	_, err = verify(t, v, oldTok)
	mustFail(t, oldTok, err, "unknown signing key")

	srv.serve(http.StatusInternalServerError, []byte("down"))
	hits := srv.hits.Load()
	eventually(t, "failed re-reads", func() bool { return srv.hits.Load() >= hits+3 })
	mustVerify(t, v, newTok, auth.Identity{Subject: "u-2", Name: "u-2"})
}

// An unknown kid causes at most one early re-read per AUTH_JWKS_REFRESH,
// however many tokens name one and however concurrently; a rotation is
// picked up by the first unknown kid of an interval.
func TestUnknownKidRereadIsRateLimited(t *testing.T) {
	k := testKeys()
	srv := newJWKSServer(t, k.rsa)
	clk := clocktest.New(now)
	v, _ := newVerifier(t, jwtConfig(func(c *auth.Config) { c.JWKSURL, c.JWKSRefresh = srv.URL, time.Hour }),
		auth.WithClock(clk.Now))
	wantHits := func(n int64) {
		t.Helper()
		if got := srv.hits.Load(); got != n {
			t.Fatalf("the key set URL was read %d times, want %d", got, n)
		}
	}
	forged := func(i int) string {
		return bearer(must(authtest.Sign("RS256", fmt.Sprintf("forged-%d", i), k.other.Private, claims("u-1"))))
	}
	wantHits(1) // at start

	for i := range 20 {
		_, err := verify(t, v, forged(i))
		mustFail(t, forged(i), err, "unknown signing key")
	}
	wantHits(2)

	// The host rotates in a new key; within the interval it is not seen.
	srv.serve(http.StatusOK, must(authtest.JWKS(k.rsa, k.rsa2)))
	newTok := bearer(must(k.rsa2.Sign(claims("u-2"))))
	clk.Advance(59 * time.Minute)
	_, err := verify(t, v, newTok)
	mustFail(t, newTok, err, "unknown signing key")
	wantHits(2)

	// The next interval's first unknown kid reads the set, and finds it.
	clk.Advance(time.Minute)
	id, err := verify(t, v, newTok)
	if err != nil || id.Subject != "u-2" {
		t.Fatalf("Verify(rotated key) = %+v, %v", id, err)
	}
	wantHits(3)
	_, err = verify(t, v, forged(99))
	mustFail(t, forged(99), err, "unknown signing key")
	wantHits(3)

	// Concurrent forged kids in a new interval: one read.
	clk.Advance(time.Hour)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if _, err := v.Verify(context.Background(), forged(i)); !errorsIsUnauthorized(err) {
				t.Errorf("Verify(forged) = %v", err)
			}
		})
	}
	wg.Wait()
	wantHits(4)
}

// When the URL fails in any way, the last good key set stays in use; the
// failure is logged once, and the recovery once.
func TestKeepsLastGoodKeySet(t *testing.T) {
	k := testKeys()
	srv := newJWKSServer(t, k.ec)
	v, logs := newVerifier(t, jwtConfig(func(c *auth.Config) { c.JWKSURL, c.JWKSRefresh = srv.URL, time.Hour }))
	tok := bearer(must(k.ec.Sign(claims("u-1"))))
	mustVerify(t, v, tok, auth.Identity{Subject: "u-1", Name: "u-1"})

	huge := `{"keys":[],"pad":"` + strings.Repeat("x", 2<<20) + `"}`
	for _, c := range []struct {
		name   string
		status int
		body   string
	}{
		{"server error", http.StatusInternalServerError, "oops"},
		{"not found", http.StatusNotFound, ""},
		{"not JSON", http.StatusOK, "<html>maintenance</html>"},
		{"truncated JSON", http.StatusOK, `{"keys":[{"kty":"EC"`},
		{"no keys", http.StatusOK, `{"keys":[]}`},
		{"no usable key", http.StatusOK, `{"keys":[{"kty":"oct","kid":"ec-1","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}]}`},
		{"over 1 MiB", http.StatusOK, huge},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv.serve(c.status, []byte(c.body))
			if err := v.Refresh(context.Background()); err == nil {
				t.Fatal("Refresh succeeded")
			}
			mustVerify(t, v, tok, auth.Identity{Subject: "u-1", Name: "u-1"})
		})
	}
	if n := logs.FilterMessageSnippet("cannot read the key set").Len(); n != 1 {
		t.Fatalf("the failure was logged %d times, want once", n)
	}
	srv.serve(http.StatusOK, must(authtest.JWKS(k.ec)))
	if err := v.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := logs.FilterMessage("key set read again").Len(); n != 1 {
		t.Fatalf("the recovery was logged %d times, want once", n)
	}
}

// A key set URL that never answers fails the start, naming its variable.
func TestStartFailsWithoutKeySet(t *testing.T) {
	srv := newJWKSServer(t)
	srv.serve(http.StatusServiceUnavailable, nil)
	v := must(auth.New(jwtConfig(func(c *auth.Config) { c.JWKSURL = srv.URL }), zap.NewNop()))
	defer v.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := v.Start(ctx)
	if err == nil || !strings.Contains(err.Error(), "AUTH_JWKS_URL") {
		t.Fatalf("Start = %v; want an error naming AUTH_JWKS_URL", err)
	}
	if srv.hits.Load() < 2 {
		t.Fatalf("Start tried %d times; want retries", srv.hits.Load())
	}
}

// The key set file and URL are used together; a kid in both is tried
// with each key.
func TestFileAndURL(t *testing.T) {
	k := testKeys()
	srv := newJWKSServer(t, k.rsa2)
	v, _ := newVerifier(t, jwtConfig(func(c *auth.Config) {
		c.JWKSFile, c.JWKSURL = jwksFile(t, k.rsa), srv.URL
	}))
	mustVerify(t, v, bearer(must(k.rsa.Sign(claims("a")))), auth.Identity{Subject: "a", Name: "a"})
	mustVerify(t, v, bearer(must(k.rsa2.Sign(claims("b")))), auth.Identity{Subject: "b", Name: "b"})
	// rsa-1 at the URL too, but a different key: both are tried.
	clash := &authtest.Key{ID: k.rsa.ID, Alg: "RS256", Private: k.other.Private}
	srv.serve(http.StatusOK, must(authtest.JWKS(clash)))
	if err := v.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	mustVerify(t, v, bearer(must(k.rsa.Sign(claims("a")))), auth.Identity{Subject: "a", Name: "a"})
	mustVerify(t, v, bearer(must(clash.Sign(claims("c")))), auth.Identity{Subject: "c", Name: "c"})
}

// A key set URL may carry a secret in its query: when reading it fails,
// neither the log nor Start's error holds it, directly or after a
// redirect.
func TestJWKSURLSecretNotLogged(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close() // nothing listens there any more
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, closed.URL+"/keys?sig=SECRET-2", http.StatusFound)
	}))
	defer redirect.Close()
	for name, u := range map[string]string{
		"refused":  closed.URL + "/jwks.json?token=SECRET-1",
		"redirect": redirect.URL + "/jwks.json?token=SECRET-1",
	} {
		t.Run(name, func(t *testing.T) {
			core, logs := observer.New(zapcore.DebugLevel)
			v := must(auth.New(jwtConfig(func(c *auth.Config) { c.JWKSURL = u }), zap.New(core)))
			defer v.Stop()
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			err := v.Start(ctx)
			if err == nil || !strings.Contains(err.Error(), "AUTH_JWKS_URL") || strings.Contains(err.Error(), "SECRET") {
				t.Fatalf("Start = %v; want an error naming AUTH_JWKS_URL without the URL's secret", err)
			}
			if err := v.Refresh(context.Background()); err == nil || strings.Contains(err.Error(), "SECRET") {
				t.Fatalf("Refresh = %v", err)
			}
			if logs.Len() == 0 {
				t.Fatal("the failure was not logged")
			}
			for _, e := range logs.All() {
				if text := fmt.Sprint(e.Message, e.ContextMap()); strings.Contains(text, "SECRET") {
					t.Fatalf("log line holds the URL's secret: %s", text)
				}
			}
		})
	}
}
