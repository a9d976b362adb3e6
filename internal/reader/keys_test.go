package reader_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/stacktest"
)

// TestTopicKeyReads: a topic started with a key carries it in its
// summaries (null for one without), on a reader that followed the log and
// on one that loaded it from a snapshot; every read by topic takes the key
// in place of the id, matched exactly.
func TestTopicKeyReads(t *testing.T) {
	e := newEnv(t)
	live := e.reader(t)
	const key = `https://blog.example/a?b=1&c="2"`
	first := stacktest.Post(t, e.writer, "/post_comment", map[string]any{"topic_key": key, "content": "keyed", "user": "ann"}, 201)
	stacktest.Post(t, e.writer, "/post_comment", map[string]any{"topic_key": key, "content": "reply", "user": "bob"}, 201)
	plain := stacktest.PostComment(t, e.writer, "", "", "cy", "no key")
	topic := first["topic_id"].(string)
	loaded := e.reader(t)
	for name, r := range map[string]*stacktest.Reader{"following": live, "loaded": loaded} {
		r.WaitReady(t, plain.Position)
		for _, path := range []string{"/last_topics", "/hot_topics", "/v1/topics/" + topic} {
			res := stacktest.Get(t, r.Base+path)
			var items []map[string]any
			if strings.HasPrefix(path, "/v1/") {
				items = []map[string]any{res.Object(t)}
			} else {
				res.JSON(t, &items)
			}
			keys := map[string]any{}
			for _, it := range items {
				v, ok := it["key"]
				if !ok {
					t.Fatalf("%s reader %s: an item without \"key\": %s", name, path, res.Body)
				}
				keys[it["topic_id"].(string)] = v
			}
			if keys[topic] != key {
				t.Errorf("%s reader %s: key %v, want %q", name, path, keys[topic], key)
			}
			if v, ok := keys[plain.Topic]; ok && v != nil {
				t.Errorf("%s reader %s: a topic without a key shows %v", name, path, v)
			}
		}
		byKey, _ := getItems(t, r.Base+"/topic_comments?topic_key="+url.QueryEscape(key))
		byID, _ := getItems(t, topicURL(r.Base, topic))
		if len(byKey) != 2 || !slices.EqualFunc(byKey, byID, func(a, b item) bool { return a.ParentPath == b.ParentPath && a.Content == b.Content }) {
			t.Errorf("%s reader: by key %+v, by id %+v", name, byKey, byID)
		}
		if res := stacktest.Get(t, r.Base+"/top_comments?topic_key="+url.QueryEscape(key)); res.Status != 200 {
			t.Errorf("%s reader: /top_comments by key: %d %s", name, res.Status, res.Body)
		}
	}

	wantErrors(t, live.Base+"/topic_comments?", []readError{
		{"topic_key=" + url.QueryEscape(strings.ToUpper(key)), 404, "topic"},
		{"topic_key=" + url.QueryEscape(key+"/"), 404, "topic"},
		{"topic_key=", 400, "topic_key"},
		{"topic_key=a%0Ab", 400, "control"},
		{"topic_key=%FF", 400, "UTF-8"},
		{"topic_key=" + strings.Repeat("k", 513), 400, "topic_key"},
		{"topic_key=k&topic_id=" + topic, 400, "not both"},
	})
	if got := comment.KeyTopicID(key).String(); got != topic {
		t.Fatalf("the key names %s, the topic is %s", got, topic)
	}
}

// depthItem is a /topic_comments item with its reply count.
type depthItem struct {
	Path    string `json:"parent_path"`
	Replies *int   `json:"reply_count"`
	Views   int64  `json:"view_count"`
}

