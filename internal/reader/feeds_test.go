package reader_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"
	"github.com/mmcdole/gofeed/atom"

	"github.com/parley/parley/internal/reader"
	"github.com/parley/parley/internal/stacktest"
)

// parsedFeed is a feed answer parsed twice: as gofeed's universal feed (what
// feed readers see) and as Atom (what only Atom says, e.g. content types).
type parsedFeed struct {
	*gofeed.Feed
	atom *atom.Feed
	res  stacktest.Response
}

// getFeed fetches a feed, requires a 200 Atom answer and parses it.
func getFeed(t *testing.T, u string, headers ...string) parsedFeed {
	t.Helper()
	res := stacktest.Get(t, u, headers...)
	if res.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, res.Status, res.Body)
	}
	if ct := res.Header.Get("Content-Type"); ct != reader.AtomContentType {
		t.Fatalf("GET %s: Content-Type %q", u, ct)
	}
	f, err := gofeed.NewParser().Parse(bytes.NewReader(res.Body))
	if err != nil {
		t.Fatalf("GET %s: not a feed: %v\n%s", u, err, res.Body)
	}
	a, err := (&atom.Parser{}).Parse(bytes.NewReader(res.Body))
	if err != nil {
		t.Fatalf("GET %s: not Atom: %v", u, err)
	}
	if f.FeedType != "atom" || f.FeedVersion != "1.0" {
		t.Fatalf("GET %s: a %s %s feed, want Atom 1.0", u, f.FeedType, f.FeedVersion)
	}
	return parsedFeed{Feed: f, atom: a, res: res}
}

func (f parsedFeed) guids() []string {
	out := make([]string, len(f.Items))
	for i, it := range f.Items {
		out[i] = it.GUID
	}
	return out
}

func feedURL(base, route string, params ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		v.Add(params[i], params[i+1])
	}
	return base + route + "?" + v.Encode()
}

// postByKey posts a comment in the topic a site's key names.
func postByKey(t *testing.T, writer, key, user, content string) stacktest.Comment {
	t.Helper()
	m := stacktest.Post(t, writer, "/post_comment", map[string]any{"topic_key": key, "user": user, "content": content}, http.StatusCreated)
	return stacktest.Comment{Topic: m["topic_id"].(string), Path: m["parent_path"].(string), Position: int64(m["position"].(float64))}
}

// postOK posts an edit or a delete and returns its position.
func postOK(t *testing.T, writer, route string, body map[string]any) int64 {
	t.Helper()
	return int64(stacktest.Post(t, writer, route, body, http.StatusOK)["position"].(float64))
}

