package topictree

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
)

var t0 = time.Date(2026, 11, 22, 23, 19, 36, 123e6, time.UTC)

func created(path comment.Path, user, content string, at time.Time) *comment.Event {
	return &comment.Event{Kind: comment.EventCreated, At: at, Created: &comment.Created{Path: path, User: user, Content: content}}
}

// The items of the API as plain structs: the encoder must give exactly what
// encoding/json makes of them.
type (
	topicItem struct {
		CommentID  int32  `json:"comment_id"`
		ParentID   *int32 `json:"parent_id"`
		ParentPath string `json:"parent_path"`
		User       string `json:"user"`
		Content    string `json:"content"`
		ViewCount  int64  `json:"view_count"`
		Up         int32  `json:"up"`
		Down       int32  `json:"down"`
		CreateTime string `json:"create_time"`
		UpdateTime string `json:"update_time"`
		Deleted    bool   `json:"deleted"`
		ReplyCount int32  `json:"reply_count"`
	}
	userItem struct {
		CommentID  int32  `json:"comment_id"`
		TopicID    string `json:"topic_id"`
		ParentPath string `json:"parent_path"`
		User       string `json:"user"`
		Content    string `json:"content"`
		ViewCount  int64  `json:"view_count"`
		Up         int32  `json:"up"`
		Down       int32  `json:"down"`
		UpdateTime string `json:"update_time"`
	}
	rankedItem struct {
		CommentID  int32  `json:"comment_id"`
		TopicID    string `json:"topic_id"`
		ParentPath string `json:"parent_path"`
		User       string `json:"user"`
		Content    string `json:"content"`
		ViewCount  int64  `json:"view_count"`
		Up         int32  `json:"up"`
		Down       int32  `json:"down"`
		CreateTime string `json:"create_time"`
		UpdateTime string `json:"update_time"`
	}
	summaryItem struct {
		TopicID   string `json:"topic_id"`
		User      string `json:"user"`
		Content   string `json:"content"`
		ViewCount int64  `json:"view_count"`
		Up        int32  `json:"up"`
		Down      int32  `json:"down"`
	}
)

// TestItemJSON pins the one encoder of a comment against encoding/json, for
// every item shape, through views, edits and deletes.
func TestItemJSON(t *testing.T) {
	topic := comment.NewTopicID()
	tr := New()
	const text = "line\nand \"quotes\" & <b> \u2028 \u2029 \x01 \x7f é 😀"
	update := t0.Add(90 * time.Second)
	for _, e := range []*comment.Event{
		created(comment.RootPath, "ann", "root", t0),
		created(comment.Path{0, 1}, "Zoë <b>", text, update),
	} {
		if err := tr.Apply(e, nil); err != nil {
			t.Fatal(err)
		}
	}
	tr.AddViews(&comment.ViewRange{Topic: topic, First: comment.RootPath, Last: comment.Path{0, 1}, MaxID: 1, Count: 42})
	vote := &comment.Event{Kind: comment.EventVoted, At: update, Voted: &comment.Voted{Path: comment.Path{0, 1}, Voter: "bo", Value: 1, Up: 3, Down: 1}}
	if err := tr.Apply(vote, nil); err != nil {
		t.Fatal(err)
	}
	n := tr.Find(comment.Path{0, 1})
	zero := int32(0)
	want := topicItem{1, &zero, "0/1", "Zoë <b>", text, 42, 3, 1, "2026-11-22T23:21:06.123Z", "2026-11-22T23:21:06.123Z", false, 0}
	check := func() {
		t.Helper()
		for _, c := range []struct {
			f    Fields
			want any
		}{
			{TopicItem, want},
			{UserItem, userItem{want.CommentID, topic.String(), want.ParentPath, want.User, want.Content, want.ViewCount, want.Up, want.Down, want.UpdateTime}},
			{RankedItem, rankedItem{want.CommentID, topic.String(), want.ParentPath, want.User, want.Content, want.ViewCount, want.Up, want.Down, want.CreateTime, want.UpdateTime}},
			{SummaryItem, summaryItem{topic.String(), want.User, want.Content, want.ViewCount, want.Up, want.Down}},
		} {
			got := n.AppendJSON(nil, c.f, topic)
			exp, _ := json.Marshal(c.want)
			if string(got) != string(exp) {
				t.Fatalf("fields %b:\n %s\nwant\n %s", c.f, got, exp)
			}
		}
		if n.size() != int64(len(n.buf))+nodeOverhead || len(n.buf) != n.contentEnd()+2*timeLen {
			t.Fatal("buf layout")
		}
	}
	check()
	later := update.Add(time.Hour)
	if err := tr.Apply(&comment.Event{Kind: comment.EventEdited, At: later, Edited: &comment.Edited{Path: comment.Path{0, 1}, Content: "edited"}}, nil); err != nil {
		t.Fatal(err)
	}
	want.Content, want.UpdateTime = "edited", "2026-11-23T00:21:06.123Z"
	check()
	if err := tr.Apply(&comment.Event{Kind: comment.EventDeleted, At: later.Add(time.Hour), Deleted: &comment.Deleted{Path: comment.Path{0, 1}}}, nil); err != nil {
		t.Fatal(err)
	}
	want.Content, want.Deleted = "", true
	check()

	root := string(tr.Root().AppendJSON(nil, TopicItem, topic))
	exp, _ := json.Marshal(topicItem{0, &zero, "0", "ann", "root", 42, 0, 0, "2026-11-22T23:19:36.123Z", "2026-11-22T23:19:36.123Z", false, 1})
	if root != string(exp) {
		t.Fatalf("root item %s, want %s", root, exp)
	}
	if got := string(tr.Root().AppendJSON(nil, 0, topic)); got != "{}" {
		t.Fatalf("no fields: %s", got)
	}
}

