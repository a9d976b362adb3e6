package writer_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/pgtest"
)

// TestTopicKey: the first comment with a key starts the key's topic, whose
// id the key names; later ones reply in it, at the root or below; the key
// is stored with the topic and its root's event; bad keys change nothing.
func TestTopicKey(t *testing.T) {
	base, dbURL := newWriter(t)
	const key = "https://blog.example/2026/11/parley?p=1#x"
	first := mustPost(t, base, "/post_comment", map[string]any{"topic_key": key, "content": "first", "user": "ann"}, 201)
	want := comment.KeyTopicID(key).String()
	if first["topic_id"] != want || first["new_topic"] != true || first["parent_path"] != "0" {
		t.Fatalf("first keyed comment: %v, want a new topic %s at 0", first, want)
	}
	second := mustPost(t, base, "/post_comment", map[string]any{"topic_key": key, "content": "second", "user": "bob"}, 201)
	if second["topic_id"] != want || second["new_topic"] != false || second["parent_path"] != "0/1" {
		t.Fatalf("second keyed comment: %v, want a reply 0/1 in %s", second, want)
	}
	deep := mustPost(t, base, "/post_comment", map[string]any{"topic_key": key, "parent_path": "0/1", "content": "deep", "user": "cy"}, 201)
	if deep["parent_path"] != "0/1/2" {
		t.Fatalf("reply by key below the root: %v", deep)
	}
	byID := mustPost(t, base, "/post_comment", map[string]any{"topic_id": want, "content": "by id", "user": "di"}, 201)
	if byID["parent_path"] != "0/3" {
		t.Fatalf("reply by the key's topic id: %v", byID)
	}
	// Keys are exact: another case or a trailing slash is another thread.
	other := mustPost(t, base, "/post_comment", map[string]any{"topic_key": strings.ToUpper(key), "content": "x", "user": "ann"}, 201)
	if other["topic_id"] == want || other["new_topic"] != true {
		t.Fatalf("a key differing in case joined the thread: %v", other)
	}

	// The first comment deleted, the page still takes comments at its
	// root; a deleted reply still takes none.
	mustPost(t, base, "/delete_comment", map[string]any{"topic_id": want, "parent_path": "0"}, 200)
	reopened := mustPost(t, base, "/post_comment", map[string]any{"topic_key": key, "content": "after the first was deleted", "user": "eve"}, 201)
	if reopened["topic_id"] != want || reopened["parent_path"] != "0/4" {
		t.Fatalf("a keyed comment after the root's delete: %v", reopened)
	}
	if r := post(t, base, "/post_comment", map[string]any{"topic_id": want, "content": "by id", "user": "eve"}); r.Status != 409 {
		t.Fatalf("a reply by topic_id to the deleted root: %d %s, want 409 (only keyed posts pass)", r.Status, r.Body)
	}
	mustPost(t, base, "/delete_comment", map[string]any{"topic_id": want, "parent_path": "0/1"}, 200)
	if r := post(t, base, "/post_comment", map[string]any{"topic_key": key, "parent_path": "0/1", "content": "x", "user": "eve"}); r.Status != 409 {
		t.Fatalf("a keyed reply to a deleted reply: %d %s, want 409", r.Status, r.Body)
	}

	var stored string
	pool := pgtest.Pool(t, dbURL)
	if err := pool.QueryRow(context.Background(), `SELECT topic_key FROM topics WHERE topic_id = $1`, want).Scan(&stored); err != nil || stored != key {
		t.Fatalf("stored key %q, %v", stored, err)
	}
	var payload string
	if err := pool.QueryRow(context.Background(), `SELECT convert_from(payload, 'UTF8') FROM events WHERE position = 1`).Scan(&payload); err != nil ||
		!strings.Contains(payload, `"key":"https://blog.example/2026/11/parley?p=1#x"`) {
		t.Fatalf("the root's event %s does not carry the key (%v)", payload, err)
	}
	var events int
	_ = pool.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&events)

	for _, c := range []struct {
		name string
		body map[string]any
		want int
		msg  string
	}{
		{"empty key", map[string]any{"topic_key": "", "content": "c", "user": "u"}, 400, "topic_key"},
		{"long key", map[string]any{"topic_key": strings.Repeat("k", 513), "content": "c", "user": "u"}, 400, "topic_key"},
		{"control character", map[string]any{"topic_key": "a\nb", "content": "c", "user": "u"}, 400, "control"},
		{"both", map[string]any{"topic_id": want, "topic_key": key, "content": "c", "user": "u"}, 400, "not both"},
		{"reply below the root of a new key", map[string]any{"topic_key": "nobody-yet", "parent_path": "0/1", "content": "c", "user": "u"}, 404, "topic"},
		{"unknown parent", map[string]any{"topic_key": key, "parent_path": "0/99", "content": "c", "user": "u"}, 404, "parent"},
		{"key not a string", map[string]any{"topic_key": 7, "content": "c", "user": "u"}, 400, "topic_key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, post(t, base, "/post_comment", c.body), c.want, c.msg)
		})
	}
	if r := post(t, base, "/post_comment", map[string]any{"topic_key": strings.Repeat("k", 512), "content": "c", "user": "u"}); r.Status != 201 {
		t.Fatalf("a key of 512 bytes: %d %s", r.Status, r.Body)
	}
	var after int
	_ = pool.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&after)
	if after != events+1 {
		t.Fatalf("%d events after the refused keys and one accepted, want %d", after, events+1)
	}
}