var urnUUID5 = regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestFeeds reads a topic's and a user's feeds as a feed reader does:
// newest comments first, deleted ones left out, text escaped as text, ids
// stable across fetches and readers, absolute links, ETag and HEAD, and no
// views counted.
func TestFeeds(t *testing.T) {
	e := newEnv(t)
	// Views are flushed only when the reader stops: what a request counted
	// stays pending, where the test sees it.
	r1 := e.reader(t, func(c *reader.Config) { c.ViewFlushInterval = time.Hour })
	r2 := e.reader(t)
	const xss = `<img src=x onerror=alert(1)>`
	long := "  " + strings.Repeat("é", 50) + "\n\n\t" + strings.Repeat("ü", 50)
	root := stacktest.PostComment(t, e.writer, "", "", "ann", "Hello   world:\nthe root")
	topic := root.Topic
	a := stacktest.PostComment(t, e.writer, topic, "0", "bob", xss)
	b := stacktest.PostComment(t, e.writer, topic, "0", "cat & co", "second reply")
	c := stacktest.PostComment(t, e.writer, topic, a.Path, "ann", long)
	d := stacktest.PostComment(t, e.writer, topic, "0", "bob", "to be deleted")
	postOK(t, e.writer, "/delete_comment", map[string]any{"topic_id": topic, "parent_path": d.Path})
	last := postOK(t, e.writer, "/edit_comment", map[string]any{"topic_id": topic, "parent_path": b.Path, "content": "second reply, edited"})
	r1.WaitReady(t, last)
	r2.WaitReady(t, last)

	f := getFeed(t, feedURL(r1.Base, "/feeds/topic", "topic_id", topic))
	host := strings.TrimPrefix(r1.Base, "http://")
	if !bytes.Contains(f.res.Body, []byte(`&lt;img src=x onerror=alert(1)&gt;`)) || bytes.Contains(f.res.Body, []byte("<img")) {
		t.Fatalf("the comment's markup is not escaped text:\n%s", f.res.Body)
	}
	if f.Title != "Comments on Hello world: the root" {
		t.Errorf("feed title %q", f.Title)
	}
	if f.atom.ID != "urn:uuid:"+topic {
		t.Errorf("feed id %q", f.atom.ID)
	}
	if want := "http://" + host + "/t/" + topic; f.Link != want {
		t.Errorf("alternate link %q, want %q", f.Link, want)
	}
	if want := feedURL(r1.Base, "/feeds/topic", "topic_id", topic); f.FeedLink != want {
		t.Errorf("self link %q, want %q", f.FeedLink, want)
	}
	type want struct {
		path, user, content, title string
		edited                     bool
	}
	wants := []want{ // newest first by create time; d is deleted
		{c.Path, "ann", long, strings.Repeat("é", 50) + " " + strings.Repeat("ü", 28) + "…", false}, // 80 characters
		{b.Path, "cat & co", "second reply, edited", "second reply, edited", true},
		{a.Path, "bob", xss, xss, false},
		{"0", "ann", "Hello   world:\nthe root", "Hello world: the root", false},
	}
	if len(f.Items) != len(wants) {
		t.Fatalf("%d entries, want %d:\n%s", len(f.Items), len(wants), f.res.Body)
	}
	seen := map[string]bool{}
	for i, w := range wants {
		it, ae := f.Items[i], f.atom.Entries[i]
		id := w.path[strings.LastIndex(w.path, "/")+1:]
		// gofeed trims text; the document holds it exactly.
		if it.Title != w.title || it.Content != strings.TrimSpace(w.content) || ae.Content.Type != "text" {
			t.Errorf("entry %d: title %q content %q (type %q), want %q %q", i, it.Title, it.Content, ae.Content.Type, w.title, w.content)
		}
		var exact bytes.Buffer
		_ = xml.EscapeText(&exact, []byte(w.content))
		if !bytes.Contains(f.res.Body, []byte(`<content type="text">`+exact.String()+`</content>`)) {
			t.Errorf("entry %d: the content is not there as it was written", i)
		}
		if len(it.Authors) != 1 || it.Authors[0].Name != w.user {
			t.Errorf("entry %d: authors %+v, want %s", i, it.Authors, w.user)
		}
		if want := "http://" + host + "/t/" + topic + "#c" + id; it.Link != want {
			t.Errorf("entry %d: link %q, want %q", i, it.Link, want)
		}
		if !urnUUID5.MatchString(it.GUID) {
			t.Errorf("entry %d: id %q is not the urn of a UUID version 5", i, it.GUID)
		}
		if it.PublishedParsed == nil || it.UpdatedParsed == nil || it.UpdatedParsed.Before(*it.PublishedParsed) ||
			w.edited != it.UpdatedParsed.After(*it.PublishedParsed) {
			t.Errorf("entry %d: published %s, updated %s (edited: %v)", i, it.Published, it.Updated, w.edited)
		}
		if i > 0 && f.Items[i-1].PublishedParsed.Before(*it.PublishedParsed) {
			t.Errorf("entry %d: published after the entry before it", i)
		}
		if seen[it.GUID] {
			t.Errorf("entry %d: id %s repeated", i, it.GUID)
		}
		seen[it.GUID] = true
	}
	if f.UpdatedParsed == nil || !f.UpdatedParsed.Equal(*f.Items[1].UpdatedParsed) {
		t.Errorf("feed updated %s, want the newest entry's, %s (the edit)", f.Updated, f.Items[1].Updated)
	}

	// Ids are the same on another fetch and on another reader; only the
	// links, made from the host asked, differ.
	again := getFeed(t, feedURL(r1.Base, "/feeds/topic", "topic_id", topic))
	other := getFeed(t, feedURL(r2.Base, "/feeds/topic", "topic_id", strings.ToUpper(topic)))
	if !bytes.Equal(again.res.Body, f.res.Body) || fmt.Sprint(other.guids()) != fmt.Sprint(f.guids()) {
		t.Errorf("ids not stable:\n%v\n%v", f.guids(), other.guids())
	}
	// The tag is the topic's version on that reader: stable while the
	// topic does not change. (A reader that loaded the topic from a
	// snapshot counts its version from there, so two readers may tag one
	// state differently.)
	if et := f.res.Header.Get("ETag"); et == "" || again.res.Header.Get("ETag") != et {
		t.Errorf("ETags %q and %q for one state on one reader", et, again.res.Header.Get("ETag"))
	}
	if f.res.Header.Get("X-Log-Position") == "" {
		t.Error("no X-Log-Position")
	}

	// 304 for the version held, HEAD without a body.
	u := feedURL(r1.Base, "/feeds/topic", "topic_id", topic)
	if res := stacktest.Get(t, u, "If-None-Match", f.res.Header.Get("ETag")); res.Status != http.StatusNotModified || len(res.Body) != 0 {
		t.Errorf("If-None-Match: %d %q", res.Status, res.Body)
	}
	if res := stacktest.Do(t, http.MethodHead, u, nil); res.Status != http.StatusOK || len(res.Body) != 0 ||
		res.Header.Get("Content-Type") != reader.AtomContentType || res.Header.Get("Content-Length") != fmt.Sprint(len(f.res.Body)) {
		t.Errorf("HEAD: %d %v %q", res.Status, res.Header, res.Body)
	}

	// limit, and the scheme a TLS proxy names.
	lim := getFeed(t, feedURL(r1.Base, "/feeds/topic", "topic_id", topic, "limit", "2"), "X-Forwarded-Proto", "https")
	if fmt.Sprint(lim.guids()) != fmt.Sprint(f.guids()[:2]) {
		t.Errorf("limit=2: %v", lim.guids())
	}
	if !strings.HasPrefix(lim.Link, "https://"+host+"/") || !strings.HasPrefix(lim.FeedLink, "https://"+host+"/feeds/topic?") ||
		!strings.HasPrefix(lim.Items[0].Link, "https://"+host+"/t/") {
		t.Errorf("X-Forwarded-Proto: https: links %q %q %q", lim.Link, lim.FeedLink, lim.Items[0].Link)
	}
	if evil := getFeed(t, u, "X-Forwarded-Proto", "javascript"); !strings.HasPrefix(evil.Link, "http://") {
		t.Errorf("X-Forwarded-Proto: javascript: link %q", evil.Link)
	}

	// A user's feed: newest update first, across topics, deleted left out.
	other2 := stacktest.PostComment(t, e.writer, "", "", "bob", "bob's own topic")
	r1.WaitReady(t, other2.Position)
	r2.WaitReady(t, other2.Position)
	uf := getFeed(t, feedURL(r1.Base, "/feeds/user", "user", "bob"))
	if uf.Title != "Comments by bob" || uf.Link != "http://"+host+"/u/bob" || !urnUUID5.MatchString(uf.atom.ID) {
		t.Errorf("user feed: title %q, link %q, id %q", uf.Title, uf.Link, uf.atom.ID)
	}
	if len(uf.Items) != 2 || uf.Items[0].Content != "bob's own topic" || uf.Items[1].Content != xss {
		t.Fatalf("bob's feed:\n%s", uf.res.Body)
	}
	if uf.Items[0].Link != "http://"+host+"/t/"+other2.Topic+"#c0" || uf.Items[1].GUID != f.Items[2].GUID {
		t.Errorf("bob's entries: %q %q, want the topic feed's id %q", uf.Items[0].Link, uf.Items[1].GUID, f.Items[2].GUID)
	}
	if again := getFeed(t, feedURL(r2.Base, "/feeds/user", "user", "bob")); again.atom.ID != uf.atom.ID ||
		fmt.Sprint(again.guids()) != fmt.Sprint(uf.guids()) {
		t.Errorf("the user feed's ids differ between readers")
	}
	odd := getFeed(t, feedURL(r1.Base, "/feeds/user", "user", "cat & co"))
	if odd.Link != "http://"+host+"/u/cat%20&%20co" || odd.Title != "Comments by cat & co" || len(odd.Items) != 1 {
		t.Errorf("user \"cat & co\": link %q title %q, %d entries", odd.Link, odd.Title, len(odd.Items))
	}
	if slash := getFeed(t, feedURL(r1.Base, "/feeds/user", "user", "a/b?c")); slash.Link != "http://"+host+"/u/a%2Fb%3Fc" {
		t.Errorf("user \"a/b?c\": link %q", slash.Link)
	}
	empty := getFeed(t, feedURL(r1.Base, "/feeds/user", "user", "nobody"))
	if len(empty.Items) != 0 || empty.UpdatedParsed == nil {
		t.Errorf("a user without comments: %s", empty.res.Body)
	}
	if et := uf.res.Header.Get("ETag"); et == "" {
		t.Error("user feed: no ETag")
	} else if res := stacktest.Get(t, feedURL(r1.Base, "/feeds/user", "user", "bob"), "If-None-Match", et); res.Status != http.StatusNotModified {
		t.Errorf("user feed If-None-Match: %d", res.Status)
	}

	// No feed counted a view; a page of the topic does.
	if n := r1.Views.Pending(); n != 0 {
		t.Errorf("%d view ranges pending after feeds only", n)
	}
	getItems(t, topicURL(r1.Base, topic))
	if r1.Views.Pending() == 0 {
		t.Error("a /topic_comments read counted no view: the check above proves nothing")
	}
}

