package writer_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley/parley/internal/pgtest"
	"github.com/parley/parley/internal/store"
)

func TestPostComment(t *testing.T) {
	base, dbURL := newWriter(t)
	pool := pgtest.Pool(t, dbURL)

	r := post(t, base, "/post_comment", map[string]any{"content": "first!", "user": "ann"})
	if r.Status != http.StatusCreated {
		t.Fatalf("new topic: %d %s", r.Status, r.Body)
	}
	root := r.json(t)
	topic := root["topic_id"].(string)
	if root["comment_id"] != 0.0 || root["parent_path"] != "0" || root["new_topic"] != true {
		t.Fatalf("new topic body %s", r.Body)
	}
	if got := r.Header.Get("X-Log-Position"); got != fmt.Sprint(root["position"]) {
		t.Fatalf("X-Log-Position %q, body position %v", got, root["position"])
	}
	if strings.ToLower(topic) != topic || len(topic) != 36 {
		t.Fatalf("topic_id %q is not a canonical UUID", topic)
	}

	reply := mustPost(t, base, "/post_comment", map[string]any{"topic_id": topic, "content": "a reply", "user": "bob"}, 201)
	if reply["comment_id"] != 1.0 || reply["parent_path"] != "0/1" || reply["new_topic"] != false || reply["topic_id"] != topic {
		t.Fatalf("reply body %v", reply)
	}
	nested := mustPost(t, base, "/post_comment", map[string]any{"topic_id": topic, "parent_path": "0/1", "content": "deeper", "user": "cy"}, 201)
	if nested["comment_id"] != 2.0 || nested["parent_path"] != "0/1/2" {
		t.Fatalf("nested body %v", nested)
	}
	// An upper-case topic id names the same topic.
	upper := mustPost(t, base, "/post_comment", map[string]any{"topic_id": strings.ToUpper(topic), "parent_path": "0/1/2", "content": "x", "user": "dee"}, 201)
	if upper["parent_path"] != "0/1/2/3" || upper["topic_id"] != topic {
		t.Fatalf("upper-case id body %v", upper)
	}
	if p1, p2 := reply["position"].(float64), nested["position"].(float64); p2 <= p1 {
		t.Fatalf("positions %v then %v", p1, p2)
	}

	var n, next int
	var last, created time.Time
	ctx := context.Background()
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM comments WHERE topic_id = $1`, topic).Scan(&n)
	_ = pool.QueryRow(ctx, `SELECT next_comment_id, last_activity FROM topics WHERE topic_id = $1`, topic).Scan(&next, &last)
	_ = pool.QueryRow(ctx, `SELECT create_time FROM comments WHERE topic_id = $1 AND comment_id = 3`, topic).Scan(&created)
	if n != 4 || next != 4 || !last.Equal(created) {
		t.Fatalf("state: %d comments, next id %d, last activity %v (newest comment %v)", n, next, last, created)
	}
	var path []int32
	_ = pool.QueryRow(ctx, `SELECT path FROM comments WHERE topic_id = $1 AND comment_id = 3`, topic).Scan(&path)
	if !slices.Equal(path, []int32{0, 1, 2, 3}) {
		t.Fatalf("stored path %v", path)
	}
}

func TestPostCommentErrors(t *testing.T) {
	base, _ := newWriter(t)
	topic := newTopic(t, base)
	missing := "6f1c0e0a-3d5e-4c1b-9a57-0b9d1c2e3f40"
	big := strings.Repeat("x", 65537)

	cases := []struct {
		name   string
		route  string
		body   any
		status int
		msg    string
	}{
		{"malformed JSON", "/post_comment", `{"content": "x", "user": `, 400, "malformed JSON"},
		{"not an object", "/post_comment", `["content"]`, 400, "malformed JSON"},
		{"wrong type", "/post_comment", `{"content": 5, "user": "ann"}`, 400, "content"},
		{"trailing data", "/post_comment", `{"content": "x", "user": "ann"} {}`, 400, "after the object"},
		{"unknown field", "/post_comment", `{"content": "x", "user": "ann", "title": "t"}`, 400, "title"},
		{"key in other case", "/post_comment", `{"CONTENT": "x", "User": "ann"}`, 400, "CONTENT"},
		{"duplicate key", "/post_comment", `{"content": "x", "user": "ann", "content": "y"}`, 400, "twice"},
		{"duplicate key in a reply", "/post_comment", `{"topic_id": "` + topic + `", "content": "x", "user": "ann", "topic_id": "` + missing + `"}`, 400, "twice"},
		{"invalid UTF-8", "/post_comment", []byte("{\"content\": \"\xff\xfe\", \"user\": \"ann\"}"), 400, "UTF-8"},
		{"lone surrogate", "/post_comment", `{"content": "\ud800", "user": "ann"}`, 400, "surrogate"},
		{"NUL in content", "/post_comment", `{"content": "a\u0000b", "user": "ann"}`, 400, "NUL"},
		{"missing content", "/post_comment", `{"user": "ann"}`, 400, "content"},
		{"empty content", "/post_comment", `{"content": "", "user": "ann"}`, 400, "content"},
		{"content over the limit", "/post_comment", map[string]any{"content": big, "user": "ann"}, 413, "limit"},
		{"body over the limit", "/post_comment", `{"content": "` + strings.Repeat(`\u0041`, 70000) + `", "user": "ann"}`, 413, "limit"},
		{"missing user", "/post_comment", `{"content": "x"}`, 400, "user"},
		{"empty user", "/post_comment", `{"content": "x", "user": ""}`, 400, "user"},
		{"user too long", "/post_comment", map[string]any{"content": "x", "user": strings.Repeat("é", 65)}, 400, "user"},
		{"control character in user", "/post_comment", map[string]any{"content": "x", "user": "a\tb"}, 400, "control"},
		{"parent_path without topic", "/post_comment", map[string]any{"content": "x", "user": "a", "parent_path": "0"}, 400, "topic_id"},
		{"bad topic id", "/post_comment", map[string]any{"topic_id": "nope", "content": "x", "user": "a"}, 400, "UUID"},
		{"braced topic id", "/post_comment", map[string]any{"topic_id": "{" + topic[:34] + "}", "content": "x", "user": "a"}, 400, "UUID"},
		{"bad path", "/post_comment", map[string]any{"topic_id": topic, "parent_path": "0//1", "content": "x", "user": "a"}, 400, "parent_path"},
		{"path not from root", "/post_comment", map[string]any{"topic_id": topic, "parent_path": "1", "content": "x", "user": "a"}, 400, "parent_path"},
		{"leading zero", "/post_comment", map[string]any{"topic_id": topic, "parent_path": "0/01", "content": "x", "user": "a"}, 400, "parent_path"},
		{"unknown topic", "/post_comment", map[string]any{"topic_id": missing, "content": "x", "user": "a"}, 404, "topic"},
		{"unknown parent", "/post_comment", map[string]any{"topic_id": topic, "parent_path": "0/7", "content": "x", "user": "a"}, 404, "parent"},
		{"edit without path", "/edit_comment", map[string]any{"topic_id": topic, "content": "x"}, 400, "parent_path"},
		{"edit without topic", "/edit_comment", map[string]any{"parent_path": "0", "content": "x"}, 400, "topic_id"},
		{"edit unknown topic", "/edit_comment", map[string]any{"topic_id": missing, "parent_path": "0", "content": "x"}, 404, "topic"},
		{"edit unknown comment", "/edit_comment", map[string]any{"topic_id": topic, "parent_path": "0/9", "content": "x"}, 404, "comment"},
		{"edit empty content", "/edit_comment", map[string]any{"topic_id": topic, "parent_path": "0", "content": ""}, 400, "content"},
		{"edit content over the limit", "/edit_comment", map[string]any{"topic_id": topic, "parent_path": "0", "content": big}, 413, "limit"},
		{"delete without path", "/delete_comment", map[string]any{"topic_id": topic}, 400, "parent_path"},
		{"delete unknown comment", "/delete_comment", map[string]any{"topic_id": topic, "parent_path": "0/3"}, 404, "comment"},
		{"delete unknown topic", "/delete_comment", map[string]any{"topic_id": missing, "parent_path": "0"}, 404, "topic"},
		{"unknown route", "/post_comments", map[string]any{}, 404, "not found"},
		{"empty body", "/delete_comment", ``, 400, "malformed JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, post(t, base, tc.route, tc.body), tc.status, tc.msg)
		})
	}

	t.Run("wrong method", func(t *testing.T) {
		res, err := http.Get(base + "/post_comment")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("GET /post_comment: %d", res.StatusCode)
		}
	})
	t.Run("bad Idempotency-Key", func(t *testing.T) {
		r := post(t, base, "/post_comment", map[string]any{"content": "x", "user": "a"}, "Idempotency-Key", "has space")
		wantError(t, r, 400, "Idempotency-Key")
	})

	// None of the failures above wrote anything: the topic still has only
	// its root, and the log only the root's event.
	reply := mustPost(t, base, "/post_comment", map[string]any{"topic_id": topic, "content": "x", "user": "a"}, 201)
	if reply["comment_id"] != 1.0 || reply["position"] != 2.0 {
		t.Fatalf("after the failures the next reply is %v, want comment 1 at position 2", reply)
	}
}

func TestReplyDepthLimit(t *testing.T) {
	base, _ := newWriter(t)
	topic := newTopic(t, base)
	path := "0"
	for range 100 {
		path = mustPost(t, base, "/post_comment", map[string]any{"topic_id": topic, "parent_path": path, "content": "x", "user": "a"}, 201)["parent_path"].(string)
	}
	wantError(t, post(t, base, "/post_comment", map[string]any{"topic_id": topic, "parent_path": path, "content": "x", "user": "a"}), 400, "levels")
}

func TestEditAndDelete(t *testing.T) {
	clk := newClock()
	base, dbURL := newWriter(t, clk.option())
	pool := pgtest.Pool(t, dbURL)
	ctx := context.Background()
	topic := newTopic(t, base)
	mustPost(t, base, "/post_comment", map[string]any{"topic_id": topic, "content": "v1", "user": "bob"}, 201)

	row := func() (content string, deleted bool, created, updated time.Time) {
		t.Helper()
		err := pool.QueryRow(ctx, `SELECT content, deleted, create_time, update_time FROM comments WHERE topic_id = $1 AND comment_id = 1`, topic).
			Scan(&content, &deleted, &created, &updated)
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	_, _, created, updated := row()
	if !created.Equal(updated) {
		t.Fatalf("a new comment's update_time %v differs from its create_time %v", updated, created)
	}

	if !created.Equal(clk.Now()) {
		t.Fatalf("the comment is dated %v, not by the writer's clock (%v)", created, clk.Now())
	}
	clk.Advance(time.Second) // the edit is a second later than the post
	r := post(t, base, "/edit_comment", map[string]any{"topic_id": topic, "parent_path": "0/1", "content": "v2"})
	if r.Status != 200 || r.Header.Get("X-Log-Position") != fmt.Sprint(r.json(t)["position"]) {
		t.Fatalf("edit: %d %s", r.Status, r.Body)
	}
	content, _, created2, edited := row()
	if content != "v2" || !created2.Equal(created) || !edited.After(created) || !edited.Equal(clk.Now()) {
		t.Fatalf("after edit: %q, created %v, updated %v", content, created2, edited)
	}
	var last time.Time
	_ = pool.QueryRow(ctx, `SELECT last_activity FROM topics WHERE topic_id = $1`, topic).Scan(&last)
	if !last.Equal(edited) {
		t.Fatalf("an edit is activity: last_activity %v, edit at %v", last, edited)
	}

	// A wrong path to an existing id is not that comment.
	wantError(t, post(t, base, "/edit_comment", map[string]any{"topic_id": topic, "parent_path": "0/2/1", "content": "x"}), 404, "comment")

	d1 := mustPost(t, base, "/delete_comment", map[string]any{"topic_id": topic, "parent_path": "0/1"}, 200)
	content, deleted, _, updated := row()
	if content != "" || !deleted || !updated.Equal(edited) {
		t.Fatalf("after delete: %q deleted=%v updated %v", content, deleted, updated)
	}
	d2 := mustPost(t, base, "/delete_comment", map[string]any{"topic_id": topic, "parent_path": "0/1"}, 200)
	if d2["position"].(float64) <= d1["position"].(float64) {
		t.Fatalf("second delete at %v, first at %v", d2["position"], d1["position"])
	}
	wantError(t, post(t, base, "/edit_comment", map[string]any{"topic_id": topic, "parent_path": "0/1", "content": "back"}), 409, "deleted")
	wantError(t, post(t, base, "/post_comment", map[string]any{"topic_id": topic, "parent_path": "0/1", "content": "re", "user": "c"}), 409, "deleted")

	// The root can be deleted too; the topic stays.
	mustPost(t, base, "/delete_comment", map[string]any{"topic_id": topic, "parent_path": "0"}, 200)
	wantError(t, post(t, base, "/post_comment", map[string]any{"topic_id": topic, "content": "re", "user": "c"}), 409, "deleted")
}

// TestConcurrentReplies: 64 replies to one topic at once all succeed with
// ids 1..64 and 64 consecutive positions.
func TestConcurrentReplies(t *testing.T) {
	base, dbURL := newWriter(t)
	topic := newTopic(t, base)
	const n = 64
	ids := make([]int, n)
	positions := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := post(t, base, "/post_comment", map[string]any{"topic_id": topic, "content": fmt.Sprint("reply ", i), "user": "u"})
			if r.Status != 201 {
				t.Errorf("reply %d: %d %s", i, r.Status, r.Body)
				return
			}
			m := r.json(t)
			ids[i], positions[i] = int(m["comment_id"].(float64)), int(m["position"].(float64))
		}()
	}
	wg.Wait()
	slices.Sort(ids)
	slices.Sort(positions)
	for i := range n {
		if ids[i] != i+1 || positions[i] != i+2 {
			t.Fatalf("ids %v\npositions %v", ids, positions)
		}
	}
	var next int
	_ = pgtest.Pool(t, dbURL).QueryRow(context.Background(), `SELECT next_comment_id FROM topics`).Scan(&next)
	if next != n+1 {
		t.Fatalf("next_comment_id %d", next)
	}
}

// TestFailedRequestsBurnNoID: failures and idempotent retries between
// replies leave the ids gap-free.
func TestFailedRequestsBurnNoID(t *testing.T) {
	base, _ := newWriter(t)
	topic := newTopic(t, base)
	reply := func(parent, key string) response {
		body := map[string]any{"topic_id": topic, "parent_path": parent, "content": "c", "user": "u"}
		if key == "" {
			return post(t, base, "/post_comment", body)
		}
		return post(t, base, "/post_comment", body, "Idempotency-Key", key)
	}
	if r := reply("0", "k1"); r.json(t)["comment_id"] != 1.0 {
		t.Fatalf("first reply %s", r.Body)
	}
	mustPost(t, base, "/delete_comment", map[string]any{"topic_id": topic, "parent_path": "0/1"}, 200)
	wantError(t, reply("0/1", ""), 409, "deleted")
	wantError(t, reply("0/5", ""), 404, "parent")
	if r := reply("0", "k1"); r.json(t)["comment_id"] != 1.0 {
		t.Fatalf("retry %s", r.Body)
	}
	if r := reply("0", ""); r.json(t)["comment_id"] != 2.0 {
		t.Fatalf("next reply %s, want id 2", r.Body)
	}
}

func TestIdempotencyKey(t *testing.T) {
	base, dbURL := newWriter(t)
	pool := pgtest.Pool(t, dbURL)
	ctx := context.Background()
	count := func(table string) int {
		var n int
		_ = pool.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n)
		return n
	}

	body := `{"content": "once", "user": "ann"}`
	first := post(t, base, "/post_comment", body, "Idempotency-Key", "abc-1")
	again := post(t, base, "/post_comment", body, "Idempotency-Key", "abc-1")
	if first.Status != 201 || again.Status != 201 || string(first.Body) != string(again.Body) ||
		first.Header.Get("X-Log-Position") != again.Header.Get("X-Log-Position") {
		t.Fatalf("retry answered %d %s, first %d %s", again.Status, again.Body, first.Status, first.Body)
	}
	if count("topics") != 1 || count("events") != 1 {
		t.Fatalf("a retry wrote: %d topics, %d events", count("topics"), count("events"))
	}
	wantError(t, post(t, base, "/post_comment", `{"content": "twice", "user": "ann"}`, "Idempotency-Key", "abc-1"), 409, "Idempotency-Key")
	// A key is for one request: another route is another request.
	topic := first.json(t)["topic_id"].(string)
	del := fmt.Sprintf(`{"topic_id": %q, "parent_path": "0"}`, topic)
	wantError(t, post(t, base, "/delete_comment", del, "Idempotency-Key", "abc-1"), 409, "Idempotency-Key")

	// Edits and deletes replay too.
	d1 := post(t, base, "/delete_comment", del, "Idempotency-Key", "del-1")
	d2 := post(t, base, "/delete_comment", del, "Idempotency-Key", "del-1")
	if d1.Status != 200 || string(d1.Body) != string(d2.Body) || count("events") != 2 {
		t.Fatalf("delete replay: %s then %s, %d events", d1.Body, d2.Body, count("events"))
	}

	// A failed request stores nothing under its key: once the cause is
	// gone, the same key works.
	missing := `{"topic_id": "6f1c0e0a-3d5e-4c1b-9a57-0b9d1c2e3f40", "content": "x", "user": "a"}`
	wantError(t, post(t, base, "/post_comment", missing, "Idempotency-Key", "fail-1"), 404, "topic")
	if count("idempotency_keys") != 2 {
		t.Fatalf("%d keys stored", count("idempotency_keys"))
	}

	// Many concurrent requests with one key: one comment, one answer.
	const n = 16
	t2 := newTopic(t, base)
	reply := fmt.Sprintf(`{"topic_id": %q, "content": "r", "user": "u"}`, t2)
	bodies := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := post(t, base, "/post_comment", reply, "Idempotency-Key", "same")
			if r.Status != 201 {
				t.Errorf("concurrent retry %d: %d %s", i, r.Status, r.Body)
			}
			bodies[i] = string(r.Body)
		}()
	}
	wg.Wait()
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Fatalf("concurrent retries answered differently: %s vs %s", b, bodies[0])
		}
	}
	var replies int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM comments WHERE topic_id = $1`, t2).Scan(&replies)
	if replies != 2 {
		t.Fatalf("%d comments in the topic, want root and one reply", replies)
	}
}

