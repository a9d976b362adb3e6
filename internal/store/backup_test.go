package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/parley/parley/internal/pgtest"
	"github.com/parley/parley/internal/stacktest"
	"github.com/parley/parley/internal/store"
)

// withoutHeader drops a backup's first line, which says when it was made.
func withoutHeader(t *testing.T, b []byte) []byte {
	t.Helper()
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		t.Fatalf("a backup without a header line: %q", b)
	}
	return b[i+1:]
}

// TestBackupRoundTrip: a store written through the writer (keyed and plain
// topics, replies, an edit, a delete, votes, view ranges, activity) plus a
// ban, exported, imported into an empty database and exported again, gives
// the same records; so does exporting twice. The log head travels.
func TestBackupRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := pgtest.NewDatabase(t)
	w := stacktest.StartWriter(t, stacktest.WriterConfig(t, src))
	keyed := stacktest.Post(t, w, "/post_comment", map[string]any{"topic_key": "page/1", "content": "keyed <b>&</b>", "user": "ann"}, 201)
	topic := keyed["topic_id"].(string)
	r1 := stacktest.PostComment(t, w, topic, "0", "bob", "reply\nwith \"quotes\" and ünïcode")
	stacktest.PostComment(t, w, topic, r1.Path, "cy", "deeper")
	plain := stacktest.PostComment(t, w, "", "", "di", "a plain topic")
	stacktest.Post(t, w, "/edit_comment", map[string]any{"topic_id": topic, "parent_path": r1.Path, "content": "edited"}, 200)
	stacktest.Post(t, w, "/delete_comment", map[string]any{"topic_id": plain.Topic, "parent_path": "0"}, 200)
	for _, v := range []struct {
		user  string
		value int
	}{{"ann", 1}, {"bob", -1}, {"cy", 1}} {
		stacktest.Post(t, w, "/vote_comment", map[string]any{"topic_id": topic, "parent_path": r1.Path, "value": v.value, "user": v.user}, 200)
	}
	views := fmt.Sprintf(`{"ranges":[{"topic_id":%q,"first":"0","last":%q,"max_id":2,"count":7}]}`, topic, r1.Path)
	if r := stacktest.Do(t, "POST", w+"/internal/views", views, "Authorization", "Bearer "+stacktest.InternalToken); r.Status != 200 {
		t.Fatalf("views: %d %s", r.Status, r.Body)
	}
	srcPool := pgtest.Pool(t, src)
	// Views folded into a comment's own count travel too.
	if _, _, err := store.NewAppender(srcPool, pgtest.StoreConfig(src)).CompactViews(ctx, 1, 0, 10); err != nil {
		t.Fatal(err)
	}
	if r := stacktest.Do(t, "POST", w+"/internal/views", views, "Authorization", "Bearer "+stacktest.InternalToken); r.Status != 200 {
		t.Fatalf("views after the fold: %d %s", r.Status, r.Body)
	}
	var folded int64
	if err := srcPool.QueryRow(ctx, `SELECT sum(views) FROM comments`).Scan(&folded); err != nil || folded == 0 {
		t.Fatalf("nothing folded before the export: %d, %v", folded, err)
	}
	if _, err := srcPool.Exec(ctx, `INSERT INTO bans (user_id, until, reason, banned_by, at) VALUES
		('troll', NULL, 'for good', 'mod', now()), ('brief', now() + interval '1 day', '', 'mod', now())`); err != nil {
		t.Fatal(err)
	}

	var first, again bytes.Buffer
	counts, err := store.Export(ctx, srcPool, &first)
	if err != nil {
		t.Fatal(err)
	}
	want := store.BackupCounts{"topic": 2, "comment": 4, "vote": 3, "views": 1, "activity": 2, "ban": 2}
	for k, n := range want {
		if counts[k] != n && !(k == "activity" && counts[k] >= 1) {
			t.Errorf("%s records: %d, want %d (%v)", k, counts[k], n, counts)
		}
	}
	if _, err := store.Export(ctx, srcPool, &again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(withoutHeader(t, first.Bytes()), withoutHeader(t, again.Bytes())) {
		t.Fatal("two exports of one state differ")
	}

	dst := pgtest.NewDatabase(t)
	dstPool := pgtest.Pool(t, dst)
	if _, err := store.Import(ctx, dstPool, bytes.NewReader(first.Bytes())); err != nil {
		t.Fatal(err)
	}
	var restored bytes.Buffer
	if _, err := store.Export(ctx, dstPool, &restored); err != nil {
		t.Fatal(err)
	}
	if a, b := withoutHeader(t, first.Bytes()), withoutHeader(t, restored.Bytes()); !bytes.Equal(a, b) {
		t.Fatalf("the restored store exports differently:\n%s\nwant\n%s", b, a)
	}
	var srcHead, dstHead int64
	_ = srcPool.QueryRow(ctx, `SELECT position FROM log_head`).Scan(&srcHead)
	_ = dstPool.QueryRow(ctx, `SELECT position FROM log_head`).Scan(&dstHead)
	if srcHead == 0 || dstHead != srcHead {
		t.Fatalf("log head %d after the import, %d before", dstHead, srcHead)
	}
	// The restored store takes writes, at the next positions.
	wd := stacktest.StartWriter(t, stacktest.WriterConfig(t, dst))
	if c := stacktest.PostComment(t, wd, topic, r1.Path, "eve", "after the restore"); c.Position != srcHead+1 || c.Path != r1.Path+"/3" {
		t.Fatalf("a reply after the restore: position %d (want %d), path %s", c.Position, srcHead+1, c.Path)
	}
	if r := stacktest.Do(t, "POST", wd+"/post_comment", map[string]any{"topic_key": "page/1", "content": "x", "user": "troll"}); r.Status != 403 {
		t.Fatalf("the restored ban: a banned user's post is %d %s", r.Status, r.Body)
	}
}

