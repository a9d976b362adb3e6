package e2e

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley/parley/internal/auth"
	"github.com/parley/parley/internal/auth/authtest"
)

// TestJWTThroughNginx: in AUTH_MODE=jwt, through nginx to real writer and
// reader processes: a write without a token is 401 with the challenge, one
// with a token is by its subject, a moderator bans a user, whose next write
// is 403, and lists the ban from a reader; others may not.
func TestJWTThroughNginx(t *testing.T) {
	const secret = "the-host-site-and-parley-share-this-secret"
	s := newStack(t, stackOpts{readers: 1, env: []string{"AUTH_MODE=jwt", "AUTH_JWT_SECRET=" + secret}})
	tok := func(sub, role string) []string {
		c := authtest.NewClaims(sub, time.Now(), time.Hour)
		c["name"] = strings.ToUpper(sub)
		if role != "" {
			c["roles"] = []string{"reader", role}
		}
		tok, err := authtest.SignHS256([]byte(secret), c)
		if err != nil {
			t.Fatal(err)
		}
		return []string{"Authorization", "Bearer " + tok}
	}
	r := s.api.Do(t, http.MethodPost, s.nginx+"/post_comment", map[string]any{"content": "hi", "user": "anyone"})
	if r.Status != 401 || r.Header.Get("WWW-Authenticate") != auth.Challenge {
		t.Fatalf("no token: %d %s %q", r.Status, r.Body, r.Header.Get("WWW-Authenticate"))
	}
	r = s.api.Do(t, http.MethodPost, s.nginx+"/post_comment", map[string]any{"content": "hi"}, tok("ann", "")...)
	if r.Status != 201 {
		t.Fatalf("with a token: %d %s", r.Status, r.Body)
	}
	var post struct {
		Topic    string `json:"topic_id"`
		Position int64  `json:"position"`
	}
	r.JSON(t, &post)
	items := s.api.Get(t, s.nginx+"/last_user_comments?user=ANN&min_position="+strconv.FormatInt(post.Position, 10))
	if items.Status != 200 || !strings.Contains(string(items.Body), `"user":"ANN"`) {
		t.Fatalf("the comment is the token's user's: %d %s", items.Status, items.Body)
	}
	r = s.api.Do(t, http.MethodPost, s.nginx+"/ban_user", map[string]any{"user_id": "ann", "reason": "test"}, tok("mo", "moderator")...)
	if r.Status != 200 {
		t.Fatalf("ban: %d %s", r.Status, r.Body)
	}
	var ban struct{ Position int64 }
	r.JSON(t, &ban)
	if r := s.api.Do(t, http.MethodPost, s.nginx+"/post_comment", map[string]any{"content": "again"}, tok("ann", "")...); r.Status != 403 {
		t.Fatalf("a banned user's write: %d %s", r.Status, r.Body)
	}
	bans := s.api.Do(t, http.MethodGet, s.nginx+"/bans?min_position="+strconv.FormatInt(ban.Position, 10), nil, tok("mo", "moderator")...)
	if bans.Status != 200 || !strings.Contains(string(bans.Body), `"user_id":"ann"`) {
		t.Fatalf("GET /bans as a moderator: %d %s", bans.Status, bans.Body)
	}
	if r := s.api.Do(t, http.MethodGet, s.nginx+"/bans", nil, tok("ann", "")...); r.Status != 403 {
		t.Fatalf("GET /bans as a user: %d", r.Status)
	}
}
