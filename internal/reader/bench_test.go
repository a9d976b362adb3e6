package reader

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/reader/topictree"
)

// Micro-benchmarks of the reader's hot paths. Run them with
//
//	go test -run XXX -bench . ./internal/reader
//
// They need no database: state is built by applying hand-made events, as the
// unit tests in projection_test.go do.

// benchSink keeps the benchmarks' results alive, so the compiler cannot
// drop the work that produced them.
var benchSink int

// benchProj is newProj for benchmarks: an unbounded projection, ready.
func benchProj(b *testing.B) *Projection {
	p := NewProjection(math.MaxInt64, testHot, nil, zap.NewNop())
	p.prog.ready.Store(true)
	b.Cleanup(p.Close)
	return p
}

// benchTopic is a deterministic topic id.
func benchTopic(i int) comment.TopicID {
	var id comment.TopicID
	binary.BigEndian.PutUint64(id[:8], 0x6f1c0e0a3d5e4c1b)
	binary.BigEndian.PutUint64(id[8:], uint64(i))
	return id
}

var benchUsers = func() []string {
	u := make([]string, 100)
	for i := range u {
		u[i] = fmt.Sprintf("user%d", i)
	}
	return u
}()

// benchText is n bytes of plain ASCII prose, nothing to escape.
func benchText(n int) string {
	const words = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore. "
	return strings.Repeat(words, n/len(words)+1)[:n]
}

// benchEscaped is n bytes of prose with a few characters JSON or the HTML
// safety rules escape, and some multi-byte ones that pass through.
func benchEscaped(n int) string {
	const head = "He said \"hi\" <b>&</b>\nthen left\tthe café\u2028naïve — "
	return head + benchText(n-len(head))
}

// benchPaths gives the paths of an n-comment topic, ids 0..n-1, in one of
// these shapes:
//
//	root: every comment replies to the root
//	deep: reply chains 99 levels deep (the writer's limit), one after another
//	mix:  30% replies to the root, 40% to a random earlier comment, 30% to
//	      the previous one, at most 60 deep
func benchPaths(n int, shape string) []comment.Path {
	rng := rand.New(rand.NewPCG(1, 2))
	paths := make([]comment.Path, n)
	paths[0] = comment.RootPath
	for i := 1; i < n; i++ {
		parent := 0
		switch shape {
		case "root":
		case "deep":
			if paths[i-1].Depth() < 99 {
				parent = i - 1
			}
		case "mix":
			switch r := rng.IntN(10); {
			case r < 3:
			case r < 7:
				parent = rng.IntN(i)
			default:
				parent = i - 1
			}
			if paths[parent].Depth() >= 60 {
				parent = 0
			}
		default:
			panic("unknown shape " + shape)
		}
		paths[i] = paths[parent].Child(int32(i))
	}
	return paths
}

// push appends an event at the log's next position with the time given: a
// writer batch gives all its events one time.
func push(l *log, e comment.Event, at time.Time) {
	l.pos++
	e.Position, e.At = l.pos, at
	l.at = at
	l.events = append(l.events, e)
}

// createTopic logs the comments at paths as one topic, one second apart.
func createTopic(l *log, id comment.TopicID, paths []comment.Path, content string) {
	for i, p := range paths {
		l.add(comment.Event{Kind: comment.EventCreated, Topic: id,
			Created: &comment.Created{Path: p, User: benchUsers[i%len(benchUsers)], Content: content}})
	}
}

func benchApply(b *testing.B, p *Projection, l *log) {
	b.Helper()
	if err := p.Apply(l.flush()); err != nil {
		b.Fatal(err)
	}
}

// pathAt returns the path of the i-th comment of t in tree order.
func pathAt(t *topic, i int) comment.Path {
	var path string
	t.tree.Walk(func(n *topictree.Node) bool {
		path = n.Path()
		i--
		return i >= 0
	})
	return mustPath(path)
}

// lastPath returns the path of t's last comment in tree order.
func lastPath(t *topic) comment.Path { return pathAt(t, t.tree.Len()-1) }

