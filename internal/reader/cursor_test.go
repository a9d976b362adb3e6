package reader_test

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/reader"
	"github.com/parley/parley/internal/stacktest"
)

func TestCursorText(t *testing.T) {
	c := reader.Cursor{At: 1764000000123, Topic: comment.NewTopicID(), ID: 17}
	got, err := reader.ParseCursor(c.String())
	if err != nil || got != c {
		t.Fatalf("round trip of %s: %+v, %v", c, got, err)
	}
	for _, bad := range []string{"", "1", "1.2.3", "x." + strings.Repeat("0", 32) + ".1", "1." + strings.Repeat("g", 32) + ".1",
		"1." + strings.Repeat("0", 32) + ".-1", "1." + strings.Repeat("0", 32) + ".99999999999", "1." + strings.Repeat("0", 31) + ".1",
		"1." + strings.Repeat("0", 32) + ".1.2"} {
		if _, err := reader.ParseCursor(bad); err == nil {
			t.Errorf("ParseCursor(%q) accepted", bad)
		}
	}
}

// TestListCursorsWithTies: comments, topics and votes written in one batch
// share their millisecond. Paging a user's comments, the latest topics and
// a user's votes by their Links, a page at a time, gives every item once,
// in the order of the whole list: the cursor is exact where `before` (a
// time) would skip the items of the page's last millisecond.
func TestListCursorsWithTies(t *testing.T) {
	e := newEnv(t)
	r := e.reader(t)
	topic := stacktest.PostComment(t, e.writer, "", "", "ann", "root").Topic
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Sent at once, they share batches, and a batch one time.
			stacktest.PostComment(t, e.writer, topic, "0", "tied", fmt.Sprint("c", i))
			stacktest.PostComment(t, e.writer, "", "", "starter", fmt.Sprint("topic ", i))
			stacktest.Post(t, e.writer, "/vote_comment", map[string]any{"topic_id": topic, "parent_path": "0", "value": 1, "user": fmt.Sprint("voter", i%2)}, 200)
			stacktest.Post(t, e.writer, "/vote_comment", map[string]any{"topic_id": topic, "parent_path": "0", "value": 1, "user": "everyone"}, 200)
		}()
	}
	wg.Wait()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stacktest.Post(t, e.writer, "/vote_comment", map[string]any{"topic_id": topic, "parent_path": fmt.Sprintf("0/%d", i+1), "value": 1, "user": "voter0"}, 200)
		}()
	}
	wg.Wait()
	r.WaitReady(t, e.head(t))

	link := regexp.MustCompile(`^<([^>]+)>; rel="next"$`)
	for _, c := range []struct {
		path string
		key  func(map[string]any) string
		time string
	}{
		{"/last_user_comments?user=tied", func(m map[string]any) string { return m["parent_path"].(string) }, "update_time"},
		{"/v1/users/tied/comments?x=1", func(m map[string]any) string { return m["parent_path"].(string) }, "update_time"},
		{"/last_topics?x=1", func(m map[string]any) string { return m["topic_id"].(string) }, "update_time"},
		{"/v1/topics?order=latest", func(m map[string]any) string { return m["topic_id"].(string) }, "update_time"},
		{"/user_votes?user=voter0", func(m map[string]any) string { return m["topic_id"].(string) + m["parent_path"].(string) }, "voted_at"},
	} {
		t.Run(c.path, func(t *testing.T) {
			var whole []map[string]any
			stacktest.Get(t, r.Base+c.path+"&limit=100").JSON(t, &whole)
			times := map[string]int{}
			for _, m := range whole {
				times[m[c.time].(string)]++
			}
			if len(whole) < 20 || len(times) == len(whole) {
				t.Fatalf("%d items in %d distinct times: the test needs ties", len(whole), len(times))
			}
			for _, limit := range []int{1, 3, 7} {
				var paged []string
				next := r.Base + c.path + fmt.Sprintf("&limit=%d", limit)
				for pages := 0; next != ""; pages++ {
					if pages > len(whole)+1 {
						t.Fatalf("limit %d: more pages than items", limit)
					}
					res := stacktest.Get(t, next)
					if res.Status != http.StatusOK {
						t.Fatalf("GET %s: %d %s", next, res.Status, res.Body)
					}
					var items []map[string]any
					res.JSON(t, &items)
					for _, m := range items {
						paged = append(paged, c.key(m))
					}
					next = ""
					if m := link.FindStringSubmatch(res.Header.Get("Link")); m != nil {
						next = r.Base + m[1]
					}
				}
				want := make([]string, len(whole))
				for i, m := range whole {
					want[i] = c.key(m)
				}
				if !slices.Equal(paged, want) {
					t.Fatalf("limit %d: pages joined\n%v\nwhole list\n%v", limit, paged, want)
				}
			}
		})
	}
	if res := stacktest.Get(t, r.Base+"/last_topics?cursor=nope"); res.Status != 400 || !strings.Contains(string(res.Body), "cursor") {
		t.Errorf("a bad cursor: %d %s", res.Status, res.Body)
	}
	if res := stacktest.Get(t, r.Base+"/top_comments?cursor=1."+strings.Repeat("0", 32)+".0"); res.Status != 400 {
		t.Errorf("a cursor on /top_comments: %d %s", res.Status, res.Body)
	}
}
