package writer_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley/parley/internal/auth"
	"github.com/parley/parley/internal/pgtest"
	"github.com/parley/parley/internal/stacktest"
)

// voteState is what the store holds of the votes on one comment.
type voteState struct {
	Up, Down int32
	Votes    map[string]int16 // by user
}

func readVotes(t *testing.T, dbURL, topic string, id int) voteState {
	t.Helper()
	pool := pgtest.Pool(t, dbURL)
	var s voteState
	if err := pool.QueryRow(context.Background(), `SELECT up, down FROM comments WHERE topic_id = $1 AND comment_id = $2`, topic, id).Scan(&s.Up, &s.Down); err != nil {
		t.Fatal(err)
	}
	rows, _ := pool.Query(context.Background(), `SELECT user_id, value FROM votes WHERE topic_id = $1 AND comment_id = $2`, topic, id)
	s.Votes = map[string]int16{}
	var user string
	var v int16
	if _, err := pgx.ForEachRow(rows, []any{&user, &v}, func() error { s.Votes[user] = v; return nil }); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestVoteComment: one vote per user and comment, the last one counts, 0
// withdraws; the answer and the stored counts agree after every step.
func TestVoteComment(t *testing.T) {
	base, dbURL := newWriter(t)
	topic := newTopic(t, base)
	mustPost(t, base, "/post_comment", map[string]any{"topic_id": topic, "content": "a reply", "user": "bo"}, 201)
	vote := func(user string, value int) map[string]any {
		return mustPost(t, base, "/vote_comment", map[string]any{"topic_id": topic, "parent_path": "0/1", "value": value, "user": user}, 200)
	}
	for _, step := range []struct {
		user     string
		value    int
		up, down int32
	}{
		{"ann", 1, 1, 0},
		{"bo", 1, 2, 0},
		{"ann", 1, 2, 0}, // again: no change
		{"cy", -1, 2, 1},
		{"ann", -1, 1, 2}, // changed
		{"bo", 0, 0, 2},   // withdrawn
		{"bo", 0, 0, 2},   // withdrawn again
		{"dee", -1, 0, 3},
	} {
		got := vote(step.user, step.value)
		if got["up"] != float64(step.up) || got["down"] != float64(step.down) || got["position"].(float64) <= 0 {
			t.Fatalf("%s votes %d: %v, want up %d down %d", step.user, step.value, got, step.up, step.down)
		}
	}
	s := readVotes(t, dbURL, topic, 1)
	if s.Up != 0 || s.Down != 3 || fmt.Sprint(s.Votes) != "map[ann:-1 cy:-1 dee:-1]" {
		t.Fatalf("stored %+v", s)
	}
	if r := readVotes(t, dbURL, topic, 0); r.Up != 0 || r.Down != 0 || len(r.Votes) != 0 {
		t.Fatalf("the root got votes: %+v", r)
	}
}

// TestVoteErrors: bad votes are 4xx with a JSON error and change nothing.
func TestVoteErrors(t *testing.T) {
	base, dbURL := newWriter(t)
	topic := newTopic(t, base)
	mustPost(t, base, "/post_comment", map[string]any{"topic_id": topic, "content": "gone soon", "user": "bo"}, 201)
	mustPost(t, base, "/delete_comment", map[string]any{"topic_id": topic, "parent_path": "0/1"}, 200)
	for _, c := range []struct {
		name   string
		body   any
		status int
		says   string
	}{
		{"deleted comment", map[string]any{"topic_id": topic, "parent_path": "0/1", "value": 1, "user": "ann"}, 409, "deleted"},
		{"no such comment", map[string]any{"topic_id": topic, "parent_path": "0/7", "value": 1, "user": "ann"}, 404, "comment"},
		{"no such topic", map[string]any{"topic_id": "00000000-0000-4000-8000-000000000000", "parent_path": "0", "value": 1, "user": "ann"}, 404, "topic"},
		{"value 2", map[string]any{"topic_id": topic, "parent_path": "0", "value": 2, "user": "ann"}, 400, "value"},
		{"value 0.5", `{"topic_id":"` + topic + `","parent_path":"0","value":0.5,"user":"ann"}`, 400, "value"},
		{"value as text", map[string]any{"topic_id": topic, "parent_path": "0", "value": "1", "user": "ann"}, 400, "value"},
		{"no value", map[string]any{"topic_id": topic, "parent_path": "0", "user": "ann"}, 400, "value"},
		{"no user", map[string]any{"topic_id": topic, "parent_path": "0", "value": 1}, 400, "user"},
		{"empty user", map[string]any{"topic_id": topic, "parent_path": "0", "value": 1, "user": ""}, 400, "user"},
		{"no path", map[string]any{"topic_id": topic, "value": 1, "user": "ann"}, 400, "parent_path"},
		{"bad path", map[string]any{"topic_id": topic, "parent_path": "1/2", "value": 1, "user": "ann"}, 400, "parent_path"},
		{"unknown field", map[string]any{"topic_id": topic, "parent_path": "0", "value": 1, "user": "ann", "weight": 3}, 400, "weight"},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, post(t, base, "/vote_comment", c.body), c.status, c.says)
		})
	}
	var n int
	if err := pgtest.Pool(t, dbURL).QueryRow(context.Background(), `SELECT count(*) FROM votes`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d votes stored (%v)", n, err)
	}
}