// BenchmarkTreeInsert appends 1000 comments (100-byte contents) to an empty
// tree per op; ns/comment is the cost of one insert.
func BenchmarkTreeInsert(b *testing.B) {
	const n = 1000
	content := benchText(100)
	for _, shape := range []string{"root", "deep", "mix"} {
		b.Run(shape, func(b *testing.B) {
			paths := benchPaths(n, shape)
			b.ReportAllocs()
			events := make([]comment.Event, len(paths))
			for i, p := range paths {
				events[i] = comment.Event{Kind: comment.EventCreated, At: t0, Created: &comment.Created{Path: p, User: "alice", Content: content}}
			}
			for b.Loop() {
				tr := topictree.New()
				for i := range events {
					if err := tr.Apply(&events[i], nil); err != nil {
						b.Fatal(err)
					}
				}
				benchSink += tr.Len()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/comment")
		})
	}
}

// BenchmarkRenderPage answers /topic_comments through TopicComments:
//
//	small20:    a 20-comment topic with 150-byte contents, whole
//	full50k:    a 50,000-comment topic (100-byte contents), whole
//	page100mid: 100 comments after the 25,000th of that topic
//
// miss clears the topic's render cache before each call, so the page is
// encoded; hit is the normal path for an unchanged topic.
func BenchmarkRenderPage(b *testing.B) {
	p := benchProj(b)
	l := newLog()
	small, big := benchTopic(1), benchTopic(2)
	createTopic(l, small, benchPaths(20, "mix"), benchText(150))
	createTopic(l, big, benchPaths(50000, "mix"), benchText(100))
	benchApply(b, p, l)
	bigT := p.topics[big]

	cases := []struct {
		name  string
		q     TopicQuery
		items int
	}{
		{"small20", TopicQuery{Topic: small, Parent: comment.RootPath}, 20},
		{"full50k", TopicQuery{Topic: big, Parent: comment.RootPath}, 50000},
		{"page100mid", TopicQuery{Topic: big, Parent: comment.RootPath, After: pathAt(bigT, 25000), Limit: 100}, 100},
	}
	ctx := context.Background()
	for _, c := range cases {
		t := p.topics[c.q.Topic]
		page, err := p.TopicComments(ctx, c.q)
		if err != nil {
			b.Fatal(err)
		}
		var items []json.RawMessage
		if err := json.Unmarshal(page.Bytes(), &items); err != nil || len(items) != c.items {
			b.Fatalf("%s: %d items, %v; want %d", c.name, len(items), err, c.items)
		}
		for _, mode := range []string{"miss", "hit"} {
			b.Run(c.name+"/"+mode, func(b *testing.B) {
				if mode == "miss" { // a hit copies no bytes: it returns the cached body
					b.SetBytes(int64(len(page.Bytes())))
				}
				b.ReportAllocs()
				for b.Loop() {
					if mode == "miss" {
						uncache(t)
					}
					pg, err := p.TopicComments(ctx, c.q)
					if err != nil {
						b.Fatal(err)
					}
					benchSink += len(pg.Chunks)
					pg.Done()
				}
			})
		}
	}
}

// BenchmarkApplyEvents applies the log to the projection.
//
// created: batches of new comments (150-byte contents, 100 users) replying
// into 16 topics of a projection holding 16 or 10,000 topics, alternately
// to the root and to the topic's previous comment (at most 8 deep). All
// events of a batch have one time, as a writer batch does. ns/event is the
// cost of one event.
//
// views: one views event over a 1,000-comment topic, with one range
// covering the whole topic or ten ranges of 100 comments each.
func BenchmarkApplyEvents(b *testing.B) {
	for _, c := range []struct{ topics, batch int }{{16, 256}, {10000, 256}, {10000, 1}} {
		b.Run(fmt.Sprintf("created/topics=%d/batch=%d", c.topics, c.batch), func(b *testing.B) {
			benchApplyCreated(b, c.topics, c.batch)
		})
	}

	p := benchProj(b)
	l := newLog()
	id := benchTopic(1)
	createTopic(l, id, benchPaths(1000, "mix"), benchText(100))
	benchApply(b, p, l)
	t := p.topics[id]
	whole := []comment.ViewRange{{Topic: id, First: comment.RootPath, Last: lastPath(t), MaxID: 999, Count: 1}}
	var pages []comment.ViewRange
	for i := 0; i < 1000; i += 100 {
		pages = append(pages, comment.ViewRange{Topic: id, First: pathAt(t, i), Last: pathAt(t, i+99), MaxID: 999, Count: 1})
	}
	for _, c := range []struct {
		name   string
		ranges []comment.ViewRange
	}{{"views/whole1000", whole}, {"views/pages10x100", pages}} {
		b.Run(c.name, func(b *testing.B) {
			at := l.at.Add(time.Second)
			push(l, comment.Event{Kind: comment.EventViews, Views: &comment.Views{Ranges: c.ranges}}, at)
			events := l.flush()
			before := t.root().Views()
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Apply(events); err != nil {
					b.Fatal(err)
				}
				l.pos++
				events[0].Position = l.pos
			}
			l.pos = p.Applied()
			if got := t.root().Views() - before; got != int64(b.N) {
				b.Fatalf("root counted %d views, want %d", got, b.N)
			}
			benchSink += int(t.root().Views())
		})
	}
}

