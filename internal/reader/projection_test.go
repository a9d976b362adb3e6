package reader

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
	"github.com/parley/parley/internal/reader/topictree"
	"github.com/parley/parley/internal/store"
)

// These are unit tests of the projection as pure logic: events in, answers
// out. Loading evicted trees goes through a fake topicSource backed by a
// second, unbounded projection. The same behaviour against Postgres and a
// real writer is in reader_test.go.

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

var testHot = hotParams{halfLife: 3600, commentWeight: 5, viewWeight: 1}

// log builds events with consecutive positions.
type log struct {
	pos    int64
	at     time.Time
	events []comment.Event
	users  map[string]string // "topic/path" -> user, for edits and deletes
	times  map[string]time.Time
}

func newLog() *log {
	return &log{at: t0, users: map[string]string{}, times: map[string]time.Time{}}
}

func (l *log) add(e comment.Event) {
	l.pos++
	l.at = l.at.Add(time.Second)
	e.Position, e.At = l.pos, l.at
	l.events = append(l.events, e)
}

func (l *log) create(topic comment.TopicID, path, user string) {
	l.createText(topic, path, user, "c"+path)
}

// createFlat creates a topic of n comments: its root and n-1 replies to it.
func (l *log) createFlat(topic comment.TopicID, n int) {
	l.create(topic, "0", "u")
	for j := 1; j < n; j++ {
		l.create(topic, fmt.Sprintf("0/%d", j), "u")
	}
}

func (l *log) createText(topic comment.TopicID, path, user, content string) {
	p := mustPath(path)
	l.add(comment.Event{Kind: comment.EventCreated, Topic: topic,
		Created: &comment.Created{Path: p, User: user, Content: content}})
	l.users[topic.String()+path] = user
	l.times[topic.String()+path] = l.at
}

func (l *log) edit(topic comment.TopicID, path, content string) {
	k := topic.String() + path
	l.add(comment.Event{Kind: comment.EventEdited, Topic: topic,
		Edited: &comment.Edited{Path: mustPath(path), Content: content, User: l.users[k], Was: l.times[k]}})
	l.times[k] = l.at
}

func (l *log) del(topic comment.TopicID, path string) {
	k := topic.String() + path
	l.add(comment.Event{Kind: comment.EventDeleted, Topic: topic,
		Deleted: &comment.Deleted{Path: mustPath(path), User: l.users[k], Was: l.times[k]}})
}

// vote sets the counts of the comment at path, as a vote by voter would.
func (l *log) vote(topic comment.TopicID, path, voter string, up, down int32) {
	l.add(comment.Event{Kind: comment.EventVoted, Topic: topic,
		Voted: &comment.Voted{Path: mustPath(path), Voter: voter, Value: 1, Up: up, Down: down, Created: l.times[topic.String()+path]}})
}

func (l *log) views(rs ...comment.ViewRange) {
	l.add(comment.Event{Kind: comment.EventViews, Views: &comment.Views{Ranges: rs}})
}

// flush returns the events not handed out yet.
func (l *log) flush() []comment.Event {
	e := l.events
	l.events = nil
	return e
}

func mustPath(s string) comment.Path {
	p, err := comment.ParsePath(s)
	if err != nil {
		panic(err)
	}
	return p
}

func newProj(t *testing.T, maxBytes int64, src topicSource) *Projection {
	p := NewProjection(maxBytes, testHot, src, zap.NewNop())
	p.prog.ready.Store(true)
	t.Cleanup(p.Close)
	return p
}

func apply(t *testing.T, p *Projection, l *log) {
	t.Helper()
	if err := p.Apply(l.flush()); err != nil {
		t.Fatal(err)
	}
}

type item struct {
	ID         int32   `json:"comment_id"`
	ParentID   *int32  `json:"parent_id"`
	ParentPath string  `json:"parent_path"`
	User       string  `json:"user"`
	Content    string  `json:"content"`
	Views      int64   `json:"view_count"`
	Create     string  `json:"create_time"`
	Update     string  `json:"update_time"`
	Deleted    bool    `json:"deleted"`
	TopicID    string  `json:"topic_id"`
	Count      int     `json:"comment_count"`
	Score      float64 `json:"score"`
}

func decode(t *testing.T, b []byte) []item {
	t.Helper()
	var items []item
	if err := json.Unmarshal(b, &items); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	return items
}

func paths(items []item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.ParentPath
	}
	return out
}

func query(t *testing.T, p *Projection, q TopicQuery) ([]item, TopicPage) {
	t.Helper()
	page, err := p.TopicComments(context.Background(), q)
	if err != nil {
		t.Fatalf("%+v: %v", q, err)
	}
	page.Done()
	return decode(t, page.Bytes()), page
}