// TestFeedByKeyAndEvicted: a topic named by its key, and topics whose trees
// are evicted, give the same feeds as resident ones.
func TestFeedByKeyAndEvicted(t *testing.T) {
	e := newEnv(t)
	big := e.reader(t)
	small := e.reader(t, func(c *reader.Config) { c.CacheMaxBytes = 1 })
	k := postByKey(t, e.writer, "https://blog.example/a-post", "ann", "the post's thread")
	var last stacktest.Comment
	for i := range 5 {
		last = stacktest.PostComment(t, e.writer, k.Topic, "0", fmt.Sprint("user", i%2), fmt.Sprint("reply ", i))
	}
	big.WaitReady(t, last.Position)
	small.WaitReady(t, last.Position)
	if st := small.Proj.Stats(); st.ResidentTrees != 0 {
		t.Fatalf("trees resident under a 1-byte bound: %+v", st)
	}
	byKey := getFeed(t, feedURL(big.Base, "/feeds/topic", "topic_key", "https://blog.example/a-post", "limit", "3"))
	byID := getFeed(t, feedURL(big.Base, "/feeds/topic", "topic_id", k.Topic, "limit", "3"))
	evicted := getFeed(t, feedURL(small.Base, "/feeds/topic", "topic_key", "https://blog.example/a-post", "limit", "3"))
	if len(byKey.Items) != 3 || byKey.Items[0].Content != "reply 4" || byKey.atom.ID != "urn:uuid:"+k.Topic {
		t.Fatalf("by key:\n%s", byKey.res.Body)
	}
	if fmt.Sprint(byKey.guids()) != fmt.Sprint(byID.guids()) || fmt.Sprint(evicted.guids()) != fmt.Sprint(byKey.guids()) ||
		evicted.Title != byKey.Title || evicted.Title != "Comments on the post's thread" {
		t.Errorf("feeds differ: by key %v, by id %v, evicted %v (%q)", byKey.guids(), byID.guids(), evicted.guids(), evicted.Title)
	}
	users := getFeed(t, feedURL(small.Base, "/feeds/user", "user", "user0"))
	if len(users.Items) != 3 || users.Items[0].Content != "reply 4" {
		t.Errorf("user0's feed with its topic evicted:\n%s", users.res.Body)
	}
}

