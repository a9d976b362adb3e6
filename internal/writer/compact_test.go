package writer_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/pgtest"
	"github.com/parley/parley/internal/reader"
	"github.com/parley/parley/internal/stacktest"
	"github.com/parley/parley/internal/store"
)

// TestCompactViewsKeepsCounts (issue 13, point 5): view batches go to the
// writer while its ranges are folded into per-comment counts, again and
// again; afterwards a reader that followed the log and one loaded from the
// compacted store show every comment's exact count (the sum of the batches'
// ranges that cover it, by brute force), and the ranges are gone.
func TestCompactViewsKeepsCounts(t *testing.T) {
	db := pgtest.NewDatabase(t)
	cfg := testConfig(t, db)
	cfg.CompactInterval = 0 // compacted by the test, at its own pace
	w := startWriter(t, cfg)
	quiet := func(c *reader.Config) { c.ViewCounting = false }
	rcfg := stacktest.ReaderConfig(t, db, w)
	quiet(&rcfg)
	live := stacktest.StartReader(t, rcfg)

	rng := rand.New(rand.NewPCG(7, 7))
	type topicPaths struct {
		id    string
		paths []comment.Path
	}
	var topics []topicPaths
	for range 3 {
		root := stacktest.PostComment(t, w, "", "", "ann", "root")
		tp := topicPaths{id: root.Topic, paths: []comment.Path{comment.RootPath}}
		for range 25 {
			parent := tp.paths[rng.IntN(len(tp.paths))]
			c := stacktest.PostComment(t, w, root.Topic, parent.String(), "bob", "c")
			p, _ := comment.ParsePath(c.Path)
			tp.paths = append(tp.paths, p)
		}
		topics = append(topics, tp)
	}
	want := map[string]int64{} // topic/path → views
	var mu sync.Mutex
	batch := func(rng *rand.Rand) string {
		var parts []string
		mu.Lock()
		defer mu.Unlock()
		for range 1 + rng.IntN(4) {
			tp := topics[rng.IntN(len(topics))]
			a, b := tp.paths[rng.IntN(len(tp.paths))], tp.paths[rng.IntN(len(tp.paths))]
			if a.Compare(b) > 0 {
				a, b = b, a
			}
			// A range's max id is at least its ends' (the writer refuses
			// less), at most the topic's newest.
			low := max(a.ID(), b.ID())
			maxID := low + int32(rng.IntN(len(tp.paths)-int(low)))
			n := int64(1 + rng.IntN(9))
			parts = append(parts, fmt.Sprintf(`{"topic_id":%q,"first":%q,"last":%q,"max_id":%d,"count":%d}`, tp.id, a, b, maxID, n))
			for _, p := range tp.paths {
				if a.Compare(p) <= 0 && p.Compare(b) <= 0 && p.ID() <= maxID {
					want[tp.id+"/"+p.String()] += n
				}
			}
		}
		return `{"ranges":[` + strings.Join(parts, ",") + `]}`
	}
	send := func(body string) {
		if r := stacktest.Do(t, http.MethodPost, w+"/internal/views", body, "Authorization", "Bearer "+stacktest.InternalToken); r.Status != http.StatusOK {
			t.Errorf("views: %d %s", r.Status, r.Body)
		}
	}
	for range 30 {
		send(batch(rng))
	}

	app := store.NewAppender(pgtest.Pool(t, db), cfg.Store)
	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // flushes keep coming while ranges are folded
		defer wg.Done()
		rng := rand.New(rand.NewPCG(8, 8))
		for range 60 {
			send(batch(rng))
		}
	}()
	var folded int64
	for range 40 {
		_, n, err := app.CompactViews(ctx, 1, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		folded += n
	}
	wg.Wait()
	if _, n, err := app.CompactViews(ctx, 1, 0, 100); err != nil {
		t.Fatal(err)
	} else {
		folded += n
	}
	var left int
	_ = pgtest.Pool(t, db).QueryRow(ctx, `SELECT count(*) FROM view_ranges`).Scan(&left)
	if left != 0 || folded == 0 {
		t.Fatalf("%d ranges folded, %d left", folded, left)
	}

	var head int64
	_ = pgtest.Pool(t, db).QueryRow(ctx, `SELECT position FROM log_head`).Scan(&head)
	loaded := stacktest.StartReader(t, rcfg)
	for name, r := range map[string]*stacktest.Reader{"followed the log": live, "loaded after compaction": loaded} {
		r.WaitReady(t, head)
		for _, tp := range topics {
			var items []struct {
				Path  string `json:"parent_path"`
				Views int64  `json:"view_count"`
			}
			stacktest.Get(t, r.Base+"/topic_comments?topic_id="+tp.id).JSON(t, &items)
			for _, it := range items {
				if w := want[tp.id+"/"+it.Path]; it.Views != w {
					t.Errorf("reader that %s: %s %s shows %d views, want %d", name, tp.id[:8], it.Path, it.Views, w)
				}
			}
		}
	}
	t.Logf("%d ranges folded over 41 passes with 60 batches flushed meanwhile; both readers show every count", folded)
}

// TestCompactionWaitsForLargeTopics: a topic is folded once it has a range
// for every perComments of its comments, not before; a small topic at
// minRanges.
func TestCompactionWaitsForLargeTopics(t *testing.T) {
	db := pgtest.NewDatabase(t)
	cfg := testConfig(t, db)
	cfg.CompactInterval = 0
	w := startWriter(t, cfg)
	big := stacktest.PostComment(t, w, "", "", "ann", "root")
	for range 39 { // 40 comments: a range for every 8 is 5 ranges
		stacktest.PostComment(t, w, big.Topic, "0", "bob", "c")
	}
	small := stacktest.PostComment(t, w, "", "", "ann", "root")
	stacktest.PostComment(t, w, small.Topic, "0", "bob", "c") // two distinct ranges need two max ids
	send := func(topic string, from, to int) {                // ranges with max ids from…to-1, each its own row
		for i := from; i < to; i++ {
			body := fmt.Sprintf(`{"ranges":[{"topic_id":%q,"first":"0","last":"0","max_id":%d,"count":1}]}`, topic, i)
			if r := stacktest.Do(t, http.MethodPost, w+"/internal/views", body, "Authorization", "Bearer "+stacktest.InternalToken); r.Status != http.StatusOK {
				t.Fatalf("views: %d %s", r.Status, r.Body)
			}
		}
	}
	app := store.NewAppender(pgtest.Pool(t, db), cfg.Store)
	ctx := context.Background()
	fold := func() (int64, int64) {
		t.Helper()
		topics, ranges, err := app.CompactViews(ctx, 2, 8, 100)
		if err != nil {
			t.Fatal(err)
		}
		return topics, ranges
	}
	send(big.Topic, 0, 4)
	send(small.Topic, 0, 2)
	if topics, ranges := fold(); topics != 1 || ranges != 2 {
		t.Fatalf("folded %d topics, %d ranges; want only the small topic's 2", topics, ranges)
	}
	send(big.Topic, 4, 5)
	if topics, ranges := fold(); topics != 1 || ranges != 5 {
		t.Fatalf("folded %d topics, %d ranges; want the large topic's 5", topics, ranges)
	}
}
