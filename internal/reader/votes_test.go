package reader_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/parley/parley/internal/stacktest"
)

// votedItem is an item of the lists that show votes.
type votedItem struct {
	ID      int32  `json:"comment_id"`
	TopicID string `json:"topic_id"`
	Path    string `json:"parent_path"`
	User    string `json:"user"`
	Create  string `json:"create_time"`
	Up      *int32 `json:"up"`
	Down    *int32 `json:"down"`
	Vote    int    `json:"vote"`
	VotedAt string `json:"voted_at"`
	Deleted bool   `json:"deleted"`
}

func getVoted(t *testing.T, u string) []votedItem {
	t.Helper()
	r := stacktest.Get(t, u)
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, r.Status, r.Body)
	}
	var items []votedItem
	r.JSON(t, &items)
	for _, it := range items {
		if it.Up == nil || it.Down == nil {
			t.Fatalf("GET %s: an item without up/down: %s", u, r.Body)
		}
	}
	return items
}

func vote(t *testing.T, base, topic, path, user string, value int) int64 {
	t.Helper()
	r := stacktest.Do(t, http.MethodPost, base+"/vote_comment", map[string]any{"topic_id": topic, "parent_path": path, "user": user, "value": value})
	if r.Status != http.StatusOK {
		t.Fatalf("vote: %d %s", r.Status, r.Body)
	}
	return int64(r.Object(t)["position"].(float64))
}

func counts(items []votedItem, path string) string {
	for _, it := range items {
		if it.Path == path {
			return fmt.Sprintf("%d/%d", *it.Up, *it.Down)
		}
	}
	return "missing"
}