// TestTopicKeyRace: 32 first comments on one new key, sent at once to two
// writers on one database, end in one topic: exactly one of them started
// it, and the ids are 0 to 31 without a gap. Each comes from a user of its
// own: one user's writes take one advisory lock (their bans) and would
// run one after the other, hiding the race between the writers' inserts.
func TestTopicKeyRace(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	cfg := testConfig(t, dbURL)
	writers := []string{startWriter(t, cfg), startWriter(t, cfg)}
	for round := range 10 {
		key := fmt.Sprintf("race-%d", round)
		const n = 32
		ids, topics := make([]int, n), make([]string, n)
		started := make([]bool, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				r := post(t, writers[i%2], "/post_comment", map[string]any{"topic_key": key, "content": fmt.Sprint("c", i), "user": fmt.Sprint("u", i)})
				if r.Status != 201 {
					t.Errorf("post %d: %d %s", i, r.Status, r.Body)
					return
				}
				m := r.json(t)
				ids[i], topics[i], started[i] = int(m["comment_id"].(float64)), m["topic_id"].(string), m["new_topic"].(bool)
			}()
		}
		close(start)
		wg.Wait()
		if t.Failed() {
			return
		}
		slices.Sort(ids)
		for i, id := range ids {
			if id != i {
				t.Fatalf("round %d: ids %v, want 0..%d", round, ids, n-1)
			}
		}
		if len(slices.Compact(topics)) != 1 {
			t.Fatalf("round %d: %d topics: %v", round, len(slices.Compact(topics)), topics)
		}
		if k := len(slices.DeleteFunc(started, func(b bool) bool { return !b })); k != 1 {
			t.Fatalf("round %d: %d comments say they started the topic", round, k)
		}
	}
	var topics int
	_ = pgtest.Pool(t, dbURL).QueryRow(context.Background(), `SELECT count(*) FROM topics`).Scan(&topics)
	if topics != 10 {
		t.Fatalf("%d topics after ten races, want 10", topics)
	}
}

// TestTopicKeyRaceManyKeys: many new keys at once, each posted once from
// each of two writers, 30 rounds: every post succeeds, and each key ends
// in one topic with two comments. Batches then hold several new keyed
// topics that the other writer creates at the same moment: a batch that
// loses such a race runs again, as often as it has keyed topics, without
// spending the attempts kept for deadlocks (with those alone, a few posts a
// run failed); and batches insert new topics in one order, so that they
// wait for each other rather than deadlock.
func TestTopicKeyRaceManyKeys(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	cfg := testConfig(t, dbURL)
	writers := []string{startWriter(t, cfg), startWriter(t, cfg)}
	const rounds, keys = 30, 30
	for round := range rounds {
		var wg sync.WaitGroup
		for w, base := range writers {
			for k := range keys {
				wg.Add(1)
				go func() {
					defer wg.Done()
					key := fmt.Sprintf("many-%d-%d", round, k)
					r := post(t, base, "/post_comment", map[string]any{"topic_key": key, "content": "c", "user": fmt.Sprint("u", w, "-", k)})
					if r.Status != 201 {
						t.Errorf("round %d, %s from writer %d: %d %s", round, key, w, r.Status, r.Body)
					}
				}()
			}
		}
		wg.Wait()
		if t.Failed() {
			return
		}
	}
	var topics, full int
	pool := pgtest.Pool(t, dbURL)
	_ = pool.QueryRow(context.Background(), `SELECT count(*), count(*) FILTER (WHERE next_comment_id = $1) FROM topics`, len(writers)).Scan(&topics, &full)
	if topics != rounds*keys || full != topics {
		t.Fatalf("%d topics, %d of them with %d comments; want %d, all", topics, full, len(writers), rounds*keys)
	}
}