// TestTwoWriters: two writer processes on one database keep every
// guarantee: gap-free ids per topic, gap-free positions, shared keys.
func TestTwoWriters(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	cfg := testConfig(t, dbURL)
	w1, w2 := startWriter(t, cfg), startWriter(t, cfg)
	topic := newTopic(t, w1)

	const n = 60
	ids := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			base := w1
			if i%2 == 1 {
				base = w2
			}
			r := post(t, base, "/post_comment", map[string]any{"topic_id": topic, "content": "c", "user": "u"})
			if r.Status != 201 {
				t.Errorf("%d %s", r.Status, r.Body)
				return
			}
			ids[i] = int(r.json(t)["comment_id"].(float64))
		}()
	}
	wg.Wait()
	slices.Sort(ids)
	for i, id := range ids {
		if id != i+1 {
			t.Fatalf("ids across two writers: %v", ids)
		}
	}

	a := post(t, w1, "/post_comment", `{"content": "k", "user": "u"}`, "Idempotency-Key", "shared")
	b := post(t, w2, "/post_comment", `{"content": "k", "user": "u"}`, "Idempotency-Key", "shared")
	if string(a.Body) != string(b.Body) {
		t.Fatalf("a key given to both writers: %s vs %s", a.Body, b.Body)
	}

	rows, _ := pgtest.Pool(t, dbURL).Query(context.Background(), `SELECT position FROM events ORDER BY position`)
	ps, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range ps {
		if p != int64(i+1) {
			t.Fatalf("positions are not 1..%d: %v", len(ps), ps)
		}
	}
	if len(ps) != n+2 {
		t.Fatalf("%d events, want %d", len(ps), n+2)
	}
}

