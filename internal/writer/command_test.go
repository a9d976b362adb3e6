package writer

import (
	"errors"
	"testing"
	"time"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
	"github.com/parley/parley/internal/store"
)

// These tests run decide on hand-made state: the batching rules are pure
// logic. The same rules against Postgres are in writer_test.go.

var at = time.Date(2026, 11, 23, 10, 0, 30, 0, time.UTC)

func existing(topic comment.TopicID, next int32, comments ...store.CommentRow) store.State {
	st := store.State{
		Keys:     map[string]store.KeyRecord{},
		Topics:   map[comment.TopicID]store.TopicRow{topic: {NextID: next, LastActivity: at.Add(-time.Hour)}},
		Comments: map[store.CommentRef]store.CommentRow{},
	}
	for _, c := range comments {
		c.Update = at.Add(-time.Duration(c.Path.ID()) * time.Minute)
		st.Comments[store.CommentRef{Topic: topic, ID: c.Path.ID()}] = c
	}
	return st
}

func TestDecideWithinOneBatch(t *testing.T) {
	topic := comment.NewTopicID()
	st := existing(topic, 2, store.CommentRow{Path: comment.Path{0}}, store.CommentRow{Path: comment.Path{0, 1}})
	cmds := []*Command{
		{Op: Post{Topic: &topic, Parent: comment.Path{0, 1}, User: "a", Content: "x"}},    // gets 2
		{Op: Post{Topic: &topic, Parent: comment.Path{0, 1, 2}, User: "b", Content: "y"}}, // replies to 2: gets 3
		{Op: Edit{Topic: topic, Path: comment.Path{0, 1, 2}, Content: "x2"}},              // edits the new comment
		{Op: Delete{Topic: topic, Path: comment.Path{0, 1}}},                              // deletes an old one
		{Op: Post{Topic: &topic, Parent: comment.Path{0, 1}, User: "c", Content: "z"}},    // 409 now
		{Op: Edit{Topic: topic, Path: comment.Path{0, 1}, Content: "w"}},                  // 409 too
		{Op: Post{Topic: &topic, Parent: comment.Path{0, 5}, User: "d", Content: "z"}},    // 404, id 5 unknown
		{Op: Post{Topic: &topic, Parent: comment.Path{0, 3}, User: "d", Content: "z"}},    // 404: 3 is at 0/1/2/3
	}
	ch := decide(cmds, st, at)

	wantErr := []*errs.Kind{nil, nil, nil, nil, errs.Conflict, errs.Conflict, errs.NotFound, errs.NotFound}
	for i, c := range cmds {
		if (wantErr[i] == nil) != (c.err == nil) || (wantErr[i] != nil && !errors.Is(c.err, wantErr[i])) {
			t.Errorf("command %d: error %v, want kind %v", i, c.err, wantErr[i])
		}
	}
	if r := cmds[1].result.(*PostResult); r.CommentID != 3 || r.ParentPath != "0/1/2/3" {
		t.Fatalf("second reply: %+v", r)
	}
	if len(ch.Events) != 4 {
		t.Fatalf("%d events, want one per accepted command (4)", len(ch.Events))
	}
	if len(ch.Topics) != 1 || ch.Topics[0].NextID != 4 || ch.Topics[0].New || !ch.Topics[0].LastActivity.Equal(at) {
		t.Fatalf("topic writes %+v", ch.Topics)
	}
	// One row write per comment, in its final state.
	byID := map[int32]store.CommentWrite{}
	for _, c := range ch.Comments {
		if _, dup := byID[c.Path.ID()]; dup {
			t.Fatalf("comment %v written twice", c.Path)
		}
		byID[c.Path.ID()] = c
	}
	if c := byID[2]; !c.New || c.Content != "x2" {
		t.Fatalf("comment 2: %+v", c)
	}
	if c := byID[1]; c.New || !c.Deleted || c.Content != "" || !c.Update.Equal(st.Comments[store.CommentRef{Topic: topic, ID: 1}].Update) {
		t.Fatalf("comment 1 (deleted, update time kept): %+v", c)
	}
	if len(ch.Activity) != 1 || ch.Activity[0].Comments != 2 || !ch.Activity[0].Bucket.Equal(at.Truncate(time.Minute)) {
		t.Fatalf("activity %+v", ch.Activity)
	}
}

