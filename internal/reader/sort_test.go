package reader

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/reader/topictree"
)

// sortedTopic is a topic whose order differs by sort:
//
//	0
//	├ 0/1 (1 up)        ├ 0/1/4 (2 up)  └ 0/1/5 (5 up, 5 down)
//	├ 0/2 (10 up, 1 down)
//	└ 0/3 (3 up, 3 down)
func sortedTopic(t *testing.T) (*Projection, *log, comment.TopicID) {
	l := newLog()
	topic := comment.NewTopicID()
	for _, path := range []string{"0", "0/1", "0/2", "0/3", "0/1/4", "0/1/5"} {
		l.create(topic, path, "u")
	}
	l.vote(topic, "0/1", "v", 1, 0)
	l.vote(topic, "0/2", "v", 10, 1)
	l.vote(topic, "0/3", "v", 3, 3)
	l.vote(topic, "0/1/4", "v", 2, 0)
	l.vote(topic, "0/1/5", "v", 5, 5)
	p := newProj(t, 1<<30, nil)
	apply(t, p, l)
	return p, l, topic
}

// TestSortedThreads: each sort orders siblings and keeps pre-order, in
// whole topics, subtrees and pages; a vote moves its comment among its
// siblings; a new comment takes its place.
func TestSortedThreads(t *testing.T) {
	p, l, topic := sortedTopic(t)
	for _, c := range []struct {
		sort topictree.Sort
		want string
	}{
		{topictree.SortOld, "0 0/1 0/1/4 0/1/5 0/2 0/3"},
		{topictree.SortNew, "0 0/3 0/2 0/1 0/1/5 0/1/4"},
		{topictree.SortTop, "0 0/2 0/1 0/1/4 0/1/5 0/3"},
		// Wilson: 0/2 0.62, 0/1 0.21, 0/3 0.19; 0/1/4 0.34, 0/1/5 0.24.
		{topictree.SortBest, "0 0/2 0/1 0/1/4 0/1/5 0/3"},
		// 0/3 6^1, 0/2 11^0.1, 0/1 0; 0/1/5 10^1, 0/1/4 0.
		{topictree.SortControversial, "0 0/3 0/2 0/1 0/1/5 0/1/4"},
	} {
		t.Run(c.sort.String(), func(t *testing.T) {
			items, _ := query(t, p, TopicQuery{Topic: topic, Parent: comment.RootPath, Sort: c.sort})
			if got := strings.Join(paths(items), " "); got != c.want {
				t.Fatalf("whole topic %s, want %s", got, c.want)
			}
			// Pages of every size concatenate to the whole.
			for limit := 1; limit <= 6; limit++ {
				var got []string
				q := TopicQuery{Topic: topic, Parent: comment.RootPath, Limit: limit, Sort: c.sort}
				for {
					items, page := query(t, p, q)
					got = append(got, paths(items)...)
					if page.Next == nil {
						break
					}
					q.After = mustPath(string(page.Next))
				}
				if strings.Join(got, " ") != c.want {
					t.Fatalf("pages of %d give %v", limit, got)
				}
			}
			sub, _ := query(t, p, TopicQuery{Topic: topic, Parent: mustPath("0/1"), Sort: c.sort})
			want := slices.DeleteFunc(strings.Fields(c.want), func(s string) bool { return !strings.HasPrefix(s, "0/1") })
			if got := paths(sub); !slices.Equal(got, want) {
				t.Fatalf("subtree %v, want %v", got, want)
			}
		})
	}

	// 0/3 gets ten more up votes: first under top; 0/1/4 and a new reply
	// keep their places; the old order does not move.
	l.vote(topic, "0/3", "w", 13, 3)
	l.create(topic, "0/1/6", "u")
	apply(t, p, l)
	for sort, want := range map[topictree.Sort]string{
		topictree.SortOld: "0 0/1 0/1/4 0/1/5 0/1/6 0/2 0/3",
		topictree.SortTop: "0 0/3 0/2 0/1 0/1/4 0/1/5 0/1/6", // 0/1/5 (5−5) and 0/1/6 tie: older first
		topictree.SortNew: "0 0/3 0/2 0/1 0/1/6 0/1/5 0/1/4",
	} {
		items, _ := query(t, p, TopicQuery{Topic: topic, Parent: comment.RootPath, Sort: sort})
		if got := strings.Join(paths(items), " "); got != want {
			t.Fatalf("%s after a vote and a reply: %s, want %s", sort, got, want)
		}
	}
}

