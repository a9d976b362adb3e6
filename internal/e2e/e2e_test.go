package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley/parley/internal/stacktest"
)

// TestPublicAPI drives every endpoint through nginx as a client would.
func TestPublicAPI(t *testing.T) {
	s := newStack(t, stackOpts{})
	c := s.api.PostComment(t, s.nginx, "", "", "ann", "Hello through nginx")
	reply := s.api.PostComment(t, s.nginx, c.Topic, "0", "bob", "hi")
	s.api.Post(t, s.nginx, "/edit_comment", map[string]any{"topic_id": c.Topic, "parent_path": reply.Path, "content": "hi!"}, 200)
	del := s.api.Post(t, s.nginx, "/delete_comment", map[string]any{"topic_id": c.Topic, "parent_path": reply.Path}, 200)
	min := fmt.Sprintf("%.0f", del["position"].(float64))

	for _, u := range []string{
		"/topic_comments?topic_id=" + c.Topic,
		"/topic_comments?topic_id=" + c.Topic + "&parent_path=0/1&limit=1",
		"/last_user_comments?user=ann",
		"/last_topics",
		"/hot_topics",
	} {
		sep := "&"
		if !strings.Contains(u, "?") {
			sep = "?"
		}
		res := s.api.Get(t, s.nginx+u+sep+"min_position="+min)
		if res.Status != 200 || !strings.HasPrefix(string(res.Body), "[") || res.Header.Get("X-Log-Position") == "" {
			t.Errorf("GET %s: %d %s", u, res.Status, res.Body)
		}
	}
	items := s.api.Get(t, s.nginx+"/topic_comments?topic_id="+c.Topic+"&min_position="+min)
	var got []map[string]any
	items.JSON(t, &got)
	if len(got) != 2 || got[1]["deleted"] != true || got[1]["content"] != "" {
		t.Fatalf("topic after edit and delete: %s", items.Body)
	}
	if res := s.api.Do(t, http.MethodHead, s.nginx+"/last_topics", nil); res.Status != 200 || len(res.Body) != 0 {
		t.Fatalf("HEAD: %d %q", res.Status, res.Body)
	}
}

// TestVotesThroughNginx: votes through nginx reorder a thread under
// sort=best and show in every list, with paging in that order.
func TestVotesThroughNginx(t *testing.T) {
	s := newStack(t, stackOpts{})
	c := s.api.PostComment(t, s.nginx, "", "", "ann", "Which sort is best?")
	first := s.api.PostComment(t, s.nginx, c.Topic, "0", "bob", "old, always")
	second := s.api.PostComment(t, s.nginx, c.Topic, "0", "cy", "best, surely")
	order := func(min float64, sort string) string {
		var items []map[string]any
		s.api.Get(t, fmt.Sprintf("%s/topic_comments?topic_id=%s&sort=%s&min_position=%.0f", s.nginx, c.Topic, sort, min)).JSON(t, &items)
		var paths []string
		for _, it := range items {
			paths = append(paths, fmt.Sprintf("%s:%v/%v", it["parent_path"], it["up"], it["down"]))
		}
		return strings.Join(paths, " ")
	}
	if got := order(float64(second.Position), "best"); got != "0:0/0 "+first.Path+":0/0 "+second.Path+":0/0" {
		t.Fatalf("before votes: %s", got)
	}
	var last map[string]any
	for _, voter := range []string{"dee", "eve", "fay"} {
		last = s.api.Post(t, s.nginx, "/vote_comment", map[string]any{"topic_id": c.Topic, "parent_path": second.Path, "value": 1, "user": voter}, 200)
	}
	s.api.Post(t, s.nginx, "/vote_comment", map[string]any{"topic_id": c.Topic, "parent_path": first.Path, "value": -1, "user": "dee"}, 200)
	last = s.api.Post(t, s.nginx, "/vote_comment", map[string]any{"topic_id": c.Topic, "parent_path": first.Path, "value": 0, "user": "dee"}, 200)
	if last["up"] != 0.0 || last["down"] != 0.0 {
		t.Fatalf("withdrawn vote answered %v", last)
	}
	pos := last["position"].(float64)
	if got := order(pos, "best"); got != "0:0/0 "+second.Path+":3/0 "+first.Path+":0/0" {
		t.Fatalf("sort=best after votes: %s", got)
	}
	if got := order(pos, "old"); got != "0:0/0 "+first.Path+":0/0 "+second.Path+":3/0" {
		t.Fatalf("sort=old after votes: %s", got)
	}
	page := s.api.Get(t, fmt.Sprintf("%s/topic_comments?topic_id=%s&sort=best&limit=2&min_position=%.0f", s.nginx, c.Topic, pos))
	if link := page.Header.Get("Link"); !strings.Contains(link, "sort=best") || !strings.Contains(link, "after="+strings.ReplaceAll(second.Path, "/", "%2F")) {
		t.Fatalf("Link %q", link)
	}
	var top []map[string]any
	s.api.Get(t, fmt.Sprintf("%s/top_comments?min_position=%.0f", s.nginx, pos)).JSON(t, &top)
	if len(top) != 1 || top[0]["parent_path"] != second.Path || top[0]["up"] != 3.0 {
		t.Fatalf("top comments %v", top)
	}
	var votes []map[string]any
	s.api.Get(t, fmt.Sprintf("%s/user_votes?user=eve&min_position=%.0f", s.nginx, pos)).JSON(t, &votes)
	if len(votes) != 1 || votes[0]["vote"] != 1.0 || votes[0]["parent_path"] != second.Path {
		t.Fatalf("eve's votes %v", votes)
	}
}