func TestDecideNewTopicAndReplyInOneBatch(t *testing.T) {
	id := comment.NewTopicID()
	cmds := []*Command{
		{Op: Post{NewTopic: id, Parent: comment.RootPath, User: "a", Content: "root"}},
		{Op: Post{Topic: &id, Parent: comment.RootPath, User: "b", Content: "re"}},
	}
	ch := decide(cmds, store.State{}, at)
	if cmds[0].err != nil || cmds[1].err != nil {
		t.Fatal(cmds[0].err, cmds[1].err)
	}
	if len(ch.Topics) != 1 || !ch.Topics[0].New || ch.Topics[0].NextID != 2 {
		t.Fatalf("topics %+v", ch.Topics)
	}
	if len(ch.Comments) != 2 || !ch.Comments[1].Path.Equal(comment.Path{0, 1}) {
		t.Fatalf("comments %+v", ch.Comments)
	}
}

func TestDecideIdempotencyKeys(t *testing.T) {
	topic := comment.NewTopicID()
	st := existing(topic, 1, store.CommentRow{Path: comment.Path{0}})
	st.Keys["old"] = store.KeyRecord{Fingerprint: []byte("f1"), Status: 201, Result: []byte(`{}`), Position: 7}
	post := Post{Topic: &topic, Parent: comment.RootPath, User: "a", Content: "x"}
	cmds := []*Command{
		{Op: post, Key: "new", Fingerprint: []byte("f2")},
		{Op: post, Key: "new", Fingerprint: []byte("f2")}, // same request again in the batch
		{Op: post, Key: "new", Fingerprint: []byte("f3")}, // same key, other request
		{Op: post, Key: "old", Fingerprint: []byte("f1")}, // replay from storage
		{Op: post, Key: "old", Fingerprint: []byte("fx")},
	}
	ch := decide(cmds, st, at)
	if len(ch.Events) != 1 || len(ch.Keys) != 1 || ch.Keys[0].Event != 0 {
		t.Fatalf("%d events, keys %+v; want one of each", len(ch.Events), ch.Keys)
	}
	if cmds[1].err != nil || cmds[1].event != cmds[0].event || cmds[1].result != cmds[0].result {
		t.Fatalf("in-batch retry: %+v", cmds[1])
	}
	if !errors.Is(cmds[2].err, errs.Conflict) || !errors.Is(cmds[4].err, errs.Conflict) {
		t.Fatalf("reused keys: %v, %v", cmds[2].err, cmds[4].err)
	}
	if cmds[3].replay == nil || cmds[3].replay.Position != 7 {
		t.Fatalf("stored replay: %+v", cmds[3])
	}
	out, err := outcome(cmds[1], 41)
	if err != nil || out.Position != 41 || string(out.Body) == "" {
		t.Fatalf("outcome %+v %v", out, err)
	}
}

func TestDecideViewsAggregate(t *testing.T) {
	t1, t2 := comment.NewTopicID(), comment.NewTopicID()
	r := func(topic comment.TopicID, last int32, n int64) comment.ViewRange {
		return comment.ViewRange{Topic: topic, First: comment.RootPath, Last: comment.Path{0, last}, MaxID: last, Count: n}
	}
	cmds := []*Command{
		{Op: RecordViews{Ranges: []comment.ViewRange{r(t1, 3, 10), r(t2, 1, 1), r(t1, 3, 5)}}},
		{Op: RecordViews{Ranges: []comment.ViewRange{r(t1, 3, 1), r(t1, 4, 1)}}},
	}
	ch := decide(cmds, store.State{}, at)
	if len(ch.Events) != 2 {
		t.Fatalf("%d events, want one per reader batch", len(ch.Events))
	}
	if len(ch.Views) != 3 {
		t.Fatalf("views %+v", ch.Views)
	}
	for _, v := range ch.Views {
		if v.Topic == t1 && v.MaxID == 3 && v.Count != 16 {
			t.Fatalf("the repeated range counts %d, want 16", v.Count)
		}
	}
	total := map[comment.TopicID]int64{}
	for _, a := range ch.Activity {
		total[a.Topic] += a.Views
	}
	if total[t1] != 17 || total[t2] != 1 || len(ch.Activity) != 2 {
		t.Fatalf("activity %+v", ch.Activity)
	}
}

func TestBatcherLanes(t *testing.T) {
	b := NewBatcher(nil, nil, 4, 8)
	seen := map[int]bool{}
	for range 200 {
		topic := comment.NewTopicID()
		lane := b.lane(&Command{Op: Post{Topic: &topic}})
		for _, op := range []any{Edit{Topic: topic}, Delete{Topic: topic}, Post{NewTopic: topic}} {
			if l := b.lane(&Command{Op: op}); l != lane {
				t.Fatalf("%T on lane %d, its topic's posts on %d", op, l, lane)
			}
		}
		seen[lane] = true
	}
	if len(seen) != 4 {
		t.Fatalf("200 topics used lanes %v of 4", seen)
	}
}
