package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parley/parley/client"
)

// TestClientV1: the Go client's /v1 methods through nginx, with session
// consistency: create a topic, a comment and a reply by parent id, read
// them back, update with the ETag (a stale one is 412), vote, list, delete.
func TestClientV1(t *testing.T) {
	s := newStack(t, stackOpts{})
	ctx := context.Background()
	c := client.New(s.nginx, client.WithHTTPClient(s.api.HTTP), client.WithSession())
	must := func(err error, what string) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	topic, err := c.CreateTopic(ctx, "A topic", "ann")
	must(err, "create topic")
	tid := topic.TopicID
	if topic.Location != "/v1/topics/"+tid || !topic.NewTopic || c.Position() != topic.Position {
		t.Fatalf("topic %+v, session at %d", topic, c.Position())
	}
	first, err := c.CreateComment(ctx, tid, 0, "first", "bob")
	must(err, "comment")
	reply, err := c.CreateComment(ctx, tid, first.CommentID, "reply", "bob")
	must(err, "reply")
	if first.Location != "/v1/topics/"+tid+"/comments/1" || reply.ParentPath != "0/1/2" || reply.Location != "/v1/topics/"+tid+"/comments/2" {
		t.Fatalf("comment %+v, reply %+v", first, reply)
	}
	if _, err := c.CreateComment(ctx, tid, 9, "to nobody", "bob"); !client.IsStatus(err, 404) {
		t.Fatalf("a reply to an unknown comment: %v", err)
	}

	// The session reads its writes from whichever reader nginx picks.
	cm, etag, err := c.GetComment(ctx, tid, reply.CommentID)
	must(err, "get comment")
	if cm.Content != "reply" || cm.ParentPath != "0/1/2" || cm.TopicID != tid || !regexp.MustCompile(`^"\d+"$`).MatchString(etag) {
		t.Fatalf("comment %+v, ETag %q", cm, etag)
	}
	tp, err := c.GetTopic(ctx, tid)
	must(err, "get topic")
	if tp.TopicID != tid || tp.Content != "A topic" || tp.User != "ann" || tp.CommentCount != 3 {
		t.Fatalf("topic %+v", tp)
	}

	// Updates conditional on the version.
	up, err := c.UpdateComment(ctx, tid, reply.CommentID, "reply, edited", etag)
	must(err, "update")
	if up.ETag == "" || up.ETag == etag || up.UpdateTime.IsZero() || up.Position != c.Position() {
		t.Fatalf("update %+v after ETag %q, session at %d", up, etag, c.Position())
	}
	if _, err := c.UpdateComment(ctx, tid, reply.CommentID, "lost update", etag); !client.IsStatus(err, 412) {
		t.Fatalf("an update of a stale version: %v", err)
	}
	cm, got, err := c.GetComment(ctx, tid, reply.CommentID)
	must(err, "get updated")
	if cm.Content != "reply, edited" || got != up.ETag || !cm.UpdateTime.Equal(up.UpdateTime) {
		t.Fatalf("updated comment %+v, ETag %q, want %+v", cm, got, up)
	}

	// Votes, and the lists.
	v, err := c.PutVote(ctx, tid, reply.CommentID, 1, "vic")
	must(err, "vote")
	if v.Up != 1 || v.Down != 0 {
		t.Fatalf("vote %+v", v)
	}
	page, err := c.Comments(ctx, client.V1ThreadQuery{TopicID: tid, Limit: 1})
	must(err, "first page")
	thread, err := page.All(ctx)
	must(err, "every page")
	if len(page.Items) != 1 || page.Next == "" || len(thread) != 3 || thread[2].CommentID != 2 || thread[2].Up != 1 {
		t.Fatalf("first page %+v, thread %+v", page, thread)
	}
	sub, err := c.Comments(ctx, client.V1ThreadQuery{TopicID: tid, ParentID: 1, Sort: "top"})
	must(err, "subtree")
	if len(sub.Items) != 2 || sub.Next != "" || sub.Items[0].CommentID != 1 {
		t.Fatalf("subtree %+v", sub)
	}
	latest, err := c.ListTopics(ctx, "latest", client.ListQuery{Limit: 1})
	must(err, "latest topics")
	hot, err := c.ListTopics(ctx, "hot", client.ListQuery{})
	must(err, "hot topics")
	if len(latest.Items) != 1 || latest.Items[0].TopicID != tid || len(hot.Items) != 1 || hot.Next != "" {
		t.Fatalf("latest %+v, hot %+v", latest, hot)
	}
	mine, err := c.UserComments(ctx, "bob", client.ListQuery{Limit: 1})
	must(err, "bob's comments")
	bobs, err := mine.All(ctx)
	must(err, "bob's comments, every page")
	votes, err := c.Votes(ctx, "vic", client.ListQuery{})
	must(err, "vic's votes")
	top, err := c.Top(ctx, tid, client.ListQuery{})
	must(err, "top comments")
	if len(bobs) != 2 || bobs[0].Content != "reply, edited" || bobs[1].Content != "first" ||
		len(votes.Items) != 1 || votes.Items[0].Vote != 1 || len(top.Items) != 1 || top.Items[0].CommentID != 2 {
		t.Fatalf("bob's %+v, vic's votes %+v, top %+v", bobs, votes, top)
	}

	// Delete: conditional too; the 204's position is the session's.
	if _, err := c.RemoveComment(ctx, tid, reply.CommentID, etag); !client.IsStatus(err, 412) {
		t.Fatalf("a delete of a stale version: %v", err)
	}
	del, err := c.RemoveComment(ctx, tid, reply.CommentID, up.ETag)
	must(err, "remove")
	if del.Position <= v.Position || c.Position() != del.Position {
		t.Fatalf("remove at %d after the vote at %d, session at %d", del.Position, v.Position, c.Position())
	}
	cm, got, err = c.GetComment(ctx, tid, reply.CommentID)
	must(err, "get removed")
	if !cm.Deleted || cm.Content != "" || got != strings.TrimSuffix(up.ETag, `"`)+`-deleted"` {
		t.Fatalf("removed comment %+v, ETag %q", cm, got)
	}
	_, err = c.RemoveComment(ctx, tid, reply.CommentID, "")
	must(err, "remove again")
	if _, err := c.UpdateComment(ctx, tid, reply.CommentID, "back", ""); !client.IsStatus(err, 409) {
		t.Fatalf("an update of a removed comment: %v", err)
	}
	for _, base := range prefixed(s.readers) {
		r := client.New(base, client.WithHTTPClient(s.api.HTTP))
		l, err := r.Comments(ctx, client.V1ThreadQuery{TopicID: tid, MinPosition: c.Position()})
		must(err, base)
		if len(l.Items) != 3 || !l.Items[2].Deleted || l.Items[1].Content != "first" {
			t.Fatalf("%s: %+v", base, l.Items)
		}
	}

	// The command line on the same methods. Each run is a client of its
	// own, without the session: the readers applied everything above.
	cliJSON := func(v any, args ...string) {
		t.Helper()
		code, out := s.parley(t, append([]string{"-url", s.nginx, "-o", "json"}, args...)...)
		if code != 0 || json.Unmarshal([]byte(out), v) != nil {
			t.Fatalf("parley %v: exit %d, %s", args, code, out)
		}
	}
	var one struct {
		Content string `json:"content"`
		ETag    string `json:"etag"`
	}
	cliJSON(&one, "comment", tid, "0/1")
	var edited client.Updated
	cliJSON(&edited, "edit", "-if-match", one.ETag, tid, "1", "first, edited")
	if one.Content != "first" || edited.ETag == one.ETag || edited.ETag == "" {
		t.Fatalf("comment %+v, then edited %+v", one, edited)
	}
	if code, _ := s.parley(t, "-url", s.nginx, "edit", "-if-match", one.ETag, tid, "1", "lost"); code != 1 {
		t.Fatalf("parley edit with a stale version: exit %d", code)
	}
	var voted client.Voted
	cliJSON(&voted, "vote", "-user", "grace", tid, "0/1", "down")
	var removed client.Written
	cliJSON(&removed, "delete", "-if-match", strings.Trim(edited.ETag, `"`), tid, "0/1")
	var tp1 client.Topic
	cliJSON(&tp1, "topic", tid)
	l, err := c.Comments(ctx, client.V1ThreadQuery{TopicID: tid, ParentID: 1, MinPosition: removed.Position})
	must(err, "after the command line")
	if voted.Down != 1 || removed.Position <= voted.Position || tp1.CommentCount != 3 || !l.Items[0].Deleted || l.Items[0].Down != 1 {
		t.Fatalf("voted %+v, removed %+v, topic %+v, then %+v", voted, removed, tp1, l.Items)
	}
}