// TestSortedViews: a sorted page counts one view for each comment it
// returned, like any page, through the old-order runs it sends.
func TestSortedViews(t *testing.T) {
	p, l, topic := sortedTopic(t)
	var ranges []comment.ViewRange
	for _, q := range []TopicQuery{
		{Topic: topic, Parent: comment.RootPath, Sort: topictree.SortBest},                                    // all: one range
		{Topic: topic, Parent: comment.RootPath, Sort: topictree.SortBest, Limit: 3},                          // 0 0/2 0/1
		{Topic: topic, Parent: comment.RootPath, Sort: topictree.SortNew, After: mustPath("0/3"), Limit: 3},   // 0/2 0/1 0/1/5
		{Topic: topic, Parent: mustPath("0/1"), Sort: topictree.SortControversial},                            // 0/1 0/1/5 0/1/4
		{Topic: topic, Parent: comment.RootPath, Sort: topictree.SortControversial, After: mustPath("0/1/5")}, // 0/1/4
	} {
		_, page := query(t, p, q)
		if q.Limit == 0 && q.After == nil && len(page.Views) != 1 {
			t.Fatalf("%+v: a whole subtree in %d ranges", q, len(page.Views))
		}
		for _, v := range page.Views {
			ranges = append(ranges, comment.ViewRange{Topic: topic, First: mustPath(v.First), Last: mustPath(v.Last), MaxID: v.MaxID, Count: 1})
		}
	}
	l.views(ranges...)
	apply(t, p, l)
	want := map[string]int64{"0": 2, "0/1": 4, "0/1/4": 3, "0/1/5": 3, "0/2": 3, "0/3": 1}
	if got := viewsOf(t, p, topic); !mapsEqual(got, want) {
		t.Fatalf("view counts %v, want %v (ranges %v)", got, want, ranges)
	}
}

// TestSortedRenderWhileVoting: a large sorted page rendered a chunk at a
// time while votes reorder the siblings holds every comment once, and the
// order kept up by votes is the one a fresh reader builds from scratch.
func TestSortedRenderWhileVoting(t *testing.T) {
	l := newLog()
	topic := comment.NewTopicID()
	const n = 3 * renderChunk
	l.createFlat(topic, n)
	var history []comment.Event
	applyAll := func(p *Projection) {
		events := l.flush()
		history = append(history, events...)
		if err := p.Apply(events); err != nil {
			t.Fatal(err)
		}
	}
	p := newProj(t, 1<<30, nil)
	applyAll(p)
	query(t, p, TopicQuery{Topic: topic, Parent: mustPath("0/1"), Sort: topictree.SortTop}) // builds the order
	done := make(chan struct{})
	gate := make(chan struct{})
	p.betweenChunks = func() { <-gate } // a vote lands between every two chunks
	go func() {
		defer close(done)
		page, err := p.TopicComments(context.Background(), TopicQuery{Topic: topic, Parent: comment.RootPath, Sort: topictree.SortTop})
		if err != nil {
			t.Error(err)
			return
		}
		defer page.Done()
		seen := map[string]bool{}
		for _, it := range decodeQuiet(page.Bytes()) {
			if seen[it] {
				t.Errorf("%s twice", it)
			}
			seen[it] = true
		}
		if len(seen) != n {
			t.Errorf("%d comments, want %d", len(seen), n)
		}
	}()
	votes := 0
	for running := true; running; {
		select {
		case gate <- struct{}{}:
			votes++
			l.vote(topic, fmt.Sprintf("0/%d", n-votes), "v", int32(votes), 0) // the last ones rise
			applyAll(p)
		case <-done:
			running = false
		}
	}
	if votes < 2 {
		t.Fatalf("%d votes between chunks", votes)
	}
	p.betweenChunks = func() {}
	fresh := newProj(t, 1<<30, nil)
	if err := fresh.Apply(history); err != nil {
		t.Fatal(err)
	}
	kept, _ := query(t, p, TopicQuery{Topic: topic, Parent: comment.RootPath, Sort: topictree.SortTop})
	built, _ := query(t, fresh, TopicQuery{Topic: topic, Parent: comment.RootPath, Sort: topictree.SortTop})
	if !slices.Equal(paths(kept), paths(built)) || paths(kept)[1] != fmt.Sprintf("0/%d", n-votes) {
		t.Fatalf("kept order %v…, built %v…", paths(kept)[:4], paths(built)[:4])
	}
}

