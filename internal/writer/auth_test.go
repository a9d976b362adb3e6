package writer_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley/parley/internal/auth"
	"github.com/parley/parley/internal/auth/authtest"
	"github.com/parley/parley/internal/pgtest"
	"github.com/parley/parley/internal/stacktest"
)

var jwtSecret = []byte("a-secret-the-host-site-shares-with-parley")

// jwtWriter is a writer in AUTH_MODE=jwt with an HS256 secret.
func jwtWriter(t *testing.T) (base, dbURL string) {
	t.Helper()
	dbURL = pgtest.NewDatabase(t)
	cfg := testConfig(t, dbURL)
	cfg.Auth = auth.Config{Mode: auth.ModeJWT, JWTSecret: string(jwtSecret), JWKSRefresh: time.Minute}
	return startWriter(t, cfg), dbURL
}

// token signs a token for sub with display name and role.
func token(t *testing.T, sub, name, role string) string {
	t.Helper()
	c := authtest.NewClaims(sub, time.Now(), time.Hour)
	if name != "" {
		c["preferred_username"] = name
	}
	if role != "" {
		c["role"] = role
	}
	tok, err := authtest.SignHS256(jwtSecret, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

// TestTokensRefused: every write without a valid token is 401 with the
// Bearer challenge, never a 5xx, and writes nothing.
func TestTokensRefused(t *testing.T) {
	base, _ := jwtWriter(t)
	now := time.Now()
	sign := func(alg string, key any, claims authtest.Claims) string {
		tok, err := authtest.Sign(alg, "", key, claims)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	rsa, err := authtest.NewRSAKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	pem, _ := rsa.PublicPEM()
	good := token(t, "alice", "Alice", "")
	claims := authtest.NewClaims("alice", now, time.Hour)
	cases := map[string][]string{
		"no token":               nil,
		"not bearer":             {"Authorization", "Basic " + good},
		"malformed":              bearer("not.a.token"),
		"expired":                bearer(sign("HS256", jwtSecret, authtest.NewClaims("alice", now.Add(-2*time.Hour), time.Hour))),
		"not yet valid":          bearer(sign("HS256", jwtSecret, authtest.Claims{"sub": "alice", "exp": now.Add(time.Hour).Unix(), "nbf": now.Add(time.Hour).Unix()})),
		"no exp":                 bearer(sign("HS256", jwtSecret, authtest.Claims{"sub": "alice"})),
		"alg none":               bearer(sign("none", nil, claims)),
		"wrong secret":           bearer(sign("HS256", []byte("another-secret-of-thirty-two-bytes!!"), claims)),
		"RSA key as HMAC secret": bearer(sign("HS256", pem, claims)),
		"RS256 without JWKS":     bearer(func() string { s, _ := rsa.Sign(claims); return s }()),
		"forged signature":       bearer(good[:strings.LastIndexByte(good, '.')+1] + "AAAA" + good[strings.LastIndexByte(good, '.')+5:]),
		"oversized":              bearer(sign("HS256", jwtSecret, authtest.Claims{"sub": "alice", "exp": now.Add(time.Hour).Unix(), "pad": strings.Repeat("x", 9000)})),
		"no sub":                 bearer(sign("HS256", jwtSecret, authtest.Claims{"exp": now.Add(time.Hour).Unix()})),
	}
	for name, headers := range cases {
		t.Run(name, func(t *testing.T) {
			r := post(t, base, "/post_comment", map[string]any{"content": "x"}, headers...)
			if r.Status != http.StatusUnauthorized || r.Header.Get("WWW-Authenticate") != auth.Challenge {
				t.Fatalf("%d %s (WWW-Authenticate %q), want 401 with the Bearer challenge", r.Status, r.Body, r.Header.Get("WWW-Authenticate"))
			}
			wantError(t, r, 401, "")
		})
	}
	// The first write that gets through is the first in the log.
	if r := mustPost(t, base, "/post_comment", map[string]any{"content": "x"}, 201, bearer(good)...); r["position"] != 1.0 {
		t.Fatalf("after the refused writes, the first is at %v", r["position"])
	}
}

// TestOwnershipAndModeration: who may edit and delete what (SPEC §8), and
// bans: the author/other/moderator/banned matrix.
func TestOwnershipAndModeration(t *testing.T) {
	base, dbURL := jwtWriter(t)
	alice, bob, mod := token(t, "u-alice", "Alice", ""), token(t, "u-bob", "Bob", ""), token(t, "u-mod", "Mo", "moderator")
	admin := token(t, "u-admin", "Ad", "admin")

	// The author is the token's: its name, or the body's user if it matches.
	r := mustPost(t, base, "/post_comment", map[string]any{"content": "root"}, 201, bearer(alice)...)
	topic := r["topic_id"].(string)
	wantError(t, post(t, base, "/post_comment", map[string]any{"topic_id": topic, "content": "x", "user": "Mallory"}, bearer(bob)...), 403, "token")
	mustPost(t, base, "/post_comment", map[string]any{"topic_id": topic, "content": "by bob", "user": "Bob"}, 201, bearer(bob)...)
	var author, name string
	_ = pgtest.Pool(t, dbURL).QueryRow(t.Context(), `SELECT author_id, user_name FROM comments WHERE comment_id = 1 AND topic_id = $1`, topic).Scan(&author, &name)
	if author != "u-bob" || name != "Bob" {
		t.Fatalf("comment 1 by %q named %q, want u-bob named Bob", author, name)
	}

	edit := func(tok, path string) response {
		return post(t, base, "/edit_comment", map[string]any{"topic_id": topic, "parent_path": path, "content": "edited"}, bearer(tok)...)
	}
	del := func(tok, path string) response {
		return post(t, base, "/delete_comment", map[string]any{"topic_id": topic, "parent_path": path}, bearer(tok)...)
	}
	for _, c := range []struct {
		name string
		do   func() response
		want int
	}{
		{"author edits", func() response { return edit(alice, "0") }, 200},
		{"other edits", func() response { return edit(bob, "0") }, 403},
		{"moderator edits", func() response { return edit(mod, "0") }, 403},
		{"other deletes", func() response { return del(bob, "0") }, 403},
		{"moderator deletes", func() response { return del(mod, "0/1") }, 200},
		{"admin deletes", func() response { return del(admin, "0/1") }, 200},
		{"author deletes", func() response { return del(alice, "0") }, 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			if r := c.do(); r.Status != c.want {
				t.Fatalf("%d %s, want %d", r.Status, r.Body, c.want)
			}
		})
	}
	var by string
	_ = pgtest.Pool(t, dbURL).QueryRow(t.Context(), `SELECT convert_from(payload, 'UTF8')::jsonb->>'by' FROM events WHERE kind = 'deleted' ORDER BY position LIMIT 1`).Scan(&by)
	if by != "u-mod" {
		t.Fatalf("the first delete event names %q, want the moderator u-mod", by)
	}

	// Bans: only moderators give them; a banned user's writes are 403 until
	// the ban is lifted by an until in the past.
	r2 := mustPost(t, base, "/post_comment", map[string]any{"content": "carol's topic"}, 201, bearer(token(t, "u-carol", "Carol", ""))...)
	carol, ctopic := token(t, "u-carol", "Carol", ""), r2["topic_id"].(string)
	wantError(t, post(t, base, "/ban_user", map[string]any{"user_id": "u-carol"}, bearer(bob)...), 403, "moderator")
	wantError(t, post(t, base, "/ban_user", map[string]any{"user_id": "u-carol", "until": "soon"}, bearer(mod)...), 400, "until")
	mustPost(t, base, "/ban_user", map[string]any{"user_id": "u-carol", "reason": "spam"}, 200, bearer(mod)...)
	for name, r := range map[string]response{
		"post":   post(t, base, "/post_comment", map[string]any{"content": "x"}, bearer(carol)...),
		"reply":  post(t, base, "/post_comment", map[string]any{"topic_id": ctopic, "content": "x"}, bearer(carol)...),
		"edit":   post(t, base, "/edit_comment", map[string]any{"topic_id": ctopic, "parent_path": "0", "content": "x"}, bearer(carol)...),
		"delete": post(t, base, "/delete_comment", map[string]any{"topic_id": ctopic, "parent_path": "0"}, bearer(carol)...),
	} {
		if r.Status != 403 || !strings.Contains(string(r.Body), "banned") {
			t.Fatalf("banned user's %s: %d %s, want 403", name, r.Status, r.Body)
		}
	}
	until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	mustPost(t, base, "/ban_user", map[string]any{"user_id": "u-carol", "until": until}, 200, bearer(mod)...)
	wantError(t, post(t, base, "/post_comment", map[string]any{"content": "x"}, bearer(carol)...), 403, "until")
	mustPost(t, base, "/ban_user", map[string]any{"user_id": "u-carol", "until": "2000-01-01T00:00:00Z"}, 200, bearer(mod)...)
	mustPost(t, base, "/post_comment", map[string]any{"content": "back"}, 201, bearer(carol)...)
	// The moderator's delete of a banned user's comment still works.
	mustPost(t, base, "/delete_comment", map[string]any{"topic_id": ctopic, "parent_path": "0"}, 200, bearer(mod)...)
}

// TestBansList: GET /bans on a reader lists the bans in force, to
// moderators only.
func TestBansList(t *testing.T) {
	base, dbURL := jwtWriter(t)
	mod := token(t, "u-mod", "Mo", "moderator")
	mustPost(t, base, "/ban_user", map[string]any{"user_id": "u-a", "reason": "spam"}, 200, bearer(mod)...)
	mustPost(t, base, "/ban_user", map[string]any{"user_id": "u-b", "until": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, 200, bearer(mod)...)
	last := mustPost(t, base, "/ban_user", map[string]any{"user_id": "u-c", "until": "2000-01-01T00:00:00Z"}, 200, bearer(mod)...)
	rcfg := stacktest.ReaderConfig(t, dbURL, base)
	rcfg.Auth = auth.Config{Mode: auth.ModeJWT, JWTSecret: string(jwtSecret), JWKSRefresh: time.Minute}
	rd := stacktest.StartReader(t, rcfg)
	rd.WaitReady(t, int64(last["position"].(float64)))
	get := func(tok string) stacktest.Response {
		var h []string
		if tok != "" {
			h = bearer(tok)
		}
		return stacktest.Do(t, http.MethodGet, rd.Base+"/bans", nil, h...)
	}
	if r := get(""); r.Status != 401 {
		t.Fatalf("no token: %d", r.Status)
	}
	if r := get(token(t, "u-x", "X", "")); r.Status != 403 {
		t.Fatalf("not a moderator: %d", r.Status)
	}
	r := get(mod)
	var bans []struct {
		User   string  `json:"user_id"`
		Until  *string `json:"until"`
		Reason string  `json:"reason"`
		By     string  `json:"by"`
	}
	r.JSON(t, &bans)
	if r.Status != 200 || len(bans) != 2 || r.Header.Get("Cache-Control") != "private, no-store" {
		t.Fatalf("%d %s, want the two bans in force", r.Status, r.Body)
	}
	for _, b := range bans {
		if b.By != "u-mod" || (b.User == "u-a") != (b.Until == nil) || b.User == "u-c" {
			t.Fatalf("ban %+v", b)
		}
	}
}

// TestNoneModeBans: without tokens there are no moderators.
func TestNoneModeBans(t *testing.T) {
	base, _ := newWriter(t)
	wantError(t, post(t, base, "/ban_user", map[string]any{"user_id": "x"}), 403, "moderator")
}

// TestIdempotencyKeyPerSender: the same Idempotency-Key and body from two
// users are two requests, each replayed to its own sender only.
func TestIdempotencyKeyPerSender(t *testing.T) {
	base, _ := jwtWriter(t)
	alice, bob := token(t, "u-alice", "Alice", ""), token(t, "u-bob", "Bob", "")
	topic := mustPost(t, base, "/post_comment", map[string]any{"content": "root"}, 201, bearer(alice)...)["topic_id"].(string)
	body := `{"topic_id": "` + topic + `", "content": "same words"}`
	send := func(tok string) response {
		return post(t, base, "/post_comment", body, append(bearer(tok), "Idempotency-Key", "k-1")...)
	}
	a1, b1 := send(alice), send(bob)
	if a1.Status != 201 || b1.Status != 201 {
		t.Fatalf("alice %d %s, bob %d %s; want both 201", a1.Status, a1.Body, b1.Status, b1.Body)
	}
	if a1.json(t)["comment_id"] == b1.json(t)["comment_id"] {
		t.Fatalf("alice %s and bob %s got the same comment", a1.Body, b1.Body)
	}
	a2, b2 := send(alice), send(bob)
	if a2.Status != 201 || string(a2.Body) != string(a1.Body) || b2.Status != 201 || string(b2.Body) != string(b1.Body) {
		t.Fatalf("retries: alice %d %s (first %s), bob %d %s (first %s); want each user's own response again",
			a2.Status, a2.Body, a1.Body, b2.Status, b2.Body, b1.Body)
	}
}

// TestBanRefusedBeforeBody: /ban_user answers a non-moderator 403 before
// it reads the body: a malformed, incomplete or oversized body changes
// nothing, in either AUTH_MODE.
func TestBanRefusedBeforeBody(t *testing.T) {
	base, dbURL := jwtWriter(t)
	none, _ := newWriter(t)
	bob := token(t, "u-bob", "Bob", "")
	huge := `{"user_id": "u-x", "reason": "` + strings.Repeat("x", int(testConfig(t, dbURL).MaxBodyBytes())) + `"}`
	for name, body := range map[string]string{"incomplete": `{}`, "malformed": `not json`, "oversized": huge} {
		t.Run(name, func(t *testing.T) {
			wantError(t, post(t, base, "/ban_user", body, bearer(bob)...), 403, "moderator")
			wantError(t, post(t, none, "/ban_user", body), 403, "moderator")
		})
	}
	// A token is still checked first, and a moderator's body still is.
	wantError(t, post(t, base, "/ban_user", `{}`), 401, "")
	wantError(t, post(t, base, "/ban_user", `{}`, bearer(token(t, "u-mod", "Mo", "moderator"))...), 400, "user_id")
}