// TestVoteIdempotencyKey: a retried vote is answered as the first time
// and counted once; the key with another vote is 409.
func TestVoteIdempotencyKey(t *testing.T) {
	base, dbURL := newWriter(t)
	topic := newTopic(t, base)
	body := map[string]any{"topic_id": topic, "parent_path": "0", "value": 1, "user": "ann"}
	first := post(t, base, "/vote_comment", body, "Idempotency-Key", "v1")
	mustPost(t, base, "/vote_comment", map[string]any{"topic_id": topic, "parent_path": "0", "value": 1, "user": "bo"}, 200)
	again := post(t, base, "/vote_comment", body, "Idempotency-Key", "v1")
	if first.Status != 200 || string(again.Body) != string(first.Body) {
		t.Fatalf("retry: %d %s, first %d %s", again.Status, again.Body, first.Status, first.Body)
	}
	body["value"] = -1
	wantError(t, post(t, base, "/vote_comment", body, "Idempotency-Key", "v1"), 409, "Idempotency-Key")
	if s := readVotes(t, dbURL, topic, 0); s.Up != 2 || s.Down != 0 {
		t.Fatalf("stored %+v", s)
	}
}

// TestConcurrentVotes: 64 users vote at once, on two writers, some
// changing their minds; the counts are exact.
func TestConcurrentVotes(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	cfg := testConfig(t, dbURL)
	w1, w2 := startWriter(t, cfg), startWriter(t, cfg)
	topic := newTopic(t, w1)
	const n = 64
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			base := []string{w1, w2}[i%2]
			user := fmt.Sprintf("user%d", i)
			values := []int{1}
			if i%4 == 0 {
				values = []int{1, -1} // ends down
			}
			if i%8 == 1 {
				values = []int{-1, 0} // ends withdrawn
			}
			for _, v := range values {
				r := post(t, base, "/vote_comment", map[string]any{"topic_id": topic, "parent_path": "0", "value": v, "user": user})
				if r.Status != 200 {
					t.Errorf("%d %s", r.Status, r.Body)
				}
			}
		}()
	}
	wg.Wait()
	s := readVotes(t, dbURL, topic, 0)
	// 16 end down (i%4 == 0), 8 withdrawn (i%8 == 1), 40 up.
	if s.Up != 40 || s.Down != 16 || len(s.Votes) != 56 {
		t.Fatalf("stored up %d down %d, %d votes", s.Up, s.Down, len(s.Votes))
	}
}

// TestVoteIdentity: with tokens the voter is the token's subject (two
// users with one display name vote apart); a vote without a token is 401,
// with another user's name 403; a banned user cannot vote.
func TestVoteIdentity(t *testing.T) {
	base, dbURL := jwtWriter(t)
	ann, ann2, mod := token(t, "u-ann", "ann", ""), token(t, "u-ann-2", "ann", ""), token(t, "u-mod", "mod", "moderator")
	topic := mustPost(t, base, "/post_comment", map[string]any{"content": "root"}, 201, bearer(ann)...)["topic_id"].(string)
	body := map[string]any{"topic_id": topic, "parent_path": "0", "value": 1}
	mustPost(t, base, "/vote_comment", body, 200, bearer(ann)...)
	mustPost(t, base, "/vote_comment", body, 200, bearer(ann2)...)
	wantError(t, post(t, base, "/vote_comment", body), 401, "token")
	// A vote shows no name: one too long to sign a comment still votes.
	long := token(t, "u-long", strings.Repeat("n", 100), "")
	mustPost(t, base, "/vote_comment", map[string]any{"topic_id": topic, "parent_path": "0", "value": -1}, 200, bearer(long)...)
	wantError(t, post(t, base, "/vote_comment", map[string]any{"topic_id": topic, "parent_path": "0", "value": 1, "user": "bo"}, bearer(ann)...), 403, "name")
	mustPost(t, base, "/ban_user", map[string]any{"user_id": "u-ann-2"}, 200, bearer(mod)...)
	wantError(t, post(t, base, "/vote_comment", map[string]any{"topic_id": topic, "parent_path": "0", "value": 0}, bearer(ann2)...), 403, "banned")
	if s := readVotes(t, dbURL, topic, 0); s.Up != 2 || s.Down != 1 || fmt.Sprint(s.Votes) != "map[u-ann:1 u-ann-2:1 u-long:-1]" {
		t.Fatalf("stored %+v", s)
	}
}

// TestUserVotesOwn: with tokens a user's votes are listed to that user
// alone, with their token, privately.
func TestUserVotesOwn(t *testing.T) {
	base, dbURL := jwtWriter(t)
	ann := token(t, "u-ann", "ann", "")
	topic := mustPost(t, base, "/post_comment", map[string]any{"content": "root"}, 201, bearer(ann)...)["topic_id"].(string)
	last := mustPost(t, base, "/vote_comment", map[string]any{"topic_id": topic, "parent_path": "0", "value": 1}, 200, bearer(ann)...)
	rcfg := stacktest.ReaderConfig(t, dbURL, base)
	rcfg.Auth = auth.Config{Mode: auth.ModeJWT, JWTSecret: string(jwtSecret), JWKSRefresh: time.Minute}
	rd := stacktest.StartReader(t, rcfg)
	rd.WaitReady(t, int64(last["position"].(float64)))
	for _, c := range []struct {
		query  string
		tok    string
		status int
	}{
		{"", "", 401},
		{"?user=u-ann", "", 401},
		{"?user=u-ann", token(t, "u-bo", "bo", "moderator"), 403},
		{"?user=u-ann", ann, 200},
		{"", ann, 200},
	} {
		var h []string
		if c.tok != "" {
			h = bearer(c.tok)
		}
		r := stacktest.Do(t, http.MethodGet, rd.Base+"/user_votes"+c.query, nil, h...)
		if r.Status != c.status {
			t.Fatalf("%s: %d %s, want %d", c.query, r.Status, r.Body, c.status)
		}
		if r.Status == 200 && (!strings.Contains(string(r.Body), `"vote":1`) || r.Header.Get("Cache-Control") != "private, no-store") {
			t.Fatalf("%s: %s %v", c.query, r.Body, r.Header)
		}
	}
}