// TestNodeSize: a node stays in the 80-byte size class with its vote
// counts, so votes add no memory per stored comment.
func TestNodeSize(t *testing.T) {
	if n := unsafe.Sizeof(Node{}); n != 80 {
		t.Fatalf("Node is %d bytes, want 80", n)
	}
}

// TestRootFollowsTree: a detached root takes the events of the topic as the
// tree's root does, and ignores those about other comments.
func TestRootFollowsTree(t *testing.T) {
	tr := New()
	if err := tr.Apply(created(comment.RootPath, "ann", "root", t0), nil); err != nil {
		t.Fatal(err)
	}
	cold := tr.DetachRoot()
	views := func(first, last comment.Path, n int64) (*comment.Event, *comment.ViewRange) {
		r := comment.ViewRange{First: first, Last: last, MaxID: 5, Count: n}
		return &comment.Event{Kind: comment.EventViews, At: t0, Views: &comment.Views{Ranges: []comment.ViewRange{r}}}, &r
	}
	type step struct {
		e *comment.Event
		r *comment.ViewRange
	}
	var steps []step
	add := func(e *comment.Event, r *comment.ViewRange) { steps = append(steps, step{e, r}) }
	add(created(comment.Path{0, 1}, "bob", "reply", t0.Add(time.Second)), nil)
	add(views(comment.RootPath, comment.Path{0, 1}, 3))
	add(views(comment.Path{0, 1}, comment.Path{0, 1}, 5))
	add(&comment.Event{Kind: comment.EventEdited, At: t0.Add(time.Minute), Edited: &comment.Edited{Path: comment.Path{0, 1}, Content: "not the root"}}, nil)
	add(&comment.Event{Kind: comment.EventEdited, At: t0.Add(2 * time.Minute), Edited: &comment.Edited{Path: comment.RootPath, Content: "root <2>"}}, nil)
	add(&comment.Event{Kind: comment.EventDeleted, At: t0.Add(3 * time.Minute), Deleted: &comment.Deleted{Path: comment.RootPath}}, nil)
	for i, s := range steps {
		if err := tr.Apply(s.e, s.r); err != nil {
			t.Fatal(err)
		}
		cold.Apply(s.e, s.r)
		// A detached root serves summaries, which carry no reply count.
		const f = TopicItem &^ FieldReplies
		got, want := cold.Node().AppendJSON(nil, f, comment.TopicID{}), tr.Root().AppendJSON(nil, f, comment.TopicID{})
		if string(got) != string(want) {
			t.Fatalf("step %d: detached root %s, tree root %s", i, got, want)
		}
	}
	if tr.Root().Views() != 3 || !tr.Root().Deleted() {
		t.Fatalf("root views %d deleted %v", tr.Root().Views(), tr.Root().Deleted())
	}
}