// bigTopic has 12 replies to the root, 12 replies to 0/3 and 11 to 0/3/13,
// so siblings with one- and two-digit ids sit at three depths.
func bigTopic(l *log, topic comment.TopicID) []string {
	l.create(topic, "0", "root")
	var all []string
	for i := 1; i <= 12; i++ {
		l.create(topic, fmt.Sprintf("0/%d", i), "u")
	}
	for i := 13; i <= 24; i++ {
		l.create(topic, fmt.Sprintf("0/3/%d", i), "u")
	}
	for i := 25; i <= 35; i++ {
		l.create(topic, fmt.Sprintf("0/3/13/%d", i), "u")
	}
	l.create(topic, "0/12/36", "u")
	for _, e := range l.events {
		all = append(all, e.Created.Path.String())
	}
	slices.SortFunc(all, func(a, b string) int { return mustPath(a).Compare(mustPath(b)) })
	return all
}

func TestTreeOrderAndSubtrees(t *testing.T) {
	l := newLog()
	topic := comment.NewTopicID()
	want := bigTopic(l, topic)
	p := newProj(t, 1<<30, nil)
	apply(t, p, l)

	items, _ := query(t, p, TopicQuery{Topic: topic, Parent: comment.RootPath})
	if got := paths(items); !slices.Equal(got, want) {
		t.Fatalf("tree order\n got %v\nwant %v", got, want)
	}
	// Spot-check that numeric, not string, order holds: 0/3's subtree comes
	// between 0/2 and 0/4, and 0/10 after 0/9.
	if !strings.Contains(strings.Join(want, " "), "0/2 0/3 0/3/13 0/3/13/25") || !strings.Contains(strings.Join(want, " "), "0/9 0/10 0/11 0/12 0/12/36") {
		t.Fatalf("unexpected order %v", want)
	}
	if items[0].ParentID == nil || *items[0].ParentID != 0 || *items[1].ParentID != 0 || items[0].User != "root" {
		t.Fatalf("root item %+v, first reply %+v", items[0], items[1])
	}

	for _, sub := range []string{"0/3", "0/3/13", "0/3/13/30", "0/12", "0/11"} {
		items, _ := query(t, p, TopicQuery{Topic: topic, Parent: mustPath(sub)})
		var wantSub []string
		for _, w := range want {
			if mustPath(w).Within(mustPath(sub)) {
				wantSub = append(wantSub, w)
			}
		}
		if got := paths(items); !slices.Equal(got, wantSub) {
			t.Errorf("subtree %s: got %v, want %v", sub, got, wantSub)
		}
	}
	for _, missing := range []string{"0/99", "0/13", "0/3/25"} {
		_, err := p.TopicComments(context.Background(), TopicQuery{Topic: topic, Parent: mustPath(missing)})
		if !errors.Is(err, errs.NotFound) {
			t.Errorf("subtree %s: %v, want not found", missing, err)
		}
	}
	if _, err := p.TopicComments(context.Background(), TopicQuery{Topic: comment.NewTopicID(), Parent: comment.RootPath}); !errors.Is(err, errs.NotFound) {
		t.Errorf("unknown topic: %v", err)
	}
}

func TestPaging(t *testing.T) {
	l := newLog()
	topic := comment.NewTopicID()
	want := bigTopic(l, topic)
	p := newProj(t, 1<<30, nil)
	apply(t, p, l)

	for _, sub := range []string{"0", "0/3"} {
		for _, limit := range []int{1, 2, 5, 7, 36, 100} {
			var got []string
			var after comment.Path
			for pages := 0; ; pages++ {
				if pages > 40 {
					t.Fatal("paging does not end")
				}
				items, page := query(t, p, TopicQuery{Topic: topic, Parent: mustPath(sub), After: after, Limit: limit})
				if len(items) > limit {
					t.Fatalf("page of %d with limit %d", len(items), limit)
				}
				got = append(got, paths(items)...)
				if page.Next == nil {
					break
				}
				if string(page.Next) != items[len(items)-1].ParentPath {
					t.Fatalf("next cursor %s is not the page's last comment", page.Next)
				}
				after = mustPath(string(page.Next))
			}
			var wantSub []string
			for _, w := range want {
				if mustPath(w).Within(mustPath(sub)) {
					wantSub = append(wantSub, w)
				}
			}
			if !slices.Equal(got, wantSub) {
				t.Errorf("subtree %s, limit %d: pages give %v", sub, limit, got)
			}
		}
	}
	// After the last comment: an empty page without a next link.
	items, page := query(t, p, TopicQuery{Topic: topic, Parent: mustPath("0/3/13"), After: mustPath("0/3/13/35"), Limit: 5})
	if len(items) != 0 || page.Next != nil || len(page.Views) != 0 {
		t.Fatalf("after the end: %v, next %q", items, page.Next)
	}
	for _, bad := range []string{"0/4", "0/99", "0/3"} { // outside the subtree, unknown, the subtree root's parent
		_, err := p.TopicComments(context.Background(), TopicQuery{Topic: topic, Parent: mustPath("0/3/13"), After: mustPath(bad)})
		if !errors.Is(err, errs.Invalid) {
			t.Errorf("after %s: %v, want invalid", bad, err)
		}
	}
}

