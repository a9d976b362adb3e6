package writer

import (
	"errors"
	"fmt"
	"strings"
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

// requests wraps commands without keys.
func requests(cmds ...Command) []*Request {
	out := make([]*Request, len(cmds))
	for i, c := range cmds {
		out[i] = &Request{Cmd: c}
	}
	return out
}

func TestDecideWithinOneBatch(t *testing.T) {
	topic := comment.NewTopicID()
	st := existing(topic, 2, store.CommentRow{Path: comment.Path{0}}, store.CommentRow{Path: comment.Path{0, 1}})
	cmds := requests(
		Post{TopicID: &topic, Parent: AtPath(comment.Path{0, 1}), User: "a", Content: "x"},    // gets 2
		Post{TopicID: &topic, Parent: AtPath(comment.Path{0, 1, 2}), User: "b", Content: "y"}, // replies to 2: gets 3
		Edit{TopicID: topic, Comment: AtPath(comment.Path{0, 1, 2}), Content: "x2"},           // edits the new comment, 1 ms later
		Delete{TopicID: topic, Comment: AtPath(comment.Path{0, 1})},                           // deletes an old one
		Post{TopicID: &topic, Parent: AtPath(comment.Path{0, 1}), User: "c", Content: "z"},    // 409 now
		Edit{TopicID: topic, Comment: AtPath(comment.Path{0, 1}), Content: "w"},               // 409 too
		Post{TopicID: &topic, Parent: AtPath(comment.Path{0, 5}), User: "d", Content: "z"},    // 404, id 5 unknown
		Post{TopicID: &topic, Parent: AtPath(comment.Path{0, 3}), User: "d", Content: "z"},    // 404: 3 is at 0/1/2/3
	)
	ch, out := decide(cmds, st, at)

	wantErr := []*errs.Kind{nil, nil, nil, nil, errs.Conflict, errs.Conflict, errs.NotFound, errs.NotFound}
	for i, d := range out {
		if (wantErr[i] == nil) != (d.err == nil) || (wantErr[i] != nil && !errors.Is(d.err, wantErr[i])) {
			t.Errorf("command %d: error %v, want kind %v", i, d.err, wantErr[i])
		}
	}
	if r := out[1].result.(*PostResult); r.CommentID != 3 || r.ParentPath != "0/1/2/3" {
		t.Fatalf("second reply: %+v", r)
	}
	if len(ch.Events) != 4 {
		t.Fatalf("%d events, want one per accepted command (4)", len(ch.Events))
	}
	// The edit of a comment posted in the same millisecond is a new
	// version: dated one millisecond later, in the row and the event.
	later := at.Add(time.Millisecond)
	if len(ch.Topics) != 1 || ch.Topics[0].NextID != 4 || ch.Topics[0].New || !ch.Topics[0].LastActivity.Equal(later) {
		t.Fatalf("topic writes %+v", ch.Topics)
	}
	if e := ch.Events[2]; e.Kind != comment.EventEdited || !e.At.Equal(later) || !e.Edited.Was.Equal(at) {
		t.Fatalf("edit event %+v", e)
	}
	if r := out[2].result.(*EditResult); r.UpdateTime != string(comment.AppendTime(nil, later)) {
		t.Fatalf("edit result %+v", r)
	}
	// One row write per comment, in its final state.
	byID := map[int32]store.CommentWrite{}
	for _, c := range ch.Comments {
		if _, dup := byID[c.Path.ID()]; dup {
			t.Fatalf("comment %v written twice", c.Path)
		}
		byID[c.Path.ID()] = c
	}
	if c := byID[2]; !c.New || c.Content != "x2" || !c.Update.Equal(later) || !c.Create.Equal(at) {
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
	cmds := requests(
		Post{NewTopic: id, Parent: AtPath(comment.RootPath), User: "a", Content: "root"},
		Post{TopicID: &id, Parent: AtPath(comment.RootPath), User: "b", Content: "re"},
	)
	ch, out := decide(cmds, store.State{}, at)
	if out[0].err != nil || out[1].err != nil {
		t.Fatal(out[0].err, out[1].err)
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
	st.Keys["old"] = store.KeyRecord{Fingerprint: []byte("f1"), Result: []byte(`{"comment_id":3,"parent_path":"0/3","topic_id":"` + topic.String() + `","new_topic":false}`), Position: 7}
	post := Post{TopicID: &topic, Parent: AtPath(comment.RootPath), User: "a", Content: "x"}
	cmds := []*Request{
		{Cmd: post, Key: "new", Fingerprint: []byte("f2")},
		{Cmd: post, Key: "new", Fingerprint: []byte("f2")}, // same request again in the batch
		{Cmd: post, Key: "new", Fingerprint: []byte("f3")}, // same key, other request
		{Cmd: post, Key: "old", Fingerprint: []byte("f1")}, // replay from storage
		{Cmd: post, Key: "old", Fingerprint: []byte("fx")},
	}
	ch, out := decide(cmds, st, at)
	if len(ch.Events) != 1 || len(ch.Keys) != 1 || ch.Keys[0].Event != 0 {
		t.Fatalf("%d events, keys %+v; want one of each", len(ch.Events), ch.Keys)
	}
	if out[1].err != nil || out[1].event != out[0].event || out[1].result != out[0].result {
		t.Fatalf("in-batch retry: %+v", out[1])
	}
	if !errors.Is(out[2].err, errs.Conflict) || !errors.Is(out[4].err, errs.Conflict) {
		t.Fatalf("reused keys: %v, %v", out[2].err, out[4].err)
	}
	if out[3].replay == nil || out[3].replay.Position != 7 {
		t.Fatalf("stored replay: %+v", out[3])
	}
	res, err := outcome(post, out[1], 41)
	if err != nil || res.Position != 41 || !strings.Contains(string(res.Body), `"position":41`) {
		t.Fatalf("outcome %+v %v", res, err)
	}
	res, err = outcome(post, out[3], 41)
	if want := `{"comment_id":3,"parent_path":"0/3","topic_id":"` + topic.String() + `","new_topic":false,"position":7}`; err != nil || res.Position != 7 || string(res.Body) != want {
		t.Fatalf("replayed outcome %s %v, want %s", res.Body, err, want)
	}
}

func TestDecideViewsAggregate(t *testing.T) {
	t1, t2 := comment.NewTopicID(), comment.NewTopicID()
	r := func(topic comment.TopicID, last int32, n int64) comment.ViewRange {
		return comment.ViewRange{Topic: topic, First: comment.RootPath, Last: comment.Path{0, last}, MaxID: last, Count: n}
	}
	cmds := requests(
		RecordViews{Ranges: []comment.ViewRange{r(t1, 3, 10), r(t2, 1, 1), r(t1, 3, 5)}},
		RecordViews{Ranges: []comment.ViewRange{r(t1, 3, 1), r(t1, 4, 1)}},
		RecordViews{Ranges: []comment.ViewRange{r(t1, 1, 1), r(t2, 2, 1)}}, // t2 has no comment 2 yet: refused whole
	)
	st := existing(t1, 5)
	st.Topics[t2] = store.TopicRow{NextID: 2}
	ch, out := decide(cmds, st, at)
	if !errors.Is(out[2].err, errs.Invalid) {
		t.Fatalf("a batch past a topic's newest id: %v, want invalid", out[2].err)
	}
	if len(ch.Topics) != 0 {
		t.Fatalf("view batches wrote topics: %+v", ch.Topics)
	}
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

// TestDecideVotesInOneBatch: votes in one batch see each other: one row
// per vote and one count per comment, in their final state; a vote on a
// comment posted or deleted earlier in the batch is counted or refused;
// the events carry the counts after each vote.
func TestDecideVotesInOneBatch(t *testing.T) {
	topic := comment.NewTopicID()
	st := existing(topic, 2, store.CommentRow{Path: comment.Path{0}, Up: 5, Down: 2}, store.CommentRow{Path: comment.Path{0, 1}})
	st.Votes = map[store.VoteRef]store.VoteState{{Topic: topic, ID: 0, User: "ann"}: {Value: -1, At: at.Add(-time.Hour)}}
	ann, bo := Actor{ID: "ann", Name: "ann"}, Actor{ID: "bo", Name: "bo"}
	root, one, two := comment.Path{0}, comment.Path{0, 1}, comment.Path{0, 2}
	cmds := requests(
		Vote{TopicID: topic, Comment: AtPath(root), Value: 1, By: ann},                  // -1 → 1: 6/1
		Vote{TopicID: topic, Comment: AtPath(root), Value: 0, By: ann},                  // withdrawn: 5/1
		Vote{TopicID: topic, Comment: AtPath(root), Value: -1, By: bo},                  // 5/2
		Post{TopicID: &topic, Parent: AtPath(root), User: "cy", Content: "new"},         // gets 2
		Vote{TopicID: topic, Comment: AtPath(two), Value: 1, By: bo},                    // 1/0 on the new comment
		Delete{TopicID: topic, Comment: AtPath(one)},                                    //
		Vote{TopicID: topic, Comment: AtPath(one), Value: 1, By: bo},                    // 409
		Vote{TopicID: topic, Comment: AtPath(comment.Path{0, 7}), Value: 1, By: bo},     // 404
		Vote{TopicID: comment.NewTopicID(), Comment: AtPath(root), Value: 1, By: bo},    // 404
		Vote{TopicID: topic, Comment: AtPath(comment.Path{0, 1, 2}), Value: 1, By: ann}, // 404: 2 is at 0/2
	)
	ch, out := decide(cmds, st, at)
	wantErr := []*errs.Kind{nil, nil, nil, nil, nil, nil, errs.Conflict, errs.NotFound, errs.NotFound, errs.NotFound}
	for i, d := range out {
		if (wantErr[i] == nil) != (d.err == nil) || (wantErr[i] != nil && !errors.Is(d.err, wantErr[i])) {
			t.Errorf("command %d: error %v, want kind %v", i, d.err, wantErr[i])
		}
	}
	for i, want := range map[int]string{0: "6/1", 1: "5/1", 2: "5/2", 4: "1/0"} {
		r := out[i].result.(*VoteResult)
		if got := fmt.Sprintf("%d/%d", r.Up, r.Down); got != want {
			t.Errorf("vote %d answered %s, want %s", i, got, want)
		}
		v := ch.Events[out[i].event].Voted
		if got := fmt.Sprintf("%d/%d", v.Up, v.Down); got != want {
			t.Errorf("vote %d event %s, want %s", i, got, want)
		}
	}
	if v := ch.Events[out[1].event].Voted; v.Was != 1 || !v.WasAt.Equal(at) || v.Value != 0 {
		t.Errorf("the withdrawal's event %+v", v)
	}
	votes := fmt.Sprint(ch.Votes)
	if len(ch.Votes) != 3 || !strings.Contains(votes, "ann} 0") || !strings.Contains(votes, "bo} -1") || !strings.Contains(votes, "bo} 1") {
		t.Fatalf("vote writes %v", ch.Votes)
	}
	if fmt.Sprint(ch.Counts) != fmt.Sprintf("[{%v 0 5 2} {%v 2 1 0}]", topic, topic) {
		t.Fatalf("count writes %v", ch.Counts)
	}
	for _, c := range ch.Comments {
		if c.Path.ID() == 0 {
			t.Fatalf("the root's row is rewritten for its votes: %+v", c)
		}
	}
	if len(ch.Activity) != 1 || ch.Activity[0].Votes != 3 || ch.Activity[0].Comments != 1 {
		t.Fatalf("activity %+v (a withdrawal is no activity)", ch.Activity)
	}
}

// TestDecideIfMatchAndIDs: /v1 names comments by id and may make a write
// conditional on the comment's version; edits in one batch are versions
// one after another, so a second edit holding the first's ETag passes and
// one holding the original's is refused.
func TestDecideIfMatchAndIDs(t *testing.T) {
	topic := comment.NewTopicID()
	st := existing(topic, 3, store.CommentRow{Path: comment.Path{0}}, store.CommentRow{Path: comment.Path{0, 1}}, store.CommentRow{Path: comment.Path{0, 1, 2}})
	v2 := comment.Version(st.Comments[store.CommentRef{Topic: topic, ID: 2}].Update, false)
	after := comment.Version(at, false) // comment 2 once edited in this batch
	cmds := requests(
		Edit{TopicID: topic, Comment: WithID(2), Content: "a", IfMatch: []string{`"1"`, v2}},                      // 0: matches
		Edit{TopicID: topic, Comment: WithID(2), Content: "b", IfMatch: []string{v2}},                             // 1: 412, changed by 0
		Edit{TopicID: topic, Comment: WithID(2), Content: "c", IfMatch: []string{"W/" + after}},                   // 2: 412, weak
		Edit{TopicID: topic, Comment: WithID(2), Content: "d", IfMatch: []string{after}},                          // 3: matches 0's version
		Edit{TopicID: topic, Comment: WithID(2), Content: "e", IfMatch: []string{"*"}},                            // 4: any version
		Delete{TopicID: topic, Comment: WithID(2), IfMatch: []string{after}},                                      // 5: 412, edited twice since
		Delete{TopicID: topic, Comment: WithID(1)},                                                                // 6: by id, unconditional
		Edit{TopicID: topic, Comment: WithID(1), Content: "f", IfMatch: []string{"*"}},                            // 7: 409, deleted
		Vote{TopicID: topic, Comment: WithID(2), Value: 1, By: Actor{ID: "v", Name: "v"}},                         // 8: by id
		Post{TopicID: &topic, Parent: WithID(2), User: "p", Content: "re"},                                        // 9: reply by id: 0/1/2/3
		Edit{TopicID: topic, Comment: WithID(9), Content: "g"},                                                    // 10: 404
		Edit{TopicID: topic, Comment: Ref{ID: 2, Path: comment.Path{0, 2}}, Content: "h", IfMatch: []string{"*"}}, // 11: 404, wrong path
	)
	_, out := decide(cmds, st, at)
	want := []*errs.Kind{nil, errs.Changed, errs.Changed, nil, nil, errs.Changed, nil, errs.Conflict, nil, nil, errs.NotFound, errs.NotFound}
	for i, d := range out {
		if (want[i] == nil) != (d.err == nil) || (want[i] != nil && !errors.Is(d.err, want[i])) {
			t.Errorf("command %d: error %v, want kind %v", i, d.err, want[i])
		}
	}
	if r := out[9].result.(*PostResult); r.ParentPath != "0/1/2/3" {
		t.Fatalf("reply by id: %+v", r)
	}
	// Each accepted edit is a later version than the one before.
	var last string
	for _, i := range []int{0, 3, 4} {
		r := out[i].result.(*EditResult)
		if r.UpdateTime <= last {
			t.Fatalf("edit %d dated %s, not after %s", i, r.UpdateTime, last)
		}
		last = r.UpdateTime
	}
}