// TestFeedErrors: every bad request is a JSON 400, an unknown topic 404.
func TestFeedErrors(t *testing.T) {
	e := newEnv(t)
	r := e.reader(t, func(c *reader.Config) { c.MinPositionWait = 50 * time.Millisecond })
	c := stacktest.PostComment(t, e.writer, "", "", "ann", "hello")
	r.WaitReady(t, c.Position)
	wantErrors(t, r.Base, []readError{
		{"/feeds/topic", 400, "topic_id or topic_key is required"},
		{"/feeds/topic?topic_id=", 400, "UUID"},
		{"/feeds/topic?topic_id=nope", 400, "UUID"},
		{"/feeds/topic?topic_id=" + c.Topic + "&topic_key=k", 400, "not both"},
		{"/feeds/topic?topic_key=", 400, "topic_key"},
		{"/feeds/topic?topic_key=" + strings.Repeat("k", 513), 400, "topic_key"},
		{"/feeds/topic?topic_key=a%01b", 400, "topic_key"},
		{"/feeds/topic?topic_key=%FF", 400, "topic_key"},
		{"/feeds/topic?topic_id=" + c.Topic + "&limit=0", 400, "limit"},
		{"/feeds/topic?topic_id=" + c.Topic + "&limit=-1", 400, "limit"},
		{"/feeds/topic?topic_id=" + c.Topic + "&limit=1.5", 400, "limit"},
		{"/feeds/topic?topic_id=" + c.Topic + "&limit=", 400, "limit"},
		{"/feeds/topic?topic_id=" + c.Topic + "&limit=ten", 400, "limit"},
		{"/feeds/topic?topic_id=" + c.Topic + "&min_position=x", 400, "min_position"},
		{"/feeds/topic?topic_id=" + c.Topic + "&min_position=-1", 400, "min_position"},
		{"/feeds/topic?topic_id=6f1c0e0a-3d5e-4c1b-9a57-0b9d1c2e3f40", 404, "topic not found"},
		{"/feeds/topic?topic_key=nobody-used-this-key", 404, "topic not found"},
		{fmt.Sprintf("/feeds/topic?topic_id=%s&min_position=%d", c.Topic, c.Position+1000), 503, "min_position"},
		{"/feeds/user", 400, "user is required"},
		{"/feeds/user?user=", 400, "user"},
		{"/feeds/user?user=" + strings.Repeat("a", 65), 400, "user"},
		{"/feeds/user?user=a%00b", 400, "control"},
		{"/feeds/user?user=%FF", 400, "UTF-8"},
		{"/feeds/user?user=ann&limit=0", 400, "limit"},
		{"/feeds/user?user=ann&limit=x", 400, "limit"},
		{"/feeds/user?user=ann&min_position=x", 400, "min_position"},
	})
	// Large limits are clamped, as on the lists.
	for _, u := range []string{"/feeds/topic?topic_id=" + c.Topic + "&limit=1000", "/feeds/user?user=ann&limit=1000"} {
		if f := getFeed(t, r.Base+u); len(f.Items) != 1 {
			t.Errorf("GET %s: %d entries", u, len(f.Items))
		}
	}
}