// TestRoutingAndErrors: methods, unknown and internal paths, and the
// errors nginx produces itself, all JSON.
func TestRoutingAndErrors(t *testing.T) {
	s := newStack(t, stackOpts{})
	c := s.api.PostComment(t, s.nginx, "", "", "ann", "x")
	big := strings.Repeat("a", 500000)
	cases := []struct {
		method, path string
		body         any
		status       int
		allow        string
	}{
		{"POST", "/topic_comments?topic_id=" + c.Topic, "{}", 405, "GET, HEAD"},
		{"PUT", "/last_topics", nil, 405, "GET, HEAD"},
		{"DELETE", "/hot_topics", nil, 405, "GET, HEAD"},
		{"GET", "/post_comment", nil, 405, "POST"},
		{"HEAD", "/edit_comment", nil, 405, "POST"},
		{"PATCH", "/delete_comment", "{}", 405, "POST"},
		{"OPTIONS", "/post_comment", nil, 405, "POST"},
		{"POST", "/", "{}", 405, "GET, HEAD"}, // the web page (TestPageServed)
		{"GET", "/t", nil, 404, ""},
		{"GET", "/nope", nil, 404, ""},
		{"GET", "/internal/stats", nil, 404, ""},
		{"POST", "/internal/views", `{"ranges":[]}`, 404, ""},
		{"GET", "/metrics", nil, 404, ""},
		{"GET", "/debug/pprof/", nil, 404, ""},
		{"GET", "/healthz", nil, 404, ""},
		{"GET", "/readyz", nil, 404, ""},
		{"GET", "/topic_comments/extra", nil, 404, ""},
		{"GET", "/vote_comment", nil, 405, "POST"},
		{"POST", "/top_comments", "{}", 405, "GET, HEAD"},
		{"PUT", "/user_votes?user=ann", nil, 405, "GET, HEAD"},
		{"POST", "/post_comment", `{"content":"` + big + `","user":"a"}`, 413, ""},
		// Errors of the services pass through as they are.
		{"POST", "/post_comment", `{"content":`, 400, ""},
		{"GET", "/topic_comments?topic_id=6f1c0e0a-3d5e-4c1b-9a57-0b9d1c2e3f40", nil, 404, ""},
		{"GET", "/topic_comments?topic_id=" + c.Topic + "&limit=0", nil, 400, ""},
	}
	for _, tc := range cases {
		res := s.api.Do(t, tc.method, s.nginx+tc.path, tc.body)
		if res.Status != tc.status {
			t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, res.Status, res.Body, tc.status)
			continue
		}
		if tc.allow != "" && res.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, res.Header.Get("Allow"), tc.allow)
		}
		if !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s %s: Content-Type %q", tc.method, tc.path, res.Header.Get("Content-Type"))
		}
		if tc.method != "HEAD" {
			var body map[string]string
			res.JSON(t, &body)
			if body["error"] == "" {
				t.Errorf("%s %s: body %s has no error", tc.method, tc.path, res.Body)
			}
		}
	}
}

// TestShardingByTopic: each topic's reads go to one reader, and both
// readers get a share of the topics.
func TestShardingByTopic(t *testing.T) {
	s := newStack(t, stackOpts{})
	var topics []string
	var last stacktest.Comment
	for i := range 30 {
		last = s.api.PostComment(t, s.nginx, "", "", "ann", fmt.Sprint("topic ", i))
		topics = append(topics, last.Topic)
	}
	requests := func() []float64 {
		var out []float64
		for _, r := range s.readers {
			out = append(out, readerStats(t, r)["requests"])
		}
		return out
	}
	min := fmt.Sprint(last.Position)
	share := make([]int, len(s.readers))
	for _, topic := range topics {
		before := requests()
		for range 5 {
			if res := s.api.Get(t, s.nginx+"/topic_comments?topic_id="+topic+"&min_position="+min); res.Status != 200 {
				t.Fatalf("%d %s", res.Status, res.Body)
			}
		}
		after := requests()
		served := -1
		for i := range after {
			switch after[i] - before[i] {
			case 0:
			case 5:
				served = i
			default:
				t.Fatalf("topic %s: reader %d served %v of 5 reads", topic, i, after[i]-before[i])
			}
		}
		if served < 0 {
			t.Fatalf("topic %s: no reader served all 5 reads", topic)
		}
		share[served]++
	}
	for i, n := range share {
		if n == 0 {
			t.Fatalf("reader %d holds none of 30 topics: %v", i, share)
		}
	}
	t.Logf("topics per reader: %v", share)
}

