package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// seedLarge writes a topic of about n comments through nginx, fast: waves
// of posts sent in parallel (a reply needs its parent's path, so a wave
// waits for the one before). The shape is a thread's: top-level comments,
// a handful of replies under each, and some long chains deeper than the
// page indents. It answers the root and the last position.
func seedLarge(t *testing.T, s *stack, n int) (posted, int64) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	send := func(body map[string]any) (posted, error) {
		raw, _ := json.Marshal(body)
		res, err := client.Post(s.nginx+"/post_comment", "application/json", bytes.NewReader(raw))
		if err != nil {
			return posted{}, err
		}
		defer res.Body.Close()
		var p posted
		if res.StatusCode != http.StatusCreated {
			return p, fmt.Errorf("post: %d", res.StatusCode)
		}
		return p, json.NewDecoder(res.Body).Decode(&p)
	}
	root := post(t, s, "", "", "ann", "A thread of five thousand comments: does the page keep up?")
	// wave posts one comment under each parent path given, 32 at a time.
	wave := func(parents []string, text func(i int) string) []posted {
		out := make([]posted, len(parents))
		errs := make(chan error, len(parents))
		sem := make(chan struct{}, 32)
		var wg sync.WaitGroup
		for i, parent := range parents {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				p, err := send(map[string]any{"topic_id": root.Topic, "parent_path": parent, "content": text(i), "user": fmt.Sprintf("user%d", i%97)})
				if err != nil {
					errs <- err
					return
				}
				out[i] = p
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		return out
	}

	const chains, chainLen = 40, 8
	top := (n - 1 - chains*chainLen + 10) / 11 // each top-level comment and its ten replies, rounded up
	parents := make([]string, top)
	for i := range parents {
		parents[i] = "0"
	}
	firsts := wave(parents, func(i int) string {
		return fmt.Sprintf("Top-level comment %d. Lorem ipsum dolor sit amet, consectetur adipiscing elit.", i)
	})
	var last int64
	parents = parents[:0]
	for _, f := range firsts {
		for range 10 {
			parents = append(parents, f.Path)
		}
	}
	replies := wave(parents, func(i int) string { return fmt.Sprintf("Reply %d: sed do eiusmod tempor incididunt ut labore.", i) })
	ends := make([]string, chains)
	for i := range ends {
		ends[i] = replies[i*len(replies)/chains].Path
	}
	for level := range chainLen {
		got := wave(ends, func(i int) string { return fmt.Sprintf("Chain %d goes on, level %d.", i, level+3) })
		for i, p := range got {
			ends[i] = p.Path
			last = max(last, p.Position)
		}
	}
	for _, p := range append(firsts, replies...) {
		last = max(last, p.Position)
	}
	return root, last
}

// TestPageLargeTopic: a topic of 5,000 comments opens on its first page
// (the time to the first screen is logged, not asserted) and pages on with
// "Load more", focusing the first comment loaded; nothing is shown twice.
func TestPageLargeTopic(t *testing.T) {
	s := newStack(t, stackOpts{postRate: "100000", postBurst: "100000"})
	start := time.Now()
	root, last := seedLarge(t, s, 5000)
	s.settle(t, last)
	var counts []struct {
		Count int `json:"comment_count"`
	}
	s.api.Get(t, s.nginx+"/topic_counts?topic_id="+root.Topic).JSON(t, &counts)
	t.Logf("seeded %d comments in %v", counts[0].Count, time.Since(start).Round(time.Millisecond))
	if counts[0].Count < 5000 {
		t.Fatalf("the topic has %d comments", counts[0].Count)
	}

	p := newPageTab(t, s)
	// The first visit finds the topic's pages not yet rendered; later ones
	// find them cached, as a busy topic's would be.
	begin := time.Now()
	p.do("navigate", chromedp.Navigate(p.base+"/t/"+root.Topic))
	p.until(`document.querySelectorAll("#comments > li.comment").length > 0 && document.querySelector("#thread-status").textContent === ""`)
	t.Logf("time to first screen, first visit: %v", time.Since(begin).Round(time.Millisecond))
	begin = time.Now()
	p.do("navigate", chromedp.Navigate(p.base+"/t/"+root.Topic))
	p.until(`document.querySelectorAll("#comments > li.comment").length > 0 && document.querySelector("#thread-status").textContent === ""`)
	t.Logf("time to first screen of a %d-comment topic, next visit: %v (navigation to the first comments drawn)", counts[0].Count, time.Since(begin).Round(time.Millisecond))
	timing := evalJS[map[string]float64](p, `(() => { const n = performance.getEntriesByType("navigation")[0];
		const api = performance.getEntriesByType("resource").filter(e => e.name.includes("/comments?"))[0];
		return {domContentLoaded: n.domContentLoadedEventEnd, firstPageFetch: api ? api.duration : -1, firstPageBytes: api ? api.transferSize : -1, now: performance.now()} })()`)
	t.Logf("in the page: DOMContentLoaded at %.0f ms, first page of comments fetched in %.0f ms (%.0f bytes), drawn by %.0f ms",
		timing["domContentLoaded"], timing["firstPageFetch"], timing["firstPageBytes"], timing["now"])

	if h := evalJS[string](p, `document.querySelector("#comments-heading").textContent`); h != fmt.Sprintf("Comments (%s)", thousands(counts[0].Count-1)) {
		t.Errorf("heading %q", h)
	}
	shown := func() int { return evalJS[int](p, `document.querySelectorAll("#comments li.comment").length`) }
	first := shown()
	if first == 0 || first > 200 {
		t.Fatalf("the first page shows %d comments, want 1 to 200", first)
	}
	if !evalJS[bool](p, `!document.querySelector("#load-more").hidden`) {
		t.Fatal("no Load more button")
	}
	for range 3 {
		before := shown()
		t0 := time.Now()
		p.click("#load-more")
		p.until(fmt.Sprintf(`document.querySelectorAll("#comments li.comment").length > %d && !document.querySelector("#load-more").disabled`, before))
		t.Logf("load more: %d → %d comments in %v", before, shown(), time.Since(t0).Round(time.Millisecond))
		// On the first comment loaded, or, when the page's comments all wait
		// behind a fold, on the button that shows them (or a comment above).
		if !evalJS[bool](p, `document.activeElement?.matches("li.comment > article, button.more-replies")`) {
			t.Errorf("after Load more the focus is on %s, not on a comment loaded", evalJS[string](p, `document.activeElement?.outerHTML.slice(0, 120)`))
		}
	}
	if dup := evalJS[int](p, `(() => { const ids = Array.from(document.querySelectorAll("#comments li.comment"), li => li.id); return ids.length - new Set(ids).size })()`); dup != 0 {
		t.Errorf("%d comments shown twice", dup)
	}
	// Pre-order holds across pages: every reply sits in its parent's list.
	if bad := evalJS[int](p, `Array.from(document.querySelectorAll("#comments ul.replies > li.comment")).filter(li => !li.parentElement.closest("li.comment")).length`); bad != 0 {
		t.Errorf("%d replies outside their parent", bad)
	}
}

// thousands writes n with commas, as the page's toLocaleString("en") does.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