// TestImportRefuses: an import into a store in use, or of a file that is
// not a backup of this version, fails and writes nothing.
func TestImportRefuses(t *testing.T) {
	ctx := context.Background()
	used := pgtest.NewDatabase(t)
	w := stacktest.StartWriter(t, stacktest.WriterConfig(t, used))
	stacktest.PostComment(t, w, "", "", "ann", "hello")
	var backup bytes.Buffer
	if _, err := store.Export(ctx, pgtest.Pool(t, used), &backup); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Import(ctx, pgtest.Pool(t, used), bytes.NewReader(backup.Bytes())); !errors.Is(err, store.ErrNotEmpty) {
		t.Fatalf("import into a store in use: %v", err)
	}

	header := strings.SplitN(backup.String(), "\n", 2)[0]
	topicLine := strings.SplitN(backup.String(), "\n", 3)[1]
	empty := pgtest.NewDatabase(t)
	pool := pgtest.Pool(t, empty)
	for _, c := range []struct{ name, body, msg string }{
		{"empty", "", "empty"},
		{"not a backup", `{"hello":1}` + "\n", "header"},
		{"not JSON", "PGDMP\n", "header"},
		{"another version", strings.Replace(header, `"version":1`, `"version":9`, 1) + "\n", "version 9"},
		{"unknown record", header + "\n" + topicLine + "\n" + `{"type":"wat"}` + "\n", `line 3: unknown record type "wat"`},
		{"bad record", header + "\n" + topicLine + "\n" + `{"type":"comment","comment_id":"x"}` + "\n", "line 3"},
		{"cut short", strings.Join(strings.Split(backup.String(), "\n")[:3], "\n") + "\n", "cut short"},
		{"counts that disagree", header + "\n" + topicLine + "\n" + `{"type":"end","counts":{"topic":2}}` + "\n", "end record counts 2 topic"},
		{"records after the end", header + "\n" + topicLine + "\n" + `{"type":"end","counts":{"topic":1}}` + "\n" + topicLine + "\n", "after the end"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := store.Import(ctx, pool, strings.NewReader(c.body))
			if err == nil || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("import of %.40q: %v, want an error mentioning %q", c.body, err, c.msg)
			}
			var topics int
			_ = pool.QueryRow(ctx, `SELECT count(*) FROM topics`).Scan(&topics)
			if topics != 0 {
				t.Fatalf("a failed import left %d topics", topics)
			}
		})
	}
}
