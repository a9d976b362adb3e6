package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/parley/parley/internal/stacktest"
)

// v1 is a client of the /v1 resources through nginx that keeps the
// highest position it wrote and reads at least that (read-your-writes).
type v1 struct {
	t    *testing.T
	s    *stack
	seen string // the position of the last write, as min_position
}

// do sends a request and remembers a write's position.
func (c *v1) do(method, path string, body any, headers ...string) stacktest.Response {
	c.t.Helper()
	if method == http.MethodGet || method == http.MethodHead {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		if c.seen != "" {
			path += sep + "min_position=" + c.seen
		}
	}
	r := c.s.do(c.t, method, c.s.nginx+path, body, headers...)
	if method != http.MethodGet && method != http.MethodHead && r.Status < 300 {
		c.seen = r.Header.Get("X-Log-Position")
	}
	return r
}

func (c *v1) want(r stacktest.Response, status int, what string) stacktest.Response {
	c.t.Helper()
	if r.Status != status {
		c.t.Fatalf("%s: %d %s, want %d", what, r.Status, r.Body, status)
	}
	return r
}

var linkNext = regexp.MustCompile(`^<([^>]+)>; rel="next"$`)

// pages follows Link: rel="next" from path and returns every item.
func (c *v1) pages(path string) []map[string]any {
	c.t.Helper()
	var all []map[string]any
	for n := 0; path != ""; n++ {
		if n > 100 {
			c.t.Fatalf("more than 100 pages from %s", path)
		}
		r := c.want(c.do(http.MethodGet, path, nil), 200, "GET "+path)
		var items []map[string]any
		r.JSON(c.t, &items)
		all = append(all, items...)
		path = ""
		if l := r.Header.Get("Link"); l != "" {
			m := linkNext.FindStringSubmatch(l)
			if m == nil {
				c.t.Fatalf("Link %q", l)
			}
			path = m[1]
		}
	}
	return all
}