func benchApplyCreated(b *testing.B, topics, batch int) {
	const (
		active      = 16
		epochEvents = 25600 // events per projection before it is rebuilt, to bound memory
	)
	content := benchText(150)
	var (
		p       *Projection
		batches [][]comment.Event
		k       int
	)
	reset := func() {
		if p != nil {
			p.Close()
		}
		p = NewProjection(math.MaxInt64, testHot, nil, zap.NewNop())
		p.prog.ready.Store(true)
		l := newLog()
		for i := range topics {
			createTopic(l, benchTopic(i), []comment.Path{comment.RootPath}, content)
		}
		if err := p.Apply(l.flush()); err != nil {
			b.Fatal(err)
		}
		nextID := make([]int32, active)
		last := make([]comment.Path, active)
		for j := range active {
			nextID[j], last[j] = 1, comment.RootPath
		}
		batches = batches[:0]
		for i := 0; i < epochEvents; {
			at := l.at.Add(time.Second)
			for range batch {
				j := i % active
				parent := comment.RootPath
				if nextID[j]%2 == 0 && last[j].Depth() < 8 {
					parent = last[j]
				}
				path := parent.Child(nextID[j])
				nextID[j]++
				last[j] = path
				push(l, comment.Event{Kind: comment.EventCreated, Topic: benchTopic(j * (topics / active)),
					Created: &comment.Created{Path: path, User: benchUsers[i%len(benchUsers)], Content: content}}, at)
				i++
			}
			batches = append(batches, l.flush())
		}
		k = 0
	}
	reset()
	b.Cleanup(func() { p.Close() })
	b.ReportAllocs()
	for b.Loop() {
		if k == len(batches) {
			b.StopTimer()
			reset()
			b.StartTimer()
		}
		if err := p.Apply(batches[k]); err != nil {
			b.Fatal(err)
		}
		k++
	}
	if got := len(p.topics); got != topics {
		b.Fatalf("%d topics, want %d", got, topics)
	}
	benchSink += int(p.Applied())
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/event")
}

// listsProj is a projection with 10,000 topics of 5 comments each (100-byte
// contents). "heavy" posts one reply in every topic; the other comments are
// by 100 users. Comments are one second apart.
func listsProj(b *testing.B) *Projection {
	p := benchProj(b)
	l := newLog()
	content := benchText(100)
	for i := range 10000 {
		id := benchTopic(i)
		for j, path := range []string{"0", "0/1", "0/2", "0/1/3", "0/4"} {
			user := benchUsers[(i*5+j)%len(benchUsers)]
			if j == 1 {
				user = "heavy"
			}
			l.add(comment.Event{Kind: comment.EventCreated, Topic: id,
				Created: &comment.Created{Path: mustPath(path), User: user, Content: content}})
		}
	}
	benchApply(b, p, l)
	return p
}

// BenchmarkUserComments answers /last_user_comments for the newest 10 and
// 100 comments of a user with 10,000 (one per topic, all trees resident).
func BenchmarkUserComments(b *testing.B) {
	p := listsProj(b)
	ctx := context.Background()
	for _, limit := range []int{10, 100} {
		b.Run(fmt.Sprintf("limit=%d", limit), func(b *testing.B) {
			l, err := p.UserComments(ctx, "heavy", Window{From: 0, Before: math.MaxInt64, Limit: limit})
			body := l.Body
			var items []item
			if err != nil || json.Unmarshal(body, &items) != nil || len(items) != limit {
				b.Fatalf("%d items, %v", len(items), err)
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				l, err := p.UserComments(ctx, "heavy", Window{From: 0, Before: math.MaxInt64, Limit: limit})
				body := l.Body
				if err != nil {
					b.Fatal(err)
				}
				benchSink += len(body)
			}
		})
	}
}

// BenchmarkLastTopics answers /last_topics for the 10 and 100 most recently
// active of 10,000 topics.
func BenchmarkLastTopics(b *testing.B) {
	p := listsProj(b)
	for _, limit := range []int{10, 100} {
		b.Run(fmt.Sprintf("limit=%d", limit), func(b *testing.B) {
			body := p.LastTopics(Window{From: 0, Before: math.MaxInt64, Limit: limit}).Body
			var items []item
			if json.Unmarshal(body, &items) != nil || len(items) != limit {
				b.Fatalf("%d items in %s", len(items), body)
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				body = p.LastTopics(Window{From: 0, Before: math.MaxInt64, Limit: limit}).Body
				benchSink += len(body)
			}
		})
	}
}

// BenchmarkHotTopics answers /hot_topics for the 10 and 100 hottest of
// 10,000 topics.
func BenchmarkHotTopics(b *testing.B) {
	p := listsProj(b)
	now := t0.Add(24 * time.Hour)
	for _, limit := range []int{10, 100} {
		b.Run(fmt.Sprintf("limit=%d", limit), func(b *testing.B) {
			body, _ := p.HotTopics(limit, now)
			var items []item
			if json.Unmarshal(body, &items) != nil || len(items) != limit {
				b.Fatalf("%d items in %s", len(items), body)
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				body, _ := p.HotTopics(limit, now)
				benchSink += len(body)
			}
		})
	}
}