// TestRender: pages of a subtree in tree order, and the errors of bad
// requests.
func TestRender(t *testing.T) {
	tr := New()
	paths := []comment.Path{{0}, {0, 1}, {0, 1, 2}, {0, 3}, {0, 1, 4}, {0, 3, 5}}
	for i, p := range paths {
		if err := tr.Apply(created(p, "u", "c", t0.Add(time.Duration(i)*time.Second)), nil); err != nil {
			t.Fatal(err)
		}
	}
	order := func(p Page) string {
		var items []topicItem
		if err := json.Unmarshal(bytes.Join(p.Chunks, nil), &items); err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, it := range items {
			s = append(s, it.ParentPath)
		}
		return strings.Join(s, " ")
	}
	cases := []struct {
		parent, after comment.Path
		limit         int
		want          string
		more          bool
	}{
		{comment.RootPath, nil, 0, "0 0/1 0/1/2 0/1/4 0/3 0/3/5", false},
		{comment.Path{0, 1}, nil, 0, "0/1 0/1/2 0/1/4", false},
		{comment.RootPath, nil, 2, "0 0/1", true},
		{comment.RootPath, comment.Path{0, 1}, 2, "0/1/2 0/1/4", true},
		{comment.RootPath, comment.Path{0, 1, 4}, 2, "0/3 0/3/5", false},
		{comment.Path{0, 1}, comment.Path{0, 1, 4}, 0, "", false},
	}
	for _, c := range cases {
		p, err := tr.Render(c.parent, c.after, c.limit)
		if err != nil {
			t.Fatal(err)
		}
		if got := order(p); got != c.want || p.More != c.more {
			t.Errorf("Render(%v, %v, %d) = %q more=%v, want %q more=%v", c.parent, c.after, c.limit, got, p.More, c.want, c.more)
		}
		if (p.First == nil) != (c.want == "") {
			t.Errorf("first %v for %q", p.First, c.want)
		}
		// A chunk at a time, the page is the same bytes.
		for _, n := range []int{1, 2} {
			pg, err := tr.Pager(c.parent, c.after, c.limit)
			if err != nil {
				t.Fatal(err)
			}
			for !pg.Next(n, math.MaxInt) {
			}
			chunked := pg.Page()
			if got, want := bytes.Join(chunked.Chunks, nil), bytes.Join(p.Chunks, nil); !bytes.Equal(got, want) || chunked.More != p.More {
				t.Errorf("in chunks of %d: %s more=%v, in one: %s more=%v", n, got, chunked.More, want, p.More)
			}
		}
	}
	for _, c := range []struct {
		parent, after comment.Path
		kind          *errs.Kind
	}{
		{comment.Path{0, 9}, nil, errs.NotFound},
		{comment.Path{0, 2}, nil, errs.NotFound}, // id 2 sits at 0/1/2
		{comment.Path{0, 1}, comment.Path{0, 3}, errs.Invalid},
		{comment.RootPath, comment.Path{0, 7}, errs.Invalid},
	} {
		if _, err := tr.Render(c.parent, c.after, 0); !errors.Is(err, c.kind) {
			t.Errorf("Render(%v, %v) = %v, want kind %v", c.parent, c.after, err, c.kind)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"plain", "quote\" back\\ <tag> & \u2028 \x01 \n", "é😀", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendString(nil, s)
		if n, _ := escapedLen(s); n != len(b) {
			t.Fatalf("%q: escapedLen %d, encoded %d bytes", s, n, len(b))
		}
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%q encoded as invalid JSON %s: %v", s, b, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("%q came back as %q", s, back)
		}
		std, _ := json.Marshal(s)
		if utf8.ValidString(s) && string(std) != string(b) {
			t.Fatalf("%q: %s, encoding/json gives %s", s, b, std)
		}
	})
}

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

var benchSink int

// BenchmarkAppendString encodes a 300-byte content as a JSON string.
func BenchmarkAppendString(b *testing.B) {
	for _, c := range []struct{ name, s string }{
		{"plain300", benchText(300)},
		{"escapes300", benchEscaped(300)},
	} {
		b.Run(c.name, func(b *testing.B) {
			if len(c.s) != 300 || !json.Valid(appendString(nil, c.s)) {
				b.Fatalf("bad input: %d bytes", len(c.s))
			}
			buf := make([]byte, 0, 1024)
			b.SetBytes(int64(len(c.s)))
			b.ReportAllocs()
			for b.Loop() {
				buf = appendString(buf[:0], c.s)
				benchSink += len(buf)
			}
		})
	}
}

// BenchmarkNodeRender builds one comment's encoding: a reply at 0/12/345
// with a 300-byte content that has a few characters to escape.
func BenchmarkNodeRender(b *testing.B) {
	content := benchEscaped(300)
	n := newNode(345, "0/12/345", "alice", content, false, t0, t0)
	n.parent = &Node{id: 12}
	var it topicItem
	if err := json.Unmarshal(n.AppendJSON(nil, TopicItem, comment.TopicID{}), &it); err != nil || it.Content != content || it.ParentPath != "0/12/345" {
		b.Fatalf("render: %+v, %v", it, err)
	}
	b.SetBytes(int64(len(n.buf)))
	b.ReportAllocs()
	for b.Loop() {
		n = newNode(345, "0/12/345", "alice", content, false, t0, t0)
		benchSink += len(n.buf)
	}
}