// TestV1Resources drives every /v1 resource through nginx: creation with
// Location, reads by id, If-Match on PATCH and DELETE, votes, paging by
// Link, 405 with Allow, idempotent retries and refused input.
func TestV1Resources(t *testing.T) {
	s := newStack(t, stackOpts{})
	c := &v1{t: t, s: s}

	r := c.want(c.do(http.MethodPost, "/v1/topics", map[string]any{"content": "A topic", "user": "ann"}), 201, "create topic")
	created := r.Object(t)
	topic := created["topic_id"].(string)
	if loc := r.Header.Get("Location"); loc != "/v1/topics/"+topic || created["new_topic"] != true {
		t.Fatalf("Location %q, body %s", loc, r.Body)
	}
	tp := c.want(c.do(http.MethodGet, "/v1/topics/"+topic, nil), 200, "GET topic").Object(t)
	if tp["content"] != "A topic" || tp["user"] != "ann" || tp["comment_count"] != 1.0 {
		t.Fatalf("topic %v", tp)
	}
	base := "/v1/topics/" + topic + "/comments"
	r = c.want(c.do(http.MethodPost, base, map[string]any{"content": "first", "user": "bob"}), 201, "reply")
	if loc := r.Header.Get("Location"); loc != base+"/1" {
		t.Fatalf("Location %q", loc)
	}
	r = c.want(c.do(http.MethodPost, base, map[string]any{"content": "second", "user": "bob", "parent_id": 1}), 201, "reply to 1")
	if m := r.Object(t); m["parent_path"] != "0/1/2" || r.Header.Get("Location") != base+"/2" {
		t.Fatalf("reply to 1: %s %v", r.Body, r.Header)
	}
	c.want(c.do(http.MethodPost, base, map[string]any{"content": "x", "user": "bob", "parent_id": 9}), 404, "reply to an unknown comment")

	// The thread, whole, as a subtree, and in pages linked one to the next.
	var all []map[string]any
	c.want(c.do(http.MethodGet, base, nil), 200, "thread").JSON(t, &all)
	if len(all) != 3 || all[2]["parent_path"] != "0/1/2" {
		t.Fatalf("thread %v", all)
	}
	var sub []map[string]any
	c.want(c.do(http.MethodGet, base+"?parent_id=1", nil), 200, "subtree").JSON(t, &sub)
	if len(sub) != 2 || sub[0]["comment_id"] != 1.0 {
		t.Fatalf("subtree %v", sub)
	}
	if paged := c.pages(base + "?limit=1"); len(paged) != 3 || paged[2]["comment_id"] != 2.0 {
		t.Fatalf("paged thread %v", paged)
	}

	// One comment, its version, and writes conditional on it.
	one := base + "/2"
	r = c.want(c.do(http.MethodGet, one, nil), 200, "GET comment")
	etag := r.Header.Get("ETag")
	if m := r.Object(t); m["content"] != "second" || !regexp.MustCompile(`^"\d+"$`).MatchString(etag) {
		t.Fatalf("comment %s, ETag %q", r.Body, etag)
	}
	c.want(c.do(http.MethodPatch, one, map[string]any{"content": "no"}, "If-Match", `"1"`), 412, "PATCH with a wrong version")
	c.want(c.do(http.MethodPatch, one, map[string]any{"content": "no"}, "If-Match", "W/"+etag), 412, "PATCH with a weak tag")
	r = c.want(c.do(http.MethodPatch, one, map[string]any{"content": "second, edited"}, "If-Match", etag), 200, "PATCH")
	edited := r.Header.Get("ETag")
	if edited == "" || edited == etag || r.Object(t)["update_time"] == nil {
		t.Fatalf("PATCH: ETag %q after %q, body %s", edited, etag, r.Body)
	}
	c.want(c.do(http.MethodPatch, one, map[string]any{"content": "lost update"}, "If-Match", etag), 412, "PATCH with the old version")
	r = c.want(c.do(http.MethodGet, one, nil), 200, "GET edited")
	if r.Header.Get("ETag") != edited || r.Object(t)["content"] != "second, edited" {
		t.Fatalf("edited comment %s, ETag %q, want %q", r.Body, r.Header.Get("ETag"), edited)
	}

	// Votes, the voter's list and the top comments.
	r = c.want(c.do(http.MethodPut, one+"/vote", map[string]any{"value": 1, "user": "vic"}), 200, "vote")
	if m := r.Object(t); m["up"] != 1.0 || m["down"] != 0.0 {
		t.Fatalf("vote %s", r.Body)
	}
	if r := c.want(c.do(http.MethodGet, one, nil), 200, "GET voted"); r.Header.Get("ETag") != edited {
		t.Fatalf("a vote changed the version: %q", r.Header.Get("ETag"))
	}
	var votes, top []map[string]any
	c.want(c.do(http.MethodGet, "/v1/users/vic/votes", nil), 200, "votes").JSON(t, &votes)
	c.want(c.do(http.MethodGet, "/v1/comments?order=top&topic_id="+topic, nil), 200, "top").JSON(t, &top)
	if len(votes) != 1 || votes[0]["vote"] != 1.0 || len(top) != 1 || top[0]["comment_id"] != 2.0 {
		t.Fatalf("votes %v, top %v", votes, top)
	}

	// Lists page by Link; a user named with a slash has a path of their own.
	for i := range 3 {
		c.want(c.do(http.MethodPost, base, map[string]any{"content": fmt.Sprint("by a/b ", i), "user": "a/b"}), 201, "post as a/b")
	}
	if mine := c.pages("/v1/users/" + url.PathEscape("a/b") + "/comments?limit=2"); len(mine) != 3 || mine[0]["content"] != "by a/b 2" {
		t.Fatalf("a/b's comments %v", mine)
	}
	if latest := c.pages("/v1/topics?order=latest&limit=1"); len(latest) < 1 || latest[0]["topic_id"] != topic {
		t.Fatalf("latest topics %v", latest)
	}
	var hot []map[string]any
	c.want(c.do(http.MethodGet, "/v1/topics?order=hot", nil), 200, "hot").JSON(t, &hot)
	if len(hot) != 1 || hot[0]["score"] == nil {
		t.Fatalf("hot %v", hot)
	}

	// DELETE: conditional, then 204; the comment stays, deleted, with a
	// version of its own.
	c.want(c.do(http.MethodDelete, one, nil, "If-Match", etag), 412, "DELETE with an old version")
	r = c.want(c.do(http.MethodDelete, one, nil, "If-Match", edited), 204, "DELETE")
	if len(r.Body) != 0 || r.Header.Get("X-Log-Position") == "" {
		t.Fatalf("DELETE: body %q, position %q", r.Body, r.Header.Get("X-Log-Position"))
	}
	r = c.want(c.do(http.MethodGet, one, nil), 200, "GET deleted")
	if m := r.Object(t); m["deleted"] != true || m["content"] != "" || r.Header.Get("ETag") != strings.TrimSuffix(edited, `"`)+`-deleted"` {
		t.Fatalf("deleted comment %s, ETag %q", r.Body, r.Header.Get("ETag"))
	}
	c.want(c.do(http.MethodDelete, one, nil), 204, "DELETE again")

	// Idempotent retries: the same key and request answer the first
	// response; the same key on another comment is a conflict.
	key := []string{"Idempotency-Key", "v1-test-key"}
	first := c.want(c.do(http.MethodPatch, base+"/1", map[string]any{"content": "once"}, key...), 200, "keyed PATCH")
	again := c.want(c.do(http.MethodPatch, base+"/1", map[string]any{"content": "once"}, key...), 200, "keyed PATCH again")
	if string(first.Body) != string(again.Body) || first.Header.Get("ETag") != again.Header.Get("ETag") {
		t.Fatalf("retry answered %s %q, first %s %q", again.Body, again.Header.Get("ETag"), first.Body, first.Header.Get("ETag"))
	}
	c.want(c.do(http.MethodPatch, base+"/3", map[string]any{"content": "once"}, key...), 409, "the key on another comment")
	c.want(c.do(http.MethodPatch, base+"/1", map[string]any{"content": "once"}, append(key, "If-Match", `"1"`)...), 409, "the key with another condition")
	// An empty If-Match names no version: the write is unconditional.
	c.want(c.do(http.MethodPatch, base+"/1", map[string]any{"content": "once"}, "If-Match", ""), 200, "PATCH with an empty If-Match")

	// 405 names every method of the path, whichever service answers.
	for _, tc := range []struct{ method, path, allow string }{
		{http.MethodPost, "/v1/topics/" + topic, "GET, HEAD"},
		{http.MethodDelete, "/v1/topics/" + topic, "GET, HEAD"},
		{http.MethodGet, one + "/vote", "PUT"},
		{http.MethodPut, "/v1/topics", "GET, HEAD, POST"},
		{http.MethodPost, "/v1/comments", "GET, HEAD"},
		{http.MethodPost, base + "/1", "GET, HEAD, PATCH, DELETE"},
		{http.MethodPost, "/openapi.json", "GET, HEAD"},
		{http.MethodDelete, "/docs/index.html", "GET, HEAD"},
	} {
		r := c.want(c.do(tc.method, tc.path, nil), 405, tc.method+" "+tc.path)
		if got := r.Header.Get("Allow"); !sameMethods(got, tc.allow) {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
	}

	// Refused input changes nothing.
	for _, tc := range []struct {
		method, path string
		body         any
		status       int
	}{
		{http.MethodGet, "/v1", nil, 404},
		{http.MethodGet, "/v1/topics/not-a-uuid", nil, 400},
		{http.MethodGet, "/v1/topics/" + "00000000-0000-4000-8000-000000000000", nil, 404},
		{http.MethodGet, base + "/01", nil, 400},
		{http.MethodGet, base + "/99", nil, 404},
		{http.MethodGet, base + "?parent_id=x", nil, 400},
		{http.MethodGet, "/v1/topics?order=best", nil, 400},
		{http.MethodGet, "/v1/topics?order=hot&before=1", nil, 400},
		{http.MethodGet, "/v1/comments?order=new", nil, 400},
		{http.MethodDelete, base + "/1", `{"x":1}`, 400},
		{http.MethodPatch, base + "/1", `{"content":""}`, 400},
		{http.MethodPatch, base + "/99", `{"content":"x"}`, 404},
		{http.MethodPut, base + "/1/vote", `{"value":2,"user":"vic"}`, 400},
		{http.MethodPost, base, `{"content":"x","user":"u","parent_id":-1}`, 400},
		{http.MethodPost, "/v1/topics", `{"content":"x"}`, 400},
	} {
		c.want(c.do(tc.method, tc.path, tc.body), tc.status, fmt.Sprint(tc.method, " ", tc.path, " ", tc.body))
	}
	var after []map[string]any
	c.want(c.do(http.MethodGet, base, nil), 200, "thread at the end").JSON(t, &after)
	if len(after) != 6 || after[1]["content"] != "once" {
		t.Fatalf("thread at the end: %v", after)
	}
	if r := c.do(http.MethodHead, "/v1/topics", nil); r.Status != 200 || len(r.Body) != 0 {
		t.Fatalf("HEAD /v1/topics: %d %q", r.Status, r.Body)
	}
}

func sameMethods(a, b string) bool {
	set := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, x := range strings.Split(s, ",") {
			if x = strings.TrimSpace(x); x != "" && x != http.MethodOptions {
				m[x] = true
			}
		}
		return m
	}
	x, y := set(a), set(b)
	if len(x) != len(y) {
		return false
	}
	for k := range x {
		if !y[k] {
			return false
		}
	}
	return true
}

// do sends a request, checked against the API document.
func (s *stack) do(t *testing.T, method, url string, body any, headers ...string) stacktest.Response {
	t.Helper()
	return s.api.Do(t, method, url, body, headers...)
}