// TestClientV1UnderFaults: with 30 % of writes failing on purpose (before
// the write, after its commit, or slower than an attempt), a chain of
// conditional updates — each If-Match the ETag the last one answered —
// never meets a 412: a retry of a committed update gets its first answer,
// not a comparison with the version it made itself. Votes and a
// conditional delete likewise.
func TestClientV1UnderFaults(t *testing.T) {
	s := newStack(t, stackOpts{env: []string{"FAULT_RATE=0.3", "FAULT_DELAY=400ms"}, postRate: "100000", postBurst: "100000"})
	c := client.New(s.nginx, client.WithHTTPClient(s.api.HTTP), client.WithRetries(10, 5*time.Millisecond, 50*time.Millisecond),
		client.WithAttemptTimeout(200*time.Millisecond), client.WithSession())
	ctx := context.Background()
	topic, err := c.CreateTopic(ctx, "drill", "ann")
	if err != nil {
		t.Fatalf("the topic, after 10 attempts: %v", err)
	}
	tid := topic.TopicID
	cm, err := c.CreateComment(ctx, tid, 0, "edit -1", "ann")
	if err != nil {
		t.Fatal(err)
	}
	_, etag, err := c.GetComment(ctx, tid, cm.CommentID)
	if err != nil {
		t.Fatal(err)
	}
	const edits, voters = 20, 10
	for i := range edits {
		up, err := c.UpdateComment(ctx, tid, cm.CommentID, fmt.Sprint("edit ", i), etag)
		if err != nil {
			t.Fatalf("update %d, If-Match %s: %v", i, etag, err)
		}
		etag = up.ETag
	}
	for i := range voters {
		if _, err := c.PutVote(ctx, tid, cm.CommentID, 1, fmt.Sprint("voter", i)); err != nil {
			t.Fatalf("vote %d: %v", i, err)
		}
	}
	got, now, err := c.GetComment(ctx, tid, cm.CommentID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Content != fmt.Sprint("edit ", edits-1) || now != etag || got.Up != voters {
		t.Fatalf("comment %+v, ETag %q, want %q", got, now, etag)
	}
	if _, err := c.RemoveComment(ctx, tid, cm.CommentID, etag); err != nil {
		t.Fatalf("remove, If-Match %s: %v", etag, err)
	}
	if got, _, err = c.GetComment(ctx, tid, cm.CommentID); err != nil || !got.Deleted {
		t.Fatalf("removed comment %+v: %v", got, err)
	}
	t.Logf("%d calls, %d retries", c.Stats().Calls.Load(), c.Stats().Retries.Load())
	if c.Stats().Retries.Load() == 0 {
		t.Fatal("no retries: the faults did not happen")
	}
}