// TestNotifyAfterCommit: readers can LISTEN and are woken after each write.
func TestNotifyAfterCommit(t *testing.T) {
	base, dbURL := newWriter(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+store.NotifyChannel); err != nil {
		t.Fatal(err)
	}
	pos := mustPost(t, base, "/post_comment", map[string]any{"content": "x", "user": "u"}, 201)["position"].(float64)
	n, err := conn.WaitForNotification(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n.Channel != store.NotifyChannel {
		t.Fatalf("notification on %q", n.Channel)
	}
	// When it arrives the event is committed and visible.
	var seen int64
	if err := conn.QueryRow(ctx, `SELECT max(position) FROM events`).Scan(&seen); err != nil || seen != int64(pos) {
		t.Fatalf("after the notification the log ends at %d (%v), want %v", seen, err, pos)
	}
}

// TestSlowBodyTimesOut: a client that sends its headers and then trickles
// (or stops sending) its body gets 408 once BODY_TIMEOUT has passed, and
// the writer closes the connection instead of holding it until it stops.
func TestSlowBodyTimesOut(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	cfg := testConfig(t, dbURL)
	cfg.BodyTimeout = 300 * time.Millisecond
	base := startWriter(t, cfg)
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A deadline far above BODY_TIMEOUT: the test fails, not hangs, if the
	// writer waits for the rest of the body.
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = fmt.Fprintf(conn, "POST /post_comment HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"content\": ")
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response to a body that never came: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(body), `"error"`) {
		t.Fatalf("status %d %s, want 408 with a JSON error", res.StatusCode, body)
	}
	// Nothing was written: the next post is the first topic's root.
	if r := mustPost(t, base, "/post_comment", map[string]any{"content": "x", "user": "a"}, 201); r["position"] != 1.0 {
		t.Fatalf("after the timed-out request, the first write is at %v", r["position"])
	}
}
