package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/mmcdole/gofeed"

	"github.com/parley/parley/internal/stacktest"
)

// TestFeedsAndCounts drives the Atom feeds, /topic_counts and /v1/config
// through nginx, every exchange checked against the API document: a feed
// reader's view of a thread and of a user, a site's count of its pages'
// comments, and what a browser client learns of the deployment.
func TestFeedsAndCounts(t *testing.T) {
	s := newStack(t, stackOpts{})
	var seen int64
	post := func(body map[string]any) stacktest.Comment {
		t.Helper()
		m := s.api.Post(t, s.nginx, "/post_comment", body, http.StatusCreated)
		c := stacktest.Comment{Topic: m["topic_id"].(string), Path: m["parent_path"].(string), Position: int64(m["position"].(float64))}
		seen = max(seen, c.Position)
		return c
	}
	// get reads path at least as fresh as every write so far.
	get := func(path string, want int, headers ...string) stacktest.Response {
		t.Helper()
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		r := s.do(t, http.MethodGet, s.nginx+path+sep+"min_position="+strconv.FormatInt(seen, 10), nil, headers...)
		if r.Status != want {
			t.Fatalf("GET %s: %d %s, want %d", path, r.Status, r.Body, want)
		}
		return r
	}
	feed := func(path string) (*gofeed.Feed, stacktest.Response) {
		t.Helper()
		r := get(path, http.StatusOK)
		f, err := gofeed.NewParser().Parse(bytes.NewReader(r.Body))
		if err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, r.Body)
		}
		return f, r
	}

	const script = `<script>alert("x")</script>`
	root := post(map[string]any{"user": "ann", "content": "Launch day"})
	a := post(map[string]any{"topic_id": root.Topic, "user": "bob", "content": script})
	b := post(map[string]any{"topic_id": root.Topic, "parent_path": a.Path, "user": "ann", "content": "a reply to bob"})
	gone := post(map[string]any{"topic_id": root.Topic, "user": "bob", "content": "regrets"})
	del := s.api.Post(t, s.nginx, "/delete_comment", map[string]any{"topic_id": root.Topic, "parent_path": gone.Path}, http.StatusOK)
	seen = max(seen, int64(del["position"].(float64)))
	keyed := post(map[string]any{"topic_key": "https://site.example/p/1", "user": "cat", "content": "on page 1"})
	post(map[string]any{"topic_key": "https://site.example/p/1", "user": "ann", "content": "me too"})

	// The topic's feed: newest first, the deleted comment left out, the
	// script as text.
	f, r := feed("/feeds/topic?topic_id=" + root.Topic)
	if ct := r.Header.Get("Content-Type"); ct != "application/atom+xml; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if !bytes.Contains(r.Body, []byte(`&lt;script&gt;`)) || bytes.Contains(r.Body, []byte("<script")) {
		t.Errorf("the script is not escaped text:\n%s", r.Body)
	}
	if f.Title != "Comments on Launch day" || len(f.Items) != 3 {
		t.Fatalf("topic feed %q, %d entries:\n%s", f.Title, len(f.Items), r.Body)
	}
	nginx, _ := url.Parse(s.nginx)
	for i, w := range []struct{ path, user, content string }{{b.Path, "ann", "a reply to bob"}, {a.Path, "bob", script}, {root.Path, "ann", "Launch day"}} {
		it := f.Items[i]
		id := w.path[strings.LastIndex(w.path, "/")+1:]
		link, err := url.Parse(it.Link)
		if err != nil || it.Author == nil || it.Author.Name != w.user || it.Content != w.content ||
			link.Path != "/t/"+root.Topic || link.Fragment != "c"+id || link.Hostname() != nginx.Hostname() ||
			!strings.HasPrefix(it.GUID, "urn:uuid:") {
			t.Errorf("entry %d: %+v, link %s, want comment %s by %s", i, it, it.Link, w.path, w.user)
		}
	}
	again, r2 := feed("/feeds/topic?topic_id=" + root.Topic)
	for i := range again.Items {
		if again.Items[i].GUID != f.Items[i].GUID {
			t.Errorf("entry %d: id %s, then %s", i, f.Items[i].GUID, again.Items[i].GUID)
		}
	}
	if et := r2.Header.Get("ETag"); et == "" || et != r.Header.Get("ETag") {
		t.Errorf("ETags %q then %q", r.Header.Get("ETag"), et)
	} else {
		get("/feeds/topic?topic_id="+root.Topic, http.StatusNotModified, "If-None-Match", et)
	}
	if h := s.do(t, http.MethodHead, s.nginx+"/feeds/topic?topic_id="+root.Topic, nil); h.Status != http.StatusOK || len(h.Body) != 0 {
		t.Errorf("HEAD: %d", h.Status)
	}

	// By the site's key, the same as by id.
	fk, _ := feed("/feeds/topic?topic_key=" + url.QueryEscape("https://site.example/p/1"))
	fi, _ := feed("/feeds/topic?topic_id=" + keyed.Topic + "&limit=1")
	if len(fk.Items) != 2 || fk.Items[0].Content != "me too" || len(fi.Items) != 1 || fi.Items[0].GUID != fk.Items[0].GUID {
		t.Errorf("by key: %d entries, by id with limit=1: %d", len(fk.Items), len(fi.Items))
	}

	// A user's feed, across topics.
	uf, _ := feed("/feeds/user?user=ann")
	if uf.Title != "Comments by ann" || len(uf.Items) != 3 || uf.Items[0].Content != "me too" || uf.Items[2].Content != "Launch day" {
		t.Errorf("ann's feed %q: %d entries", uf.Title, len(uf.Items))
	}
	if link, err := url.Parse(uf.Link); err != nil || link.Path != "/u/ann" {
		t.Errorf("ann's page: %q", uf.Link)
	}
	if uf.Items[2].GUID != f.Items[2].GUID {
		t.Errorf("the root's id in ann's feed %s, in the topic's %s", uf.Items[2].GUID, f.Items[2].GUID)
	}

	// Counts for a site's list of pages: ids first, then keys; deleted
	// comments count, an unused key counts 0.
	var counts []struct {
		Topic string  `json:"topic_id"`
		Key   *string `json:"topic_key"`
		Count int     `json:"comment_count"`
	}
	q := url.Values{"topic_key": {"https://site.example/p/1", "https://site.example/p/2"}, "topic_id": {root.Topic}}
	cr := get("/topic_counts?"+q.Encode(), http.StatusOK)
	cr.JSON(t, &counts)
	if got := fmt.Sprint(len(counts), counts[0].Topic, counts[0].Key, counts[0].Count, counts[1].Topic, *counts[1].Key, counts[1].Count, counts[2].Count); got !=
		fmt.Sprint(3, root.Topic, (*string)(nil), 4, keyed.Topic, "https://site.example/p/1", 2, 0) {
		t.Errorf("counts: %s", cr.Body)
	}
	get("/topic_counts?"+q.Encode(), http.StatusNotModified, "If-None-Match", cr.Header.Get("ETag"))

	// The client's configuration.
	cfg := get("/v1/config", http.StatusOK)
	if string(cfg.Body) != `{"auth_mode":"none"}` || cfg.Header.Get("Cache-Control") != "max-age=60" {
		t.Errorf("/v1/config: %s %v", cfg.Body, cfg.Header)
	}

	// Refusals, as JSON errors the document lists.
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/feeds/topic", http.StatusBadRequest},
		{"/feeds/topic?topic_id=nope", http.StatusBadRequest},
		{"/feeds/topic?topic_id=" + root.Topic + "&limit=0", http.StatusBadRequest},
		{"/feeds/topic?topic_id=6f1c0e0a-3d5e-4c1b-9a57-0b9d1c2e3f40", http.StatusNotFound},
		{"/feeds/topic?topic_key=nobody", http.StatusNotFound},
		{"/feeds/user", http.StatusBadRequest},
		{"/feeds/user?user=" + strings.Repeat("x", 65), http.StatusBadRequest},
		{"/topic_counts", http.StatusBadRequest},
		{"/topic_counts?topic_id=nope", http.StatusBadRequest},
		{"/topic_counts?topic_key=", http.StatusBadRequest},
	} {
		if r := get(tc.path, tc.status); !bytes.HasPrefix(r.Body, []byte(`{"error":`)) {
			t.Errorf("GET %s: %s", tc.path, r.Body)
		}
	}
	for _, path := range []string{"/feeds/topic", "/feeds/user", "/topic_counts"} {
		if r := s.do(t, http.MethodPost, s.nginx+path, "{}"); r.Status != http.StatusMethodNotAllowed {
			t.Errorf("POST %s: %d", path, r.Status)
		}
	}
}