// TestReaderKilledAndRejoining: GETs keep succeeding while one reader is
// killed (nginx retries them on the other), and the restarted reader
// takes its share again.
func TestReaderKilledAndRejoining(t *testing.T) {
	s := newStack(t, stackOpts{})
	topics := seedTopics(t, s, 20)
	served := func(i int) float64 { return readerStats(t, s.readers[i])["requests"] }
	before0, before1 := served(0), served(1)
	load := startReadLoad(s, topics, 4)
	gets := &load.gets
	// Both readers serve the GETs before one is killed under them.
	stacktest.Eventually(t, 15*time.Second, func() bool { return served(0) > before0+20 && served(1) > before1+20 })
	s.procs["reader1"].Kill()
	// GETs go on with reader1 down: each of the 20 topics is read several
	// times, so those reader1 served are retried on reader2 (failures are
	// counted and checked at the end).
	okAtKill := gets.ok.Load()
	stacktest.Eventually(t, 15*time.Second, func() bool { return gets.ok.Load() >= okAtKill+200 })
	// Writes go on meanwhile, and the surviving reader sees them.
	c := s.api.PostComment(t, s.nginx, topics[0], "0", "bob", "while reader1 is down")
	if res := s.api.Get(t, s.nginx+"/topic_comments?topic_id="+topics[0]+"&min_position="+fmt.Sprint(c.Position)); res.Status != 200 {
		t.Fatalf("read-your-write with a reader down: %d %s", res.Status, res.Body)
	}
	s.startReader(t, 0)
	before := readerStats(t, s.readers[0])["requests"]
	stacktest.Eventually(t, 15*time.Second, func() bool { return readerStats(t, s.readers[0])["requests"] > before+20 })
	load.halt()
	// Every write (the 20 roots, the reply) is on nginx and on each reader
	// once, the restarted one included.
	acked := make([]ackedTopic, len(topics))
	for i, topic := range topics {
		acked[i] = ackedTopic{TopicID: topic, Comments: []string{fmt.Sprint("topic ", i)}}
	}
	acked[0].Comments = append(acked[0].Comments, "while reader1 is down")
	lost, dup := 0, 0
	reports := verifyAcked(t, s, c.Position, acked)
	for _, r := range reports {
		lost, dup = max(lost, r.Missing), max(dup, r.Duplicated)
	}
	t.Logf("reader killed and restarted: GETs %d, failed GETs %d; writes acknowledged %d, lost %d, duplicated %d (on nginx and %d readers)",
		gets.sent(), gets.failed.Load(), len(topics)+1, lost, dup, len(s.readers))
	if gets.failed.Load() != 0 {
		t.Fatalf("%d of %d GETs failed while a reader was killed and restarted; first: %q", gets.failed.Load(), gets.sent(), gets.reasons())
	}
	for _, r := range reports {
		if r.Acknowledged != len(topics)+1 || r.Present != r.Acknowledged || r.Missing != 0 || r.Duplicated != 0 {
			t.Fatalf("verify %+v", r)
		}
	}
}

// TestPostRateLimit: POSTs beyond the per-address rate get a JSON 429.
func TestPostRateLimit(t *testing.T) {
	s := newStack(t, stackOpts{readers: 1, postRate: "1", postBurst: "2"})
	codes := map[int]int{}
	for range 10 {
		res := s.api.Do(t, http.MethodPost, s.nginx+"/post_comment", map[string]any{"content": "x", "user": "u"})
		codes[res.Status]++
		if res.Status == 429 && !strings.Contains(string(res.Body), `"error"`) {
			t.Fatalf("429 body %s", res.Body)
		}
	}
	if codes[201] < 1 || codes[429] < 5 {
		t.Fatalf("status counts %v, want a few 201 and the rest 429", codes)
	}
	// GETs are not limited.
	for range 20 {
		if res := s.api.Get(t, s.nginx+"/last_topics"); res.Status != 200 {
			t.Fatalf("GET limited: %d", res.Status)
		}
	}
}
