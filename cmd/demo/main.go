// Command demo loads a few realistic threads through the public API, so a
// newcomer to a fresh stack (`make run`, then `make demo`) sees something.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// thread is a topic: its root, then replies as (parent index, user, text),
// where index 0 is the root and index i the i-th reply.
type thread struct {
	user, text string
	replies    []reply
}

type reply struct {
	parent     int
	user, text string
}

var threads = []thread{
	{"ada", "What is the one Postgres setting you always change on a new server?", []reply{
		{0, "linus", "shared_buffers. The default is tuned for a toaster."},
		{1, "grace", "And then effective_cache_size, or the planner keeps thinking you have no RAM."},
		{2, "linus", "Fair. Though I have seen people set it to the whole box and wonder about swapping."},
		{0, "ken", "random_page_cost on SSDs. 4 is a spinning-disk number."},
		{4, "ada", "This one bit us last year: index scans ignored until we set it to 1.1."},
		{0, "barbara", "log_min_duration_statement. You can't fix what you can't see."},
		{6, "grace", "+1, with auto_explain for the slow ones."},
	}},
	{"grace", "Show HN: a comment service that keeps every thread in memory", []reply{
		{0, "dennis", "How do readers stay consistent with the writer?"},
		{1, "grace", "They tail an event log by position; positions are handed out in commit order, so nothing is skipped."},
		{2, "dennis", "Serialized appends? What does that cost?"},
		{3, "grace", "One commit per batch of writes, not per write. Batching pays for it."},
		{0, "margaret", "What happens to a 50,000-comment thread?"},
		{5, "grace", "It pages: limit and after, with a Link header to the next page."},
	}},
	{"ken", "Tabs or spaces in 2026?", []reply{
		{0, "rob", "gofmt decided for me a long time ago."},
		{0, "bjarne", "Whatever the formatter says. Next question."},
		{2, "ken", "That is the correct answer."},
	}},
}

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "the public API")
	flag.Parse()
	var last float64
	for _, th := range threads {
		root := post(*base, "/post_comment", map[string]any{"user": th.user, "content": th.text})
		topic := root["topic_id"].(string)
		paths := []string{root["parent_path"].(string)}
		for _, r := range th.replies {
			res := post(*base, "/post_comment", map[string]any{
				"topic_id": topic, "parent_path": paths[r.parent], "user": r.user, "content": r.text,
			})
			paths = append(paths, res["parent_path"].(string))
			last = res["position"].(float64)
		}
		fmt.Printf("topic %s: %q, %d replies\n", topic, th.text, len(th.replies))
		// A few reads, so the view counters and the hot ranking move.
		for range 3 {
			get(fmt.Sprintf("%s/topic_comments?topic_id=%s&min_position=%.0f", *base, topic, last))
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Printf("\ntry:\n  curl -s %s/last_topics\n  curl -s %s/hot_topics\n  curl -s '%s/last_user_comments?user=grace'\n", *base, *base, *base)
}

func post(base, route string, body any) map[string]any {
	raw, _ := json.Marshal(body)
	res, err := http.Post(base+route, "application/json", bytes.NewReader(raw))
	fail(err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		fail(fmt.Errorf("POST %s: %d %s", route, res.StatusCode, b))
	}
	var m map[string]any
	fail(json.Unmarshal(b, &m))
	return m
}

func get(url string) {
	res, err := http.Get(url)
	fail(err)
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
}

func fail(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err, "(is the stack running? make run)")
		os.Exit(1)
	}
}
