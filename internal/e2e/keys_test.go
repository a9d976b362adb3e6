package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestTopicKeysThroughNginx: a site names its thread by its own key.
// 32 first comments racing on a new key through nginx end in one topic
// (one of them started it, ids 0 to 31); the thread reads by key exactly
// as by id, with reply counts and depth-bounded pages, and its summary
// carries the key. Every request and answer is checked against the API
// document (apitest).
func TestTopicKeysThroughNginx(t *testing.T) {
	s := newStack(t, stackOpts{})
	c := &v1{t: t, s: s}
	const key = "https://news.example/2026/11/24/parley-launch"
	const n = 32
	type answer struct {
		id       int
		topic    string
		started  bool
		position int
	}
	answers := make([]answer, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := s.do(t, http.MethodPost, s.nginx+"/post_comment",
				map[string]any{"topic_key": key, "content": fmt.Sprintf("first? (%d)", i), "user": fmt.Sprint("reader", i)})
			if r.Status != http.StatusCreated {
				t.Errorf("post %d: %d %s", i, r.Status, r.Body)
				return
			}
			m := r.Object(t)
			answers[i] = answer{int(m["comment_id"].(float64)), m["topic_id"].(string), m["new_topic"].(bool), int(m["position"].(float64))}
		}()
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	ids, topics, started, last := []int{}, map[string]bool{}, 0, 0
	for _, a := range answers {
		ids, topics[a.topic] = append(ids, a.id), true
		if a.started {
			started++
		}
		last = max(last, a.position)
	}
	slices.Sort(ids)
	if len(topics) != 1 || started != 1 || ids[0] != 0 || ids[n-1] != n-1 || len(slices.Compact(ids)) != n {
		t.Fatalf("32 racing first comments: topics %v, %d started one, ids %v", topics, started, ids)
	}
	var topic string
	for id := range topics {
		topic = id
	}
	c.seen = fmt.Sprint(last)

	// A reply below one of them, by key, then the thread by key.
	reply := c.want(c.do(http.MethodPost, "/post_comment", map[string]any{"topic_key": key, "parent_path": "0/5", "content": "nested", "user": "zed"}), 201, "reply by key").Object(t)
	c.seen = fmt.Sprint(int(reply["position"].(float64)))
	q := "/topic_comments?topic_key=" + url.QueryEscape(key)
	var byKey, byID []map[string]any
	c.want(c.do(http.MethodGet, q, nil), 200, "by key").JSON(t, &byKey)
	c.want(c.do(http.MethodGet, "/topic_comments?topic_id="+topic, nil), 200, "by id").JSON(t, &byID)
	if len(byKey) != n+1 || len(byID) != n+1 {
		t.Fatalf("%d comments by key, %d by id, want %d", len(byKey), len(byID), n+1)
	}
	for i := range byKey {
		if byKey[i]["parent_path"] != byID[i]["parent_path"] {
			t.Fatalf("item %d: by key %v, by id %v", i, byKey[i], byID[i])
		}
	}
	replies := map[string]float64{}
	for _, it := range byKey {
		replies[it["parent_path"].(string)] = it["reply_count"].(float64)
	}
	if replies["0"] != n-1 || replies["0/5"] != 1 || replies["0/1"] != 0 {
		t.Errorf("reply counts: root %v, 0/5 %v, 0/1 %v; want %d, 1, 0", replies["0"], replies["0/5"], replies["0/1"], n-1)
	}
	// Paged by key, the Link names the topic by key too (nginx routes it to
	// the same reader) and keeps min_position.
	if link := c.want(c.do(http.MethodGet, q+"&limit=5", nil), 200, "a page by key").Header.Get("Link"); !strings.Contains(link, "topic_key=") ||
		strings.Contains(link, "topic_id=") || !strings.Contains(link, "min_position=") {
		t.Errorf("the Link of a page read by key: %s", link)
	}
	var shallow []map[string]any
	c.want(c.do(http.MethodGet, q+"&depth=1&sort=new&limit=40", nil), 200, "depth 1").JSON(t, &shallow)
	if len(shallow) != n || slices.ContainsFunc(shallow, func(m map[string]any) bool { return strings.Count(m["parent_path"].(string), "/") > 1 }) {
		t.Errorf("depth=1: %d comments (want %d), none below the first level", len(shallow), n)
	}
	// The same through /v1, by the key's topic id.
	var v1Shallow []map[string]any
	c.want(c.do(http.MethodGet, "/v1/topics/"+topic+"/comments?parent_id=5&depth=0", nil), 200, "v1 depth 0").JSON(t, &v1Shallow)
	if len(v1Shallow) != 1 || v1Shallow[0]["reply_count"].(float64) != 1 {
		t.Errorf("/v1 subtree of 5 at depth 0: %v", v1Shallow)
	}

	summary := c.want(c.do(http.MethodGet, "/v1/topics/"+topic, nil), 200, "topic").Object(t)
	if summary["key"] != key {
		t.Errorf("the topic's key: %v, want %q", summary["key"], key)
	}
	var latest []map[string]any
	c.want(c.do(http.MethodGet, "/last_topics", nil), 200, "last_topics").JSON(t, &latest)
	if len(latest) != 1 || latest[0]["key"] != key {
		t.Errorf("/last_topics: %v", latest)
	}

	for _, bad := range []string{"/topic_comments?topic_key=", "/topic_comments?topic_key=a%01b", "/topic_comments?topic_key=x&topic_id=" + topic, q + "&depth=-1"} {
		if r := c.do(http.MethodGet, bad, nil); r.Status != http.StatusBadRequest {
			t.Errorf("GET %s: %d %s, want 400", bad, r.Status, r.Body)
		}
	}
	if r := c.do(http.MethodGet, "/topic_comments?topic_key="+url.QueryEscape(key+"/"), nil); r.Status != http.StatusNotFound {
		t.Errorf("a key that differs by a slash: %d %s, want 404", r.Status, r.Body)
	}

	// /topic_counts takes 100 keys of 512 bytes, each three times as long
	// percent-encoded: nginx reads a request line of 150 KB.
	v := url.Values{"topic_key": {key}} // the first one, a thread that exists
	for i := range 99 {
		v.Add("topic_key", fmt.Sprintf("%03d", i)+strings.Repeat("é", 254)+"x")
	}
	var counts []map[string]any
	c.want(c.do(http.MethodGet, "/topic_counts?"+v.Encode(), nil), 200, "100 long keys").JSON(t, &counts)
	if len(counts) != 100 || counts[0]["comment_count"].(float64) != n+1 || counts[1]["comment_count"].(float64) != 0 {
		t.Fatalf("/topic_counts of 100 keys: %d items, want 100: the first with %d comments, the others none", len(counts), n+1)
	}
}