// TestReplyCountAndDepth: every comment carries its direct replies
// (deleted ones included); depth=N leaves out what lies deeper than N
// levels below the listing's root, pages what remains with a Link that
// keeps the depth, and counts views only of the comments it returned.
func TestReplyCountAndDepth(t *testing.T) {
	e := newEnv(t)
	r := e.reader(t)
	root := stacktest.PostComment(t, e.writer, "", "", "ann", "root")
	post := func(parent string) string {
		return stacktest.PostComment(t, e.writer, root.Topic, parent, "u", "c").Path
	}
	a := post("0")    // 0/1
	ab := post(a)     // 0/1/2
	abc := post(ab)   // 0/1/2/3
	d := post("0")    // 0/4
	post(d)           // 0/4/5
	gone := post(d)   // 0/4/6
	last := post("0") // 0/7
	stacktest.Post(t, e.writer, "/delete_comment", map[string]any{"topic_id": root.Topic, "parent_path": gone}, 200)
	head := e.head(t)
	r.WaitReady(t, head)

	get := func(r *stacktest.Reader, method string, params ...string) ([]depthItem, stacktest.Response) {
		t.Helper()
		res := stacktest.Do(t, method, topicURL(r.Base, root.Topic, params...), nil)
		if res.Status != http.StatusOK {
			t.Fatalf("%v: %d %s", params, res.Status, res.Body)
		}
		var items []depthItem
		if method == http.MethodGet {
			if err := json.Unmarshal(res.Body, &items); err != nil {
				t.Fatal(err)
			}
		}
		return items, res
	}
	paths := func(items []depthItem) []string {
		var out []string
		for _, it := range items {
			out = append(out, it.Path)
		}
		return out
	}

	wantReplies := map[string]int{"0": 3, a: 1, ab: 1, abc: 0, d: 2, "0/4/5": 0, gone: 0, last: 0}
	fresh := e.reader(t) // its tree is loaded from the database, not built from the log
	fresh.WaitReady(t, head)
	for name, rd := range map[string]*stacktest.Reader{"following": r, "loaded": fresh} {
		items, _ := get(rd, http.MethodGet)
		for _, it := range items {
			if it.Replies == nil || *it.Replies != wantReplies[it.Path] {
				t.Errorf("%s reader: %s reply_count %v, want %d", name, it.Path, it.Replies, wantReplies[it.Path])
			}
		}
	}

	for _, c := range []struct {
		params []string
		want   []string
	}{
		{[]string{"depth", "0"}, []string{"0"}},
		{[]string{"depth", "1"}, []string{"0", a, d, last}},
		{[]string{"depth", "2"}, []string{"0", a, ab, d, "0/4/5", gone, last}},
		{[]string{"depth", "99"}, []string{"0", a, ab, abc, d, "0/4/5", gone, last}},
		{[]string{"depth", "1", "parent_path", a}, []string{a, ab}},
		{[]string{"depth", "1", "sort", "new"}, []string{"0", last, d, a}},
	} {
		if items, _ := get(r, http.MethodGet, c.params...); !slices.Equal(paths(items), c.want) {
			t.Errorf("%v: %v, want %v", c.params, paths(items), c.want)
		}
	}

	// Pages of a bounded depth: the Link keeps it.
	var paged []string
	next := topicURL(r.Base, root.Topic, "depth", "1", "limit", "2")
	linkRE := regexp.MustCompile(`<([^>]+)>; rel="next"`)
	for next != "" {
		items, res := getItems(t, next)
		for _, it := range items {
			paged = append(paged, it.ParentPath)
		}
		next = ""
		if m := linkRE.FindStringSubmatch(res.Header.Get("Link")); m != nil {
			if !strings.Contains(m[1], "depth=1") {
				t.Fatalf("Link %s loses the depth", m[1])
			}
			next = r.Base + m[1]
		}
	}
	if want := []string{"0", a, d, last}; !slices.Equal(paged, want) {
		t.Errorf("pages of depth 1 joined: %v, want %v", paged, want)
	}

	for _, bad := range []string{"-1", "x", "1.5", ""} {
		if res := stacktest.Get(t, topicURL(r.Base, root.Topic, "depth", bad)); res.Status != 400 || !strings.Contains(string(res.Body), "depth") {
			t.Errorf("depth=%q: %d %s", bad, res.Status, res.Body)
		}
	}
	if res := stacktest.Get(t, topicURL(r.Base, root.Topic, "depth", "1", "after", ab)); res.Status != 400 {
		t.Errorf("after a comment below the depth: %d %s", res.Status, res.Body)
	}

	// Views: a bounded GET counts the comments it returned, not those it
	// left out. A topic of its own, read only here, and a user's list,
	// which counts no views, to watch the counts.
	vt := stacktest.PostComment(t, e.writer, "", "", "watched", "root")
	v1 := stacktest.PostComment(t, e.writer, vt.Topic, "0", "watched", "child")
	v2 := stacktest.PostComment(t, e.writer, vt.Topic, v1.Path, "watched", "grandchild")
	v3 := stacktest.PostComment(t, e.writer, vt.Topic, "0", "watched", "second child") // after v2 in old order
	r.WaitReady(t, v3.Position)
	for range 3 {
		getItems(t, topicURL(r.Base, vt.Topic, "depth", "1"))
	}
	getItems(t, topicURL(r.Base, vt.Topic))
	want := map[string]int64{"0": 4, v1.Path: 4, v2.Path: 1, v3.Path: 4}
	var got map[string]int64
	defer func() {
		if t.Failed() {
			t.Logf("view counts %v, want %v", got, want)
		}
	}()
	stacktest.Eventually(t, 10*time.Second, func() bool {
		items, _ := getItems(t, r.Base+"/last_user_comments?user=watched")
		got = map[string]int64{}
		for _, it := range items {
			got[it.ParentPath] = it.Views
		}
		return maps.Equal(got, want)
	})
}

