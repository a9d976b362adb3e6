package reader_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/reader"
	"github.com/parley/parley/internal/stacktest"
)

type topicCount struct {
	Topic string  `json:"topic_id"`
	Key   *string `json:"topic_key"`
	Count int     `json:"comment_count"`
}

func countsURL(base string, ids, keys []string) string {
	return base + "/topic_counts?" + url.Values{"topic_id": ids, "topic_key": keys}.Encode()
}

// TestTopicCounts: one item per value asked, ids first then keys, each in
// the order given; deleted comments count; a topic nobody has commented
// on counts 0.
func TestTopicCounts(t *testing.T) {
	e := newEnv(t)
	r := e.reader(t)
	a := stacktest.PostComment(t, e.writer, "", "", "ann", "a")
	for range 3 {
		stacktest.PostComment(t, e.writer, a.Topic, "0", "bob", "reply")
	}
	postOK(t, e.writer, "/delete_comment", map[string]any{"topic_id": a.Topic, "parent_path": "0/1"})
	b := stacktest.PostComment(t, e.writer, "", "", "ann", "b")
	k := postByKey(t, e.writer, "page-1", "ann", "keyed")
	last := postByKey(t, e.writer, "page-1", "bob", "keyed reply")
	r.WaitReady(t, last.Position)

	unknown := "6f1c0e0a-3d5e-4c1b-9a57-0b9d1c2e3f40"
	var got []topicCount
	res := stacktest.Get(t, countsURL(r.Base, []string{strings.ToUpper(b.Topic), a.Topic, unknown, a.Topic}, []string{"page-2", "page-1"}))
	if res.Status != http.StatusOK {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
	res.JSON(t, &got)
	key := func(s string) *string { return &s }
	want := []topicCount{
		{b.Topic, nil, 1},
		{a.Topic, nil, 4},
		{unknown, nil, 0},
		{a.Topic, nil, 4},
		{comment.KeyTopicID("page-2").String(), key("page-2"), 0},
		{k.Topic, key("page-1"), 2},
	}
	if showCounts(got) != showCounts(want) {
		t.Fatalf("counts\n got %s\nwant %s", showCounts(got), showCounts(want))
	}
	if !strings.Contains(string(res.Body), `"topic_key":null`) {
		t.Errorf("an id's topic_key is not null: %s", res.Body)
	}
	if res.Header.Get("X-Log-Position") == "" || res.Header.Get("ETag") == "" {
		t.Errorf("headers %v", res.Header)
	}
	again := stacktest.Get(t, countsURL(r.Base, []string{a.Topic}, nil), "If-None-Match", res.Header.Get("ETag"))
	if again.Status != http.StatusNotModified {
		t.Errorf("If-None-Match at the same position: %d", again.Status)
	}

	// 100 topics in all is the most, in any mix.
	ids, keys := make([]string, 60), make([]string, 40)
	for i := range ids {
		ids[i] = a.Topic
	}
	for i := range keys {
		keys[i] = fmt.Sprint("page-", i)
	}
	res = stacktest.Get(t, countsURL(r.Base, ids, keys))
	got = nil
	res.JSON(t, &got)
	if res.Status != http.StatusOK || len(got) != 100 || got[0].Count != 4 || got[61].Count != 2 || *got[61].Key != "page-1" {
		t.Fatalf("100 topics: %d, %d items", res.Status, len(got))
	}
}

// showCounts is counts as one line, to compare and show.
func showCounts(c []topicCount) string {
	var b strings.Builder
	for _, x := range c {
		k := "null"
		if x.Key != nil {
			k = *x.Key
		}
		fmt.Fprintf(&b, "[%s %s %d]", x.Topic, k, x.Count)
	}
	return b.String()
}

// TestTopicCountsErrors: none, too many, or one malformed value is 400.
func TestTopicCountsErrors(t *testing.T) {
	e := newEnv(t)
	r := e.reader(t, func(c *reader.Config) { c.MinPositionWait = 50 * time.Millisecond })
	c := stacktest.PostComment(t, e.writer, "", "", "ann", "hello")
	r.WaitReady(t, c.Position)
	many := func(n int, v string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = v
		}
		return out
	}
	wantErrors(t, r.Base, []readError{
		{"/topic_counts", 400, "topic_id or topic_key is required"},                                               // nothing asked
		{"/topic_counts?user=ann", 400, "topic_id or topic_key is required"},                                      // another parameter only
		{countsURL("", many(101, c.Topic), nil), 400, "over the limit of 100"},                                    // 101 ids
		{countsURL("", nil, many(101, "k")), 400, "over the limit of 100"},                                        // 101 keys
		{countsURL("", many(51, c.Topic), many(50, "k")), 400, "over the limit of 100"},                           // 51 ids and 50 keys
		{countsURL("", []string{c.Topic, "nope"}, nil), 400, "topic_id"},                                          // a bad id
		{countsURL("", []string{""}, nil), 400, "topic_id"},                                                       // an empty id
		{countsURL("", []string{c.Topic}, []string{"k", ""}), 400, "topic_key"},                                   // an empty key
		{countsURL("", nil, []string{strings.Repeat("k", 513)}), 400, "topic_key"},                                // a key too long
		{countsURL("", nil, []string{"a\tb"}), 400, "topic_key"},                                                  // a key with a control character
		{"/topic_counts?topic_key=%FF", 400, "topic_key"},                                                         // a key not UTF-8
		{"/topic_counts?topic_id=" + c.Topic + "&min_position=x", 400, "min_position"},                            // a bad min_position
		{fmt.Sprintf("/topic_counts?topic_id=%s&min_position=%d", c.Topic, c.Position+1000), 503, "min_position"}, // a position not reached
	})
	// A key of exactly 512 bytes is fine.
	if res := stacktest.Get(t, countsURL(r.Base, nil, []string{strings.Repeat("k", 512)})); res.Status != http.StatusOK {
		t.Errorf("a 512-byte key: %d %s", res.Status, res.Body)
	}
}