// decodeQuiet lists the paths of a page's items.
func decodeQuiet(b []byte) []string {
	var out []string
	for _, part := range strings.Split(string(b), `"parent_path":"`)[1:] {
		out = append(out, part[:strings.IndexByte(part, '"')])
	}
	return out
}

// TestTopCommentsScan: the site-wide ranking, scanned in steps that let go
// of the lock, lists exactly the best comments created after from_time,
// and a topic's own list agrees with it.
func TestTopCommentsScan(t *testing.T) {
	l := newLog()
	topic := comment.NewTopicID()
	const n = 3*scanStep + 10
	l.createFlat(topic, n)
	for i := 1; i < n; i++ {
		l.vote(topic, fmt.Sprintf("0/%d", i), "v", int32(i%7), 1) // scores -1..5
	}
	p := newProj(t, 1<<30, nil)
	apply(t, p, l)
	from := l.times[topic.String()+fmt.Sprintf("0/%d", n-20)].UnixMilli() // the last 19 comments
	var want []string
	for score := int32(5); score > 0; score-- {
		for i := n - 19; i < n; i++ {
			if int32(i%7)-1 == score {
				want = append(want, fmt.Sprintf("0/%d", i))
			}
		}
	}
	for _, in := range []*comment.TopicID{nil, &topic} {
		body, _, err := p.TopComments(context.Background(), in, from, 100)
		if err != nil {
			t.Fatal(err)
		}
		if got := paths(decode(t, body)); !slices.Equal(got, want) {
			t.Fatalf("topic %v: %v, want %v", in, got, want)
		}
	}
	body, _, _ := p.TopComments(context.Background(), nil, math.MinInt64, 3)
	if got := paths(decode(t, body)); !slices.Equal(got, []string{"0/6", "0/13", "0/20"}) {
		t.Fatalf("best three: %v", got)
	}
}

// TestOneSortedFull: a topic keeps its old-order whole rendering and one
// sorted one, the last made.
func TestOneSortedFull(t *testing.T) {
	l := newLog()
	topic := comment.NewTopicID()
	l.createFlat(topic, 2*renderChunk)
	p := newProj(t, 1<<30, nil)
	apply(t, p, l)
	held := func() (out []string) {
		for s := range p.topics[topic].sorts {
			if p.topics[topic].sorts[s].full.Load() != nil {
				out = append(out, topictree.Sort(s).String())
			}
		}
		return out
	}
	for _, s := range []topictree.Sort{topictree.SortOld, topictree.SortBest, topictree.SortTop} {
		query(t, p, TopicQuery{Topic: topic, Parent: comment.RootPath, Sort: s})
	}
	if got := held(); !slices.Equal(got, []string{"old", "top"}) {
		t.Fatalf("whole renderings held: %v", got)
	}
}