// TestVotesOnReaders: votes from 64 users at once on one comment give
// exact counts on every reader and every list that shows the comment; the
// rankings and a voter's list follow votes, changes and deletes.
func TestVotesOnReaders(t *testing.T) {
	e := newEnv(t)
	r1, r2 := e.reader(t), e.reader(t)
	root := stacktest.PostComment(t, e.writer, "", "", "ann", "a topic")
	a := stacktest.PostComment(t, e.writer, root.Topic, "0", "bo", "first reply")
	b := stacktest.PostComment(t, e.writer, root.Topic, "0", "cy", "second reply")
	other := stacktest.PostComment(t, e.writer, "", "", "dee", "another topic")

	const n = 64
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			value := 1
			if i%4 == 0 {
				value = -1
			}
			vote(t, e.writer, root.Topic, a.Path, fmt.Sprint("user", i), value)
		}()
	}
	wg.Wait()
	vote(t, e.writer, root.Topic, "0", "ann", 1)
	vote(t, e.writer, root.Topic, b.Path, "ann", 1)
	vote(t, e.writer, root.Topic, b.Path, "ann", -1) // changed: b is 0/1
	vote(t, e.writer, other.Topic, "0", "ann", 1)
	last := vote(t, e.writer, other.Topic, "0", "bo", 1) // other's root is 2/0

	for _, r := range []*stacktest.Reader{r1, r2, e.reader(t)} {
		r.WaitReady(t, last)
		q := "?min_position=" + strconv.FormatInt(last, 10)
		thread := getVoted(t, topicURL(r.Base, root.Topic))
		if got := counts(thread, a.Path) + " " + counts(thread, b.Path) + " " + counts(thread, "0"); got != "48/16 0/1 1/0" {
			t.Fatalf("thread counts %s", got)
		}
		if got := counts(getVoted(t, r.Base+"/last_user_comments?user=bo"), a.Path); got != "48/16" {
			t.Fatalf("user list counts %s", got)
		}
		// The other topic is the newest; the first is hotter, by far.
		for list, want := range map[string]string{"/last_topics": "2 0 1 0", "/hot_topics": "1 0 2 0"} {
			items := getVoted(t, r.Base+list+q)
			if len(items) != 2 || fmt.Sprint(*items[0].Up, *items[0].Down, *items[1].Up, *items[1].Down) != want {
				t.Fatalf("%s: %+v", list, items)
			}
		}
		// b, one down, is not a top comment.
		top := getVoted(t, r.Base+"/top_comments"+q)
		if len(top) != 3 || top[0].Path != a.Path || top[1].TopicID != other.Topic || top[2].Path != "0" {
			t.Fatalf("top comments %+v", top)
		}
		inTopic := getVoted(t, r.Base+"/top_comments?limit=2&topic_id="+root.Topic)
		if len(inTopic) != 2 || inTopic[0].Path != a.Path || inTopic[1].Path != "0" {
			t.Fatalf("top comments of the topic %+v", inTopic)
		}
		// Created after the first reply (the second reply and the other
		// topic, unless created in the same millisecond).
		var want []string
		for _, it := range top {
			if it.Create > top[0].Create {
				want = append(want, it.TopicID+it.Path)
			}
		}
		for _, topic := range []string{"", root.Topic} {
			u := r.Base + "/top_comments?from_time=" + url.QueryEscape(top[0].Create)
			var wantHere []string
			for _, w := range want {
				if topic == "" || strings.HasPrefix(w, topic) {
					wantHere = append(wantHere, w)
				}
			}
			if topic != "" {
				u += "&topic_id=" + topic
			}
			var got []string
			for _, it := range getVoted(t, u) {
				got = append(got, it.TopicID+it.Path)
			}
			if fmt.Sprint(got) != fmt.Sprint(wantHere) {
				t.Fatalf("%s: %v, want %v", u, got, wantHere)
			}
		}
		// Newest first; votes cast in the same millisecond (sequential
		// writes now take less) may come in either order.
		mine := getVoted(t, r.Base+"/user_votes?user=ann")
		cast := map[string]int{other.Topic + "0": 1, root.Topic + b.Path: -1, root.Topic + "0": 1}
		for i, it := range mine {
			if cast[it.TopicID+it.Path] != it.Vote || (i > 0 && it.VotedAt > mine[i-1].VotedAt) {
				t.Fatalf("ann's votes %+v", mine)
			}
			delete(cast, it.TopicID+it.Path)
		}
		if len(mine) != 3 || len(cast) != 0 {
			t.Fatalf("ann's votes %+v", mine)
		}
		older := getVoted(t, r.Base+"/user_votes?limit=1&user=ann&before="+url.QueryEscape(mine[1].VotedAt))
		if mine[2].VotedAt < mine[1].VotedAt {
			if len(older) != 1 || older[0].Path != mine[2].Path || older[0].TopicID != mine[2].TopicID {
				t.Fatalf("ann's votes before %s: %+v", mine[1].VotedAt, older)
			}
		} else if len(older) != 0 {
			t.Fatalf("ann's votes before %s, the oldest: %+v", mine[1].VotedAt, older)
		}
	}

	// Withdrawn and deleted comments leave the rankings; votes on a deleted
	// comment stay in the voter's list, marked deleted.
	vote(t, e.writer, other.Topic, "0", "ann", 0)
	vote(t, e.writer, other.Topic, "0", "bo", 0)
	del := stacktest.Do(t, http.MethodPost, e.writer+"/delete_comment", map[string]any{"topic_id": root.Topic, "parent_path": a.Path})
	pos := int64(del.Object(t)["position"].(float64))
	for _, r := range []*stacktest.Reader{r1, e.reader(t)} {
		r.WaitReady(t, pos)
		top := getVoted(t, r.Base+"/top_comments")
		if len(top) != 1 || top[0].Path != "0" || top[0].TopicID != root.Topic {
			t.Fatalf("top comments after the delete %+v", top)
		}
		bo := getVoted(t, r.Base+"/user_votes?user=user1")
		if len(bo) != 1 || !bo[0].Deleted || bo[0].Vote != 1 {
			t.Fatalf("a vote on a deleted comment %+v", bo)
		}
	}
}

// TestVoteListErrors: the votes' lists refuse bad parameters with 400.
func TestVoteListErrors(t *testing.T) {
	e := newEnv(t)
	r := e.reader(t)
	r.WaitReady(t, 0)
	for _, u := range []string{
		"/user_votes",
		"/user_votes?user=",
		"/user_votes?user=ann&limit=0",
		"/user_votes?user=ann&before=yesterday",
		"/user_votes?user=ann&from_time=1",
		"/top_comments?topic_id=nope",
		"/top_comments?limit=-1",
		"/top_comments?from_time=x",
		"/top_comments?before=1",
	} {
		if res := stacktest.Get(t, r.Base+u); res.Status != http.StatusBadRequest {
			t.Errorf("GET %s: %d %s", u, res.Status, res.Body)
		}
	}
	if res := stacktest.Get(t, r.Base+"/top_comments?topic_id=00000000-0000-4000-8000-000000000000"); res.Status != http.StatusNotFound {
		t.Errorf("top comments of no topic: %d %s", res.Status, res.Body)
	}
}