// viewsOf returns every comment's view count by path.
func viewsOf(t *testing.T, p *Projection, topic comment.TopicID) map[string]int64 {
	t.Helper()
	items, _ := query(t, p, TopicQuery{Topic: topic, Parent: comment.RootPath})
	m := map[string]int64{}
	for _, it := range items {
		m[it.ParentPath] = it.Views
	}
	return m
}

func TestViewArithmetic(t *testing.T) {
	l := newLog()
	topic := comment.NewTopicID()
	l.create(topic, "0", "a")
	l.create(topic, "0/1", "b")
	l.create(topic, "0/1/2", "c")
	l.create(topic, "0/3", "d")
	p := newProj(t, 1<<30, nil)
	apply(t, p, l)

	// Two whole-topic reads, one read of 0/1's subtree, one page of two
	// from 0/1/2: all while the newest comment was 3.
	_, whole := query(t, p, TopicQuery{Topic: topic, Parent: comment.RootPath})
	_, sub := query(t, p, TopicQuery{Topic: topic, Parent: mustPath("0/1")})
	_, page := query(t, p, TopicQuery{Topic: topic, Parent: comment.RootPath, After: mustPath("0/1"), Limit: 2})
	if len(whole.Views) != 1 || len(sub.Views) != 1 || len(page.Views) != 1 || whole.Views[0].MaxID != 3 || page.Views[0].First != "0/1/2" || page.Views[0].Last != "0/3" {
		t.Fatalf("views: whole %+v page %+v", whole.Views, page.Views)
	}
	// A comment created after those reads, inside every range: 0/1/4 sits
	// between 0/1/2 and 0/3 in tree order.
	l.create(topic, "0/1/4", "e")
	rng := func(v View, n int64) comment.ViewRange {
		return comment.ViewRange{Topic: topic, First: mustPath(v.First), Last: mustPath(v.Last), MaxID: v.MaxID, Count: n}
	}
	l.views(rng(whole.Views[0], 2), rng(sub.Views[0], 1), rng(page.Views[0], 1))
	apply(t, p, l)

	want := map[string]int64{"0": 2, "0/1": 3, "0/1/2": 4, "0/1/4": 0, "0/3": 3}
	if got := viewsOf(t, p, topic); !mapsEqual(got, want) {
		t.Fatalf("view counts %v, want %v", got, want)
	}
	// Ranges of unknown topics or paths change nothing.
	l.views(comment.ViewRange{Topic: comment.NewTopicID(), First: comment.RootPath, Last: comment.RootPath, Count: 5},
		comment.ViewRange{Topic: topic, First: mustPath("0/9"), Last: mustPath("0/9"), MaxID: 9, Count: 5})
	apply(t, p, l)
	if got := viewsOf(t, p, topic); !mapsEqual(got, want) {
		t.Fatalf("after bogus ranges %v, want %v", got, want)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestEditDeleteAndUsers(t *testing.T) {
	l := newLog()
	t1, t2 := comment.NewTopicID(), comment.NewTopicID()
	l.create(t1, "0", "ann")
	l.create(t1, "0/1", "bob")
	l.create(t2, "0", "bob")
	l.create(t1, "0/1/2", "bob")
	p := newProj(t, 1<<30, nil)
	apply(t, p, l)

	userPaths := func(user string, from, before int64, limit int) []string {
		l, err := p.UserComments(context.Background(), user, Window{From: from, Before: before, Limit: limit})
		b := l.Body
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, it := range decode(t, b) {
			out = append(out, it.TopicID[:4]+":"+it.ParentPath)
		}
		return out
	}
	s1, s2 := t1.String()[:4], t2.String()[:4]
	all := int64(math.MaxInt64)
	if got := userPaths("bob", math.MinInt64, all, 10); !slices.Equal(got, []string{s1 + ":0/1/2", s2 + ":0", s1 + ":0/1"}) {
		t.Fatalf("bob's comments %v", got)
	}
	// Editing 0/1 makes it bob's newest; deleting 0/1/2 removes it.
	l.edit(t1, "0/1", "edited")
	l.del(t1, "0/1/2")
	apply(t, p, l)
	if got := userPaths("bob", math.MinInt64, all, 10); !slices.Equal(got, []string{s1 + ":0/1", s2 + ":0"}) {
		t.Fatalf("after edit and delete %v", got)
	}
	if got := userPaths("bob", math.MinInt64, all, 1); len(got) != 1 {
		t.Fatalf("limit 1: %v", got)
	}
	// from_time and before are exclusive bounds on update_time.
	t2root := t0.Add(3 * time.Second).UnixMilli()
	if got := userPaths("bob", t2root, all, 10); !slices.Equal(got, []string{s1 + ":0/1"}) {
		t.Fatalf("from %d: %v", t2root, got)
	}
	if got := userPaths("bob", math.MinInt64, t2root, 10); len(got) != 0 {
		t.Fatalf("before %d: %v", t2root, got)
	}
	if got := userPaths("bob", math.MinInt64, t2root+1, 10); !slices.Equal(got, []string{s2 + ":0"}) {
		t.Fatalf("before %d: %v", t2root+1, got)
	}
	if got := userPaths("nobody", math.MinInt64, all, 10); len(got) != 0 {
		t.Fatalf("unknown user: %v", got)
	}

	items, _ := query(t, p, TopicQuery{Topic: t1, Parent: comment.RootPath})
	if items[1].Content != "edited" || items[1].Update == items[1].Create || !items[2].Deleted || items[2].Content != "" {
		t.Fatalf("tree after edit and delete: %+v", items)
	}
	// Activity: t1 was edited last, so it leads last_topics; the delete is
	// not activity. The deleted root of t2 shows without content.
	l.del(t2, "0")
	apply(t, p, l)
	b := p.LastTopics(Window{From: math.MinInt64, Before: math.MaxInt64, Limit: 10}).Body
	tops := decode(t, b)
	if len(tops) != 2 || tops[0].TopicID != t1.String() || tops[0].Count != 3 || tops[1].Content != "" || tops[1].User != "bob" {
		t.Fatalf("last_topics %s", b)
	}
	if tops[0].Update != string(comment.AppendTime(nil, t0.Add(5*time.Second))) {
		t.Fatalf("t1's last activity %s, want the edit's time", tops[0].Update)
	}
	b = p.LastTopics(Window{From: math.MinInt64, Before: t0.Add(5 * time.Second).UnixMilli(), Limit: 10}).Body
	if tops := decode(t, b); len(tops) != 1 || tops[0].TopicID != t2.String() {
		t.Fatalf("last_topics before t1's edit: %s", b)
	}
}

func TestHotRanking(t *testing.T) {
	l := newLog()
	a, b, c := comment.NewTopicID(), comment.NewTopicID(), comment.NewTopicID()
	l.create(a, "0", "u") // a: one comment, early
	l.at = l.at.Add(2 * time.Hour)
	l.create(b, "0", "u") // b: one comment, two hours later
	l.create(c, "0", "u") // c: one comment and 20 views, at the same time as b
	l.views(comment.ViewRange{Topic: c, First: comment.RootPath, Last: comment.RootPath, MaxID: 0, Count: 20})
	p := newProj(t, 1<<30, nil)
	apply(t, p, l)

	now := l.at
	body, _ := p.HotTopics(10, now)
	items := decode(t, body)
	if len(items) != 3 || items[0].TopicID != c.String() || items[1].TopicID != b.String() || items[2].TopicID != a.String() {
		t.Fatalf("hot order %s", body)
	}
	// Scores: activity per minute bucket, decayed by the one-hour half-life.
	bucket := func(tm time.Time) time.Time { return tm.Truncate(time.Minute) }
	wantScore := func(w float64, at time.Time) float64 {
		return w * math.Exp2(-now.Sub(bucket(at)).Seconds()/3600)
	}
	ev := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	want := []float64{wantScore(5, ev(4).Add(2*time.Hour)) + wantScore(20, ev(5).Add(2*time.Hour)),
		wantScore(5, ev(3).Add(2*time.Hour)), wantScore(5, ev(1))}
	_ = want
	for i, it := range items {
		if math.Abs(it.Score-want[i])/want[i] > 1e-5 {
			t.Errorf("%d: score %g, want %g", i, it.Score, want[i])
		}
	}
	// An hour later every score has halved.
	body2, _ := p.HotTopics(10, now.Add(time.Hour))
	for i, it := range decode(t, body2) {
		if math.Abs(it.Score-items[i].Score/2)/items[i].Score > 1e-6 {
			t.Errorf("%d: score %g an hour later, was %g", i, it.Score, items[i].Score)
		}
	}
	if body, _ := p.HotTopics(1, now); len(decode(t, body)) != 1 {
		t.Fatal("limit ignored")
	}
}

func TestHeatArithmetic(t *testing.T) {
	h := hotParams{halfLife: 60, commentWeight: 1, viewWeight: 1}
	s := newHeat()
	for i := range 10 {
		h.add(&s, t0.Add(time.Duration(i)*time.Minute), activity{comments: 3})
	}
	// Σ 3·2^(-(9-i)) for i = 0..9, at the time of the last.
	want := 0.0
	for i := range 10 {
		want += 3 * math.Exp2(-float64(9-i))
	}
	if got := h.score(s.key, t0.Add(9*time.Minute)); math.Abs(got-want)/want > 1e-9 {
		t.Fatalf("score %v, want %v", got, want)
	}
	if h.score(noHeat, t0) != 0 {
		t.Fatal("no activity, some score")
	}
}

// TestHeatIsOrderFree: the key depends only on the multiset of activity,
// bit for bit: the order events arrive in, how a minute's activity is split
// among events, and buckets beyond the horizon change nothing. This is what
// lets a restarted reader rank exactly like one that ran all along.
func TestHeatIsOrderFree(t *testing.T) {
	h := hotParams{halfLife: 120, commentWeight: 5, viewWeight: 1}
	type act struct {
		at       time.Time
		comments int64
		views    int64
	}
	var acts []act
	for i := range 300 {
		acts = append(acts, act{t0.Add(time.Duration(i*37%1000) * time.Second), int64(i % 2), int64(i % 7)})
	}
	// Far older activity, beyond the horizon of the newest.
	acts = append(acts, act{t0.Add(-hotHorizon * 3 * time.Minute), 3, 1000})

	// The snapshot's way: one row per minute, ascending.
	rows := map[int64]*act{}
	for _, a := range acts {
		m := a.at.Truncate(time.Minute)
		if rows[m.Unix()] == nil {
			rows[m.Unix()] = &act{at: m}
		}
		rows[m.Unix()].comments += a.comments
		rows[m.Unix()].views += a.views
	}
	var minutes []int64
	for m := range rows {
		minutes = append(minutes, m)
	}
	slices.Sort(minutes)
	snap := newHeat()
	for _, m := range minutes {
		r := rows[m]
		h.add(&snap, r.at, activity{comments: r.comments, views: r.views})
	}

	for _, order := range []string{"as generated", "reversed", "interleaved"} {
		s := newHeat()
		seq := slices.Clone(acts)
		switch order {
		case "reversed":
			slices.Reverse(seq)
		case "interleaved":
			slices.SortStableFunc(seq, func(a, b act) int { return int(a.views%3) - int(b.views%3) })
		}
		for _, a := range seq {
			h.add(&s, a.at, activity{comments: a.comments, views: a.views})
		}
		if s.key != snap.key {
			t.Errorf("%s: key %v, snapshot %v", order, s.key, snap.key)
		}
	}
}

// fakeSource serves loads from a reference projection that holds every tree,
// and can hold a load until the test releases it.
type fakeSource struct {
	ref     *Projection
	hold    chan struct{} // when not nil, a load waits for it to close
	started chan struct{}
	loads   int
}

func (f *fakeSource) LoadTopic(ctx context.Context, id comment.TopicID, rows func(*store.TreeRow) error, ranges func(*store.RangeRow) error) (int64, error) {
	f.loads++
	if f.started != nil {
		close(f.started)
		f.started = nil
	}
	if f.hold != nil {
		<-f.hold
	}
	f.ref.mu.RLock()
	defer f.ref.mu.RUnlock()
	t := f.ref.topics[id]
	// Rows in reverse id order: the loader must not depend on any order.
	for cid := int32(t.tree.Len() - 1); cid >= 0; cid-- {
		var it item
		if err := json.Unmarshal(t.tree.Node(cid).AppendJSON(nil, topictree.TopicItem, id), &it); err != nil {
			return 0, err
		}
		parent := *it.ParentID
		if it.ParentPath == "0" {
			parent = -1 // the root's parent_id is its own id, 0
		}
		create, _ := time.Parse(time.RFC3339, it.Create)
		update, _ := time.Parse(time.RFC3339, it.Update)
		if err := rows(&store.TreeRow{Topic: id, ID: it.ID, Parent: parent, Path: []byte(it.ParentPath), User: []byte(it.User),
			Content: []byte(it.Content), Deleted: it.Deleted, Create: create, Update: update}); err != nil {
			return 0, err
		}
		if it.Views > 0 {
			path := mustPath(it.ParentPath)
			_ = ranges(&store.RangeRow{Topic: id, First: path, Last: path, MaxID: it.ID, Count: it.Views})
		}
	}
	return f.ref.Applied(), nil
}

func TestEvictionAndReload(t *testing.T) {
	l := newLog()
	ref := newProj(t, 1<<40, nil)
	src := &fakeSource{ref: ref}
	topics := make([]comment.TopicID, 6)
	for i := range topics {
		topics[i] = comment.NewTopicID()
		l.create(topics[i], "0", "u")
		for j := 1; j <= 20; j++ {
			l.create(topics[i], fmt.Sprintf("0/%d", j), fmt.Sprintf("user%d", j%3))
		}
	}
	events := l.flush()
	if err := ref.Apply(events); err != nil {
		t.Fatal(err)
	}
	// Room for about two topics.
	var perTopic int64
	for _, tt := range ref.topics {
		perTopic = tt.tree.Bytes()
	}
	p := newProj(t, perTopic*5/2, src)
	if err := p.Apply(events); err != nil {
		t.Fatal(err)
	}
	st := p.Stats()
	if st.ResidentTrees > 2 || st.Evictions == 0 || st.Topics != 6 {
		t.Fatalf("after loading six topics with room for two: %+v", st)
	}
	// Every topic reads the same as in the reference, loading as needed,
	// and writes to evicted topics are not lost.
	for round := range 2 {
		for _, id := range topics {
			l.create(id, fmt.Sprintf("0/%d", 21+round), "late")
			evs := l.flush()
			if err := ref.Apply(evs); err != nil {
				t.Fatal(err)
			}
			if err := p.Apply(evs); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range topics {
			got, _ := query(t, p, TopicQuery{Topic: id, Parent: comment.RootPath})
			want, _ := query(t, ref, TopicQuery{Topic: id, Parent: comment.RootPath})
			if g, w := mustJSON(got), mustJSON(want); g != w {
				t.Fatalf("round %d topic %s: reader has %d comments, reference %d", round, id, len(got), len(want))
			}
		}
	}
	if st := p.Stats(); st.Reloads == 0 || st.ResidentBytes > perTopic*5/2 {
		t.Fatalf("stats %+v", st)
	}
	// Users' lists span evicted topics: all 6 topics × 7 comments of user1.
	list, err := p.UserComments(context.Background(), "user1", Window{From: math.MinInt64, Before: math.MaxInt64, Limit: 100})
	b := list.Body
	if err != nil || len(decode(t, b)) != 6*7 {
		t.Fatalf("user1: %d comments, %v", len(decode(t, b)), err)
	}
}

// TestLargePageInChunks: a page of several chunks renders as one would in a
// single pass; events applied between its chunks (the lock is free there)
// show in it without a comment newer than the page's max id, and such a
// page is neither cached nor given an ETag. Over RENDER_MAX_BYTES a large
// page waits, then is refused.
func TestLargePageInChunks(t *testing.T) {
	l := newLog()
	topic := comment.NewTopicID()
	n := 3*renderChunk + 17
	l.createFlat(topic, n)
	p := newProj(t, 1<<40, nil)
	apply(t, p, l)
	items, page := query(t, p, TopicQuery{Topic: topic, Parent: comment.RootPath})
	if len(items) != n || len(page.Chunks) < 4 || page.ETag == "" {
		t.Fatalf("%d items in %d chunks, ETag %q; want %d items in at least 4 chunks, with an ETag", len(items), len(page.Chunks), page.ETag, n)
	}
	want := string(p.topics[topic].tree.Root().AppendJSON(nil, topictree.TopicItem, topic))
	if got, _ := json.Marshal(items[0]); !strings.Contains(string(page.Bytes()), want) || len(got) == 0 {
		t.Fatalf("the page does not start with the root's item %s", want)
	}
	// Events between chunks: the render stops after its first chunk (in a
	// gate standing for the render bound, where it holds no lock), events
	// are applied, and it goes on.
	uncache(p.topics[topic])
	gate := &renderGate{reached: make(chan struct{}), open: make(chan struct{})}
	p.betweenChunks = gate.pause
	done := make(chan TopicPage)
	go func() {
		pg, err := p.TopicComments(context.Background(), TopicQuery{Topic: topic, Parent: comment.RootPath})
		if err != nil {
			t.Error(err)
		}
		pg.Done()
		done <- pg
	}()
	<-gate.reached
	l.create(topic, fmt.Sprintf("0/%d", n), "late") // newer than the page
	l.edit(topic, fmt.Sprintf("0/%d", n-1), "edited mid-render")
	apply(t, p, l) // would wait for ever if the render held the lock here
	close(gate.open)
	pg := <-done
	got := decode(t, pg.Bytes())
	if len(got) != n || got[n-1].Content != "edited mid-render" || pg.ETag != "" || p.topics[topic].sorts[0].cache.Load() != nil {
		t.Fatalf("a page rendered across events: %d items (want %d), last content %q, ETag %q, cached %v",
			len(got), n, got[n-1].Content, pg.ETag, p.topics[topic].sorts[0].cache.Load() != nil)
	}
	// The render bound: while another rendering holds all of it, a large
	// page waits RENDER_WAIT, then is refused; once it is free, a page
	// larger than the whole bound still renders (alone).
	p.betweenChunks = runtime.Gosched
	p.SetRenderBound(int64(len(page.Chunks[1])), 50*time.Millisecond)
	if !p.renderMem.TryAcquire(p.renderMax) {
		t.Fatal("the bound is taken")
	}
	uncache(p.topics[topic])
	if _, err := p.TopicComments(context.Background(), TopicQuery{Topic: topic, Parent: comment.RootPath}); !errors.Is(err, errRenderBusy) {
		t.Fatalf("a page over the render bound: %v, want busy", err)
	}
	p.renderMem.Release(p.renderMax)
	if items, _ := query(t, p, TopicQuery{Topic: topic, Parent: comment.RootPath}); len(items) != n+1 {
		t.Fatalf("a page larger than the whole bound, alone: %d items", len(items))
	}
	// Small pages do not count against it.
	if items, _ := query(t, p, TopicQuery{Topic: topic, Parent: comment.RootPath, Limit: 10}); len(items) != 10 {
		t.Fatalf("%d items", len(items))
	}
}

// uncache forgets a topic's rendered answers, so the next query renders.
func uncache(t *topic) { t.forget(true) }

// TestLargePageFresh: a request never gets a whole-topic rendering that
// began before the state it must show (read-your-writes): one that arrives
// after an event waits for the older rendering and renders anew.
func TestLargePageFresh(t *testing.T) {
	l := newLog()
	topic := comment.NewTopicID()
	n := 3*renderChunk + 5
	l.createFlat(topic, n)
	p := newProj(t, 1<<40, nil)
	apply(t, p, l)
	gate := &renderGate{reached: make(chan struct{}), open: make(chan struct{})}
	p.betweenChunks = gate.pause
	first := make(chan TopicPage)
	go func() {
		pg, _ := p.TopicComments(context.Background(), TopicQuery{Topic: topic, Parent: comment.RootPath})
		pg.Done()
		first <- pg
	}()
	<-gate.reached // the first rendering is under way, its first chunk done
	l.del(topic, "0/1")
	apply(t, p, l)
	second := make(chan TopicPage)
	go func() {
		pg, _ := p.TopicComments(context.Background(), TopicQuery{Topic: topic, Parent: comment.RootPath})
		pg.Done()
		second <- pg
	}()
	close(gate.open)
	<-first
	got := decode(t, (<-second).Bytes())
	if !got[1].Deleted || got[1].Content != "" {
		t.Fatalf("a read after the delete shows comment 0/1 as %+v", got[1])
	}
}

// TestPageBytesBounded: a page of few comments but many bytes is not a
// small page: it is measured and counted against RENDER_MAX_BYTES; and a
// large page of a small share of a large topic is rendered alone, without
// rendering the whole topic.
func TestPageBytesBounded(t *testing.T) {
	l := newLog()
	topic := comment.NewTopicID()
	l.create(topic, "0", "u")
	for j := 1; j <= 20; j++ {
		l.createText(topic, fmt.Sprintf("0/%d", j), "u", strings.Repeat("\x01", 30000)) // 180 KB each as JSON
	}
	p := newProj(t, 1<<40, nil)
	apply(t, p, l)
	p.SetRenderBound(1<<20, 50*time.Millisecond)
	if !p.renderMem.TryAcquire(p.renderMax) {
		t.Fatal("the bound is taken")
	}
	if _, err := p.TopicComments(context.Background(), TopicQuery{Topic: topic, Parent: comment.RootPath, Limit: 20}); !errors.Is(err, errRenderBusy) {
		t.Fatalf("20 comments of 180 KB with the bound taken: %v, want busy", err)
	}
	p.renderMem.Release(p.renderMax)
	items, page := query(t, p, TopicQuery{Topic: topic, Parent: comment.RootPath, Limit: 20})
	if len(items) != 20 || len(page.Chunks) < 2 {
		t.Fatalf("%d items in %d chunks", len(items), len(page.Chunks))
	}

	big := comment.NewTopicID()
	l.createFlat(big, 8*renderChunk)
	apply(t, p, l)
	if items, _ := query(t, p, TopicQuery{Topic: big, Parent: comment.RootPath, Limit: renderChunk + 1}); len(items) != renderChunk+1 {
		t.Fatalf("%d items", len(items))
	}
	if p.topics[big].sorts[0].full.Load() != nil {
		t.Fatal("a page of an eighth of the topic rendered the whole topic")
	}
	if items, _ := query(t, p, TopicQuery{Topic: big, Parent: comment.RootPath}); len(items) != 8*renderChunk || p.topics[big].sorts[0].full.Load() == nil {
		t.Fatalf("the whole topic: %d items, kept %v", len(items), p.topics[big].sorts[0].full.Load() != nil)
	}
}

// renderGate stops the first render at its first chunk boundary, where it
// holds no lock, until the test opens it.
type renderGate struct {
	once          sync.Once
	reached, open chan struct{}
}

func (g *renderGate) pause() {
	g.once.Do(func() { close(g.reached) })
	<-g.open
}

// TestOversizedTree: a tree larger than the whole memory bound is served,
// then dropped once no request uses it, so that between requests resident
// memory stays within the bound; the stats say so.
func TestOversizedTree(t *testing.T) {
	l := newLog()
	ref := newProj(t, 1<<40, nil)
	big, small := comment.NewTopicID(), comment.NewTopicID()
	l.createFlat(big, 201)
	l.create(small, "0", "u")
	events := l.flush()
	if err := ref.Apply(events); err != nil {
		t.Fatal(err)
	}
	bound := ref.topics[big].tree.Bytes() / 4
	p := newProj(t, bound, &fakeSource{ref: ref})
	if err := p.Apply(events); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.ResidentBytes > bound {
		t.Fatalf("after applying, %d bytes resident over a bound of %d", st.ResidentBytes, bound)
	}
	for round := 1; round <= 3; round++ {
		got, _ := query(t, p, TopicQuery{Topic: big, Parent: comment.RootPath})
		want, _ := query(t, ref, TopicQuery{Topic: big, Parent: comment.RootPath})
		if g, w := mustJSON(got), mustJSON(want); g != w {
			t.Fatalf("round %d: the oversized topic reads %d comments, reference %d", round, len(got), len(want))
		}
		st := p.Stats()
		if st.ResidentBytes > bound || st.OversizedDrops != int64(round) || st.MaxBytes != bound {
			t.Fatalf("round %d: %+v; want at most %d bytes resident and %d oversized drops", round, st, bound, round)
		}
	}
	// A topic that fits stays resident as before, and reading the big one
	// does not evict it.
	query(t, p, TopicQuery{Topic: small, Parent: comment.RootPath})
	if st := p.Stats(); st.ResidentTrees != 1 || st.OversizedDrops != 3 {
		t.Fatalf("after reading the small topic: %+v", st)
	}
	evictions := p.Stats().Evictions
	query(t, p, TopicQuery{Topic: big, Parent: comment.RootPath})
	if st := p.Stats(); st.ResidentTrees != 1 || p.topics[small].tree == nil || st.Evictions != evictions {
		t.Fatalf("reading the oversized topic evicted the small one: %+v", st)
	}
}

// TestLoadRacesTail: events that arrive while an evicted tree loads are
// applied exactly once, whether the load's snapshot is behind the events
// (they are kept and applied to the loaded tree) or ahead of what the
// projection has applied: then either the load hands its tree over first
// (the tree waits for the log to catch up, and the events it already holds
// are not applied again), or the log gets there first (the kept events are
// already in the snapshot and are dropped).
func TestLoadRacesTail(t *testing.T) {
	for _, order := range []string{"snapshot behind", "snapshot ahead, load first", "snapshot ahead, log first"} {
		t.Run(order, func(t *testing.T) {
			l := newLog()
			ref := newProj(t, 1<<40, nil)
			src := &fakeSource{ref: ref}
			a := comment.NewTopicID()
			l.create(a, "0", "u")
			l.create(a, "0/1", "u")
			evs := l.flush()
			_ = ref.Apply(evs)
			p := newProj(t, 1, src) // no room: the tree is evicted after the batch
			_ = p.Apply(evs)
			if st := p.Stats(); st.ResidentTrees != 0 {
				t.Fatalf("stats %+v", st)
			}
			// Room again, so that the tree the racing load installs stays
			// and is the one the query reads, whichever path installed it.
			p.mu.Lock()
			p.res.maxBytes = 1 << 40
			p.mu.Unlock()

			src.hold, src.started = make(chan struct{}), make(chan struct{})
			started := src.started
			done := make(chan []item)
			go func() {
				items, _ := query(t, p, TopicQuery{Topic: a, Parent: comment.RootPath})
				done <- items
			}()
			<-started
			l.create(a, "0/2", "u")
			l.views(comment.ViewRange{Topic: a, First: comment.RootPath, Last: mustPath("0/1"), MaxID: 1, Count: 7})
			evs = l.flush()
			var items []item
			switch order {
			case "snapshot behind":
				_ = p.Apply(evs) // the projection gets them while the load runs
				close(src.hold)
				items = <-done // the load read the reference without them
				_ = ref.Apply(evs)
			case "snapshot ahead, load first":
				_ = ref.Apply(evs) // the snapshot will include them
				close(src.hold)
				p.res.loads.Wait() // the load has handed its tree over
				p.mu.RLock()
				installed := p.topics[a].tree != nil
				p.mu.RUnlock()
				if installed {
					t.Fatal("a tree loaded ahead of the log was installed before the log reached it")
				}
				_ = p.Apply(evs)
				items = <-done
			case "snapshot ahead, log first":
				_ = ref.Apply(evs) // the snapshot will include them
				_ = p.Apply(evs)   // and the projection gets them before the load returns
				close(src.hold)
				items = <-done
			}
			got := map[string]int64{}
			for _, it := range items {
				got[it.ParentPath] = it.Views
			}
			if want := map[string]int64{"0": 7, "0/1": 7, "0/2": 0}; !mapsEqual(got, want) {
				t.Fatalf("views %v, want %v (an event applied twice or lost)", got, want)
			}
			if src.loads != 1 {
				t.Fatalf("%d loads: the query did not read the tree of the load that raced the events", src.loads)
			}
		})
	}
}