// TestLinkFollowsTheRequest: a cached page remembers the Link it last
// answered with, and a request that names the topic or its freshness
// differently gets a Link of its own. The same page, the same version,
// asked by key, by id, with and without min_position, in turns.
func TestLinkFollowsTheRequest(t *testing.T) {
	e := newEnv(t)
	r := e.reader(t)
	const key = "https://blog.example/linked"
	first := stacktest.Post(t, e.writer, "/post_comment", map[string]any{"topic_key": key, "content": "root", "user": "ann"}, 201)
	topic := first["topic_id"].(string)
	var last stacktest.Comment
	for i := range 3 {
		last = stacktest.PostComment(t, e.writer, topic, "0", "bob", fmt.Sprint("reply ", i))
	}
	r.WaitReady(t, last.Position)
	pos := fmt.Sprint(last.Position)
	byKey := r.Base + "/topic_comments?limit=2&topic_key=" + url.QueryEscape(key)
	cases := []struct {
		url       string
		want, not []string
	}{
		{topicURL(r.Base, topic, "limit", "2"), []string{"topic_id=" + topic}, []string{"topic_key", "min_position"}},
		{byKey, []string{"topic_key="}, []string{"topic_id", "min_position"}},
		{topicURL(r.Base, topic, "limit", "2", "min_position", pos), []string{"topic_id=" + topic, "min_position=" + pos}, []string{"topic_key"}},
		{byKey + "&min_position=" + pos, []string{"topic_key=", "min_position=" + pos}, []string{"topic_id"}},
	}
	for round := range 2 { // the second round finds each Link remembered, or not, by the request before
		for _, c := range cases {
			_, res := getItems(t, c.url)
			link := res.Header.Get("Link")
			for _, w := range c.want {
				if !strings.Contains(link, w) {
					t.Errorf("round %d, %s: Link %q lacks %q", round, c.url, link, w)
				}
			}
			for _, n := range c.not {
				if strings.Contains(link, n) {
					t.Errorf("round %d, %s: Link %q has %q", round, c.url, link, n)
				}
			}
		}
	}
}