// TestViewsSaturate: view counts stop at the largest int64 instead of
// wrapping to negative numbers, in the tree and in a detached root.
func TestViewsSaturate(t *testing.T) {
	tr := New()
	if err := tr.Apply(created(comment.RootPath, "ann", "root", t0), nil); err != nil {
		t.Fatal(err)
	}
	cold := tr.DetachRoot()
	r := comment.ViewRange{First: comment.RootPath, Last: comment.RootPath, MaxID: 0, Count: math.MaxInt64 - 5}
	e := &comment.Event{Kind: comment.EventViews, At: t0, Views: &comment.Views{Ranges: []comment.ViewRange{r}}}
	for range 3 {
		if err := tr.Apply(e, &r); err != nil {
			t.Fatal(err)
		}
		cold.Apply(e, &r)
	}
	if tr.Root().Views() != math.MaxInt64 || cold.Node().Views() != math.MaxInt64 {
		t.Fatalf("views %d and %d, want both at %d", tr.Root().Views(), cold.Node().Views(), int64(math.MaxInt64))
	}
}

// TestFullPages: every page sliced out of a Full is byte for byte the page
// Render gives, for every subtree, start and limit; after the tree grows,
// a Full leaves the new comments out, and says it cannot answer a page
// that starts at one.
func TestFullPages(t *testing.T) {
	tr := New()
	rng := rand.New(rand.NewPCG(3, 4))
	paths := []comment.Path{comment.RootPath}
	for i := 1; i < 3*200; i++ {
		parent := paths[rng.IntN(len(paths))]
		if rng.IntN(3) == 0 {
			parent = paths[len(paths)-1]
		}
		paths = append(paths, parent.Child(int32(i)))
	}
	for i, p := range paths {
		if err := tr.Apply(created(p, "u", fmt.Sprint("c<", i, ">"), t0), nil); err != nil {
			t.Fatal(err)
		}
	}
	pg := tr.FullPager()
	for !pg.Next(50, math.MaxInt) { // many chunks, so that pages span them
	}
	full := pg.Full()
	check := func(parent, after comment.Path, limit int) {
		t.Helper()
		want, werr := tr.Render(parent, after, limit)
		got, ok, gerr := full.Page(tr, parent, after, limit)
		if (werr == nil) != (gerr == nil) || !ok && gerr == nil {
			t.Fatalf("Page(%v, %v, %d): ok=%v err=%v, Render err=%v", parent, after, limit, ok, gerr, werr)
		}
		if werr != nil {
			return
		}
		if g, w := bytes.Join(got.Chunks, nil), bytes.Join(want.Chunks, nil); !bytes.Equal(g, w) || got.More != want.More || got.First != want.First || got.Last != want.Last {
			t.Fatalf("Page(%v, %v, %d):\n %.200s more=%v\nRender:\n %.200s more=%v", parent, after, limit, g, got.More, w, want.More)
		}
	}
	for range 500 {
		parent := paths[rng.IntN(len(paths))]
		var after comment.Path
		if rng.IntN(2) == 0 {
			after = paths[rng.IntN(len(paths))] // within the subtree or not
		}
		check(parent, after, []int{0, 1, 3, 50, 1000}[rng.IntN(5)])
	}
	check(comment.Path{0, 999}, nil, 0)

	// New comments: left out of the Full's pages; a page starting at one is
	// not the Full's to answer.
	newer := comment.Path{0, int32(len(paths))}
	if err := tr.Apply(created(newer, "u", "new", t0), nil); err != nil {
		t.Fatal(err)
	}
	page, ok, err := full.Page(tr, comment.RootPath, nil, 0)
	if !ok || err != nil || bytes.Contains(bytes.Join(page.Chunks, nil), []byte(`"new"`)) {
		t.Fatalf("the whole topic after a new comment: ok=%v err=%v, or it holds the new comment", ok, err)
	}
	if _, ok, err := full.Page(tr, newer, nil, 0); ok || err != nil {
		t.Fatalf("a page of a newer comment: ok=%v err=%v, want not the Full's", ok, err)
	}
}

// TestItemOverhead: the widest page item a node can make fits the room a
// page's rendering reserves for it (pages hold TopicItems only).
func TestItemOverhead(t *testing.T) {
	n := newNode(2147483647, "0/2147483647", "u", "c", false, t0, t0)
	n.parent = &Node{id: 2147483646}
	n.views, n.up, n.down, n.replies = math.MaxInt64, math.MinInt32, math.MinInt32, math.MaxInt32
	for _, f := range []Fields{TopicItem} {
		if got := len(n.AppendJSON(nil, f, comment.TopicID{})) + 1; got > len(n.buf)+itemOverhead {
			t.Errorf("fields %b: %d bytes with a separator, room for %d", f, got, len(n.buf)+itemOverhead)
		}
	}
}
