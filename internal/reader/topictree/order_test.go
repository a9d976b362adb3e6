package topictree

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
)

var allSorts = []Sort{SortOld, SortNew, SortTop, SortBest, SortControversial}

func TestParseSort(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Sort
		ok   bool
	}{
		{"old", SortOld, true},
		{"new", SortNew, true},
		{"top", SortTop, true},
		{"best", SortBest, true},
		{"controversial", SortControversial, true},
		{"", SortOld, false},
		{"Best", SortOld, false},
		{"hot", SortOld, false},
	} {
		got, err := ParseSort(c.in)
		if c.ok != (err == nil) || got != c.want {
			t.Errorf("ParseSort(%q) = %v, %v", c.in, got, err)
		}
		if err != nil && !errors.Is(err, errs.Invalid) {
			t.Errorf("ParseSort(%q): %v, not invalid", c.in, err)
		}
		if c.ok && got.String() != c.in {
			t.Errorf("%q comes back as %q", c.in, got.String())
		}
	}
	if s := Sort(9).String(); s != "Sort(9)" {
		t.Errorf("unknown sort as %q", s)
	}
}

// TestWilson against values worked by hand, z = 1.96, z² = 3.8416, n =
// up + down, p = up/n:
//
//	bound = (p + z²/2n − z·√((p(1−p) + z²/4n)/n)) / (1 + z²/n)
func TestWilson(t *testing.T) {
	for _, c := range []struct {
		up, down int32
		want     float64
	}{
		// n = 1, p = 1: (1 + 1.9208 − 1.96·√0.9604) / 4.8416 = 1/4.8416
		{1, 0, 0.2065432915},
		// n = 6, p = 5/6: p(1−p) = 0.1388889, z²/4n = 0.1600667,
		// √(0.2989556/6) = 0.2232172, ×1.96 = 0.4375057;
		// (0.8333333 + 0.3201333 − 0.4375057) / 1.6402667 = 0.7159609 / 1.6402667
		{5, 1, 0.4364905634},
		// n = 110, p = 10/11: p(1−p) = 0.0826446, z²/4n = 0.0087309,
		// √(0.0913755/110) = 0.0288216, ×1.96 = 0.0564904;
		// (0.9090909 + 0.0174618 − 0.0564904) / 1.0349236 = 0.8700623 / 1.0349236
		{100, 10, 0.8407019515},
		// n = 2, p = 1/2: (0.5 + 0.9604 − 1.96·√((0.25 + 0.4802)/2)) / 2.9208
		// = (1.4604 − 1.96·0.6042351) / 2.9208 = 0.2760992 / 2.9208
		{1, 1, 0.0945286548},
		{0, 0, 0}, // no votes
		{0, 7, 0}, // p = 0: the bound is 0
	} {
		if got := Wilson(c.up, c.down); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("Wilson(%d, %d) = %.10f, want %.10f", c.up, c.down, got, c.want)
		}
	}
	// More votes at the same share rank higher; that is the point of it.
	if !(Wilson(10, 0) > Wilson(1, 0) && Wilson(100, 10) > Wilson(10, 1)) {
		t.Error("more votes at the same share do not rank higher")
	}
}

// TestControversy: (up+down)^(min/max) when both are positive, else 0.
func TestControversy(t *testing.T) {
	for _, c := range []struct {
		up, down int32
		want     float64
	}{
		{10, 5, 3.8729833462}, // 15^(5/10) = √15
		{5, 10, 3.8729833462}, // the same, whichever side has more
		{5, 15, 2.7144176166}, // 20^(5/15) = ∛20
		{3, 3, 6},             // 6^1
		{1, 1, 2},             // 2^1
		{3, 0, 0},             // no down votes
		{0, 3, 0},             // no up votes
		{0, 0, 0},
	} {
		if got := Controversy(c.up, c.down); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("Controversy(%d, %d) = %.10f, want %.10f", c.up, c.down, got, c.want)
		}
	}
}

// refCmp orders siblings under s as SPEC §10 says, computed apart from the
// order's keys: negative when a goes before b.
func refCmp(s Sort, a, b *Node) int {
	var c int
	switch s {
	case SortNew:
		return cmp.Compare(b.id, a.id)
	case SortTop:
		c = cmp.Compare(int64(b.up)-int64(b.down), int64(a.up)-int64(a.down))
	case SortBest:
		c = cmp.Compare(Wilson(b.up, b.down), Wilson(a.up, a.down))
	case SortControversial:
		c = cmp.Compare(Controversy(b.up, b.down), Controversy(a.up, a.down))
	}
	if c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// refWalk is the subtree at top in s's pre-order, ids up to maxID, by
// sorting each comment's replies as it goes.
func refWalk(s Sort, top *Node, maxID int32) []*Node {
	var out []*Node
	var walk func(n *Node)
	walk = func(n *Node) {
		out = append(out, n)
		var kids []*Node
		for c := n.firstChild; c != nil; c = c.next {
			if c.id <= maxID {
				kids = append(kids, c)
			}
		}
		slices.SortFunc(kids, func(a, b *Node) int { return refCmp(s, a, b) })
		for _, c := range kids {
			walk(c)
		}
	}
	walk(top)
	return out
}

// oldAfter is the comment after n in old order over the whole tree, ids
// up to maxID: the definition, by the tree's own walk.
func oldAfter(n *Node, maxID int32) *Node {
	root := n
	for root.parent != nil {
		root = root.parent
	}
	for n = next(n, root); n != nil && n.id > maxID; n = next(n, root) {
	}
	return n
}

// applyVote applies a vote event to the comment at path and tells the
// orders, as the tree's owner does.
func applyVote(tr *Tree, orders []*Order, path comment.Path, up, down int32) error {
	e := &comment.Event{Kind: comment.EventVoted, At: t0, Voted: &comment.Voted{Path: path, Voter: "v", Value: 1, Up: up, Down: down}}
	if err := tr.Apply(e, nil); err != nil {
		return err
	}
	for _, o := range orders {
		o.Voted(tr, tr.Find(path))
	}
	return nil
}

// applyReply applies a new comment under parent and tells the orders.
func applyReply(tr *Tree, orders []*Order, parent comment.Path) (comment.Path, error) {
	path := parent.Child(int32(tr.Len()))
	if err := tr.Apply(created(path, "u", fmt.Sprint("c", tr.Len()), t0), nil); err != nil {
		return nil, err
	}
	for _, o := range orders {
		o.Added(tr, tr.Node(path.ID()))
	}
	return path, nil
}

func voteOn(tb testing.TB, tr *Tree, orders []*Order, path comment.Path, up, down int32) {
	tb.Helper()
	if err := applyVote(tr, orders, path, up, down); err != nil {
		tb.Fatal(err)
	}
}

func addReply(tb testing.TB, tr *Tree, orders []*Order, parent comment.Path) comment.Path {
	tb.Helper()
	path, err := applyReply(tr, orders, parent)
	if err != nil {
		tb.Fatal(err)
	}
	return path
}

// randomVotes are vote counts small enough to tie often.
func randomVotes(rng *rand.Rand) (up, down int32) {
	if rng.IntN(4) == 0 {
		return 0, 0
	}
	if rng.IntN(8) == 0 {
		return rng.Int32N(500), rng.Int32N(500)
	}
	return rng.Int32N(6), rng.Int32N(4)
}

// randomTree makes an n-comment topic shaped like the benchmarks' mix:
// replies to the root, to a random comment, or to the last one; and votes
// on most comments, some of them before their siblings came.
func randomTree(tb testing.TB, rng *rand.Rand, n int) (*Tree, []comment.Path) {
	tb.Helper()
	tr := New()
	if err := tr.Apply(created(comment.RootPath, "u", "root", t0), nil); err != nil {
		tb.Fatal(err)
	}
	paths := []comment.Path{comment.RootPath}
	for i := 1; i < n; i++ {
		parent := paths[0]
		switch r := rng.IntN(10); {
		case r < 3:
		case r < 7:
			parent = paths[rng.IntN(i)]
		default:
			parent = paths[i-1]
		}
		paths = append(paths, addReply(tb, tr, nil, parent))
		if rng.IntN(3) == 0 {
			up, down := randomVotes(rng)
			voteOn(tb, tr, nil, paths[rng.IntN(len(paths))], up, down)
		}
	}
	return tr, paths
}

// pageNodes are the comments of a rendered page, in order.
func pageNodes(tb testing.TB, tr *Tree, pg Page) []*Node {
	tb.Helper()
	var items []struct {
		ID   int32  `json:"comment_id"`
		Path string `json:"parent_path"`
	}
	if err := json.Unmarshal(bytes.Join(pg.Chunks, nil), &items); err != nil {
		tb.Fatalf("page is not JSON: %v", err)
	}
	nodes := make([]*Node, len(items))
	for i, it := range items {
		nodes[i] = tr.Node(it.ID)
		if nodes[i].Path() != it.Path {
			tb.Fatalf("item %d: path %s, comment %d is at %s", i, it.Path, it.ID, nodes[i].Path())
		}
	}
	if len(nodes) > 0 && (pg.First != nodes[0] || pg.Last != nodes[len(nodes)-1]) {
		tb.Fatalf("first/last %v/%v, page from %d to %d", pg.First, pg.Last, nodes[0].id, nodes[len(nodes)-1].id)
	}
	return nodes
}

// checkRuns: the runs of a page, each expanded by walking old order from
// its first to its last comment, ids up to maxID, are the page; and they
// are maximal: no run's end is followed, in old order, by the next's start.
func checkRuns(tb testing.TB, pg Page, nodes []*Node, maxID int32) {
	tb.Helper()
	if len(nodes) == 0 {
		if len(pg.Runs) != 0 {
			tb.Fatalf("%d runs of an empty page", len(pg.Runs))
		}
		return
	}
	var got []*Node
	for i, r := range pg.Runs {
		for n := r.First; ; n = oldAfter(n, maxID) {
			if n == nil {
				tb.Fatalf("run %d: %s does not lead to %s in old order", i, r.First.Path(), r.Last.Path())
			}
			got = append(got, n)
			if n == r.Last {
				break
			}
		}
		if i > 0 && oldAfter(pg.Runs[i-1].Last, maxID) == r.First {
			tb.Fatalf("runs %d and %d could be one: %s follows %s", i-1, i, r.First.Path(), pg.Runs[i-1].Last.Path())
		}
	}
	// Runs are in old order, whatever the page's order: they count the
	// same comments.
	byID := func(a, b *Node) int { return cmp.Compare(a.id, b.id) }
	got, nodes = slices.SortedFunc(slices.Values(got), byID), slices.SortedFunc(slices.Values(nodes), byID)
	if !slices.Equal(got, nodes) {
		tb.Fatalf("runs give %s, the page is %s", pathsOf(got), pathsOf(nodes))
	}
}

func pathsOf(nodes []*Node) string {
	var b bytes.Buffer
	for _, n := range nodes {
		fmt.Fprintf(&b, " %s", n.Path())
	}
	return b.String()
}

// checkWalk: walk is the subtree at top, ids up to maxID, once each
// (permutation); in pre-order, each comment's interval of positions (it
// and its subtree) lies within its parent's; and, unless sorted is false,
// siblings in s's order.
func checkWalk(tb testing.TB, s Sort, sorted bool, walk []*Node, top *Node, maxID int32) {
	tb.Helper()
	size := map[*Node]int{}
	var count func(n *Node) int
	count = func(n *Node) int {
		k := 1
		for c := n.firstChild; c != nil; c = c.next {
			if c.id <= maxID {
				k += count(c)
			}
		}
		size[n] = k
		return k
	}
	count(top)
	pos := make(map[*Node]int, len(walk))
	for i, n := range walk {
		if _, ok := size[n]; !ok || n.id > maxID {
			tb.Fatalf("%s is not in the subtree at %s up to id %d", n.Path(), top.Path(), maxID)
		}
		if _, dup := pos[n]; dup {
			tb.Fatalf("%s twice", n.Path())
		}
		pos[n] = i
	}
	if len(walk) != len(size) || walk[0] != top {
		tb.Fatalf("%d comments from %s, the subtree at %s has %d", len(walk), walk[0].Path(), top.Path(), len(size))
	}
	prev := map[*Node]*Node{} // parent → its reply last seen
	for _, n := range walk[1:] {
		p := n.parent
		if pos[p] >= pos[n] || pos[n]+size[n] > pos[p]+size[p] {
			tb.Fatalf("%s at %d (size %d) is not within its parent's subtree at %d (size %d)", n.Path(), pos[n], size[n], pos[p], size[p])
		}
		if q := prev[p]; sorted && q != nil && refCmp(s, q, n) >= 0 {
			up, down := n.Votes()
			qu, qd := q.Votes()
			tb.Fatalf("%s: %s (%d/%d) after %s (%d/%d)", s, n.Path(), up, down, q.Path(), qu, qd)
		}
		prev[p] = n
	}
}

// render renders a page with a pager, chunk chunks at a time.
func render(tb testing.TB, tr *Tree, o *Order, parent, after comment.Path, limit, chunk int) Page {
	tb.Helper()
	pg, err := tr.PagerIn(o, parent, after, limit)
	if err != nil {
		tb.Fatal(err)
	}
	for !pg.Next(chunk, math.MaxInt) {
	}
	return pg.Page()
}

// TestOrderPages: for random trees with random votes, in every sort, for
// the whole topic and subtrees, paging with limit and after:
//
//	(a) the pages joined are the whole walk;
//	(b) the walk is the subtree's comments, once each;
//	(c) in pre-order;
//	(d) siblings in the sort's order, ties by id;
//	(e) each page's runs are exactly its comments in old order;
//	(f) pages sliced from a Full in that order are the direct renderings.
func TestOrderPages(t *testing.T) {
	for seed := range uint64(3) {
		rng := rand.New(rand.NewPCG(seed, 77))
		tr, paths := randomTree(t, rng, 300)
		for _, s := range allSorts {
			o := tr.NewOrder(s)
			if o.Sort() != s {
				t.Fatalf("NewOrder(%s).Sort() = %s", s, o.Sort())
			}
			fp := tr.FullPagerIn(o)
			for !fp.Next(37, math.MaxInt) { // many chunks, so that pages span them
			}
			full := fp.Full()
			if full.Sort() != s {
				t.Fatalf("a Full in %s says %s", s, full.Sort())
			}
			maxID := int32(tr.Len() - 1)
			tops := []comment.Path{comment.RootPath}
			for range 6 {
				tops = append(tops, paths[rng.IntN(len(paths))])
			}
			for _, parent := range tops {
				top := tr.Find(parent)
				whole := pageNodes(t, tr, render(t, tr, o, parent, nil, 0, math.MaxInt))
				if want := refWalk(s, top, maxID); !slices.Equal(whole, want) {
					t.Fatalf("seed %d %s at %s:\n%s\nwant\n%s", seed, s, parent, pathsOf(whole), pathsOf(want))
				}
				checkWalk(t, s, true, whole, top, maxID)
				for _, limit := range []int{0, 1, 7, 50} {
					t.Run(fmt.Sprintf("seed%d/%s/%s/limit%d", seed, s, parent, limit), func(t *testing.T) {
						checkPaging(t, tr, o, full, parent, limit, whole)
					})
				}
			}
		}
	}
}

// checkPaging pages through the subtree at parent, limit comments a page,
// each page rendered in chunks of several sizes and sliced from full.
func checkPaging(t *testing.T, tr *Tree, o *Order, full *Full, parent comment.Path, limit int, whole []*Node) {
	var joined []*Node
	var after comment.Path
	for {
		pg := render(t, tr, o, parent, after, limit, math.MaxInt)
		nodes := pageNodes(t, tr, pg)
		checkRuns(t, pg, nodes, int32(tr.Len()-1))
		if o == nil && len(nodes) > 0 && (len(pg.Runs) != 1 || pg.Runs[0] != (Run{pg.First, pg.Last})) {
			t.Fatalf("an old-order page is not one run {First, Last}: %v", pg.Runs)
		}
		for _, chunk := range []int{1, 3} {
			got := render(t, tr, o, parent, after, limit, chunk)
			samePage(t, fmt.Sprintf("in chunks of %d", chunk), got, pg)
		}
		sliced, ok, err := full.Page(tr, parent, after, limit)
		if !ok || err != nil {
			t.Fatalf("Full.Page(%s, %s, %d): ok=%v, %v", parent, after, limit, ok, err)
		}
		samePage(t, "sliced from the Full", sliced, pg)
		joined = append(joined, nodes...)
		if !pg.More {
			break
		}
		if limit == 0 || len(nodes) != limit {
			t.Fatalf("%d comments on a page of %d with more to come", len(nodes), limit)
		}
		p, err := comment.ParsePath(pg.Last.Path())
		if err != nil {
			t.Fatal(err)
		}
		after = p
	}
	if !slices.Equal(joined, whole) {
		t.Fatalf("pages joined:\n%s\nwhole:\n%s", pathsOf(joined), pathsOf(whole))
	}
}

// samePage fails unless got is want, byte for byte, with the same
// first, last, more and runs.
func samePage(tb testing.TB, how string, got, want Page) {
	tb.Helper()
	g, w := bytes.Join(got.Chunks, nil), bytes.Join(want.Chunks, nil)
	if !bytes.Equal(g, w) || got.More != want.More || got.First != want.First || got.Last != want.Last || !slices.Equal(got.Runs, want.Runs) {
		tb.Fatalf("%s:\n %.300s more=%v runs=%d\nwant\n %.300s more=%v runs=%d", how, g, got.More, len(got.Runs), w, want.More, len(want.Runs))
	}
}

// groupsOf is an order's groups by parent id.
func groupsOf(o *Order) map[int32][]int32 {
	m := map[int32][]int32{}
	for id, s := range o.slot {
		if s != 0 {
			m[int32(id)] = o.groups[s-1].ids
		}
	}
	return m
}

// checkCurrent: an order kept by Added and Voted is the order built anew.
func checkCurrent(tb testing.TB, tr *Tree, o *Order) {
	tb.Helper()
	fresh := tr.NewOrder(o.Sort())
	got, want := groupsOf(o), groupsOf(fresh)
	for id, ids := range want {
		if !slices.Equal(got[id], ids) {
			tb.Fatalf("%s: replies of %d kept as %v, built as %v", o.Sort(), id, got[id], ids)
		}
	}
	if len(got) != len(want) || !slices.Equal(o.keys, fresh.keys) {
		tb.Fatalf("%s: %d groups kept, %d built; or keys differ", o.Sort(), len(got), len(want))
	}
	var sum int64
	for _, g := range o.groups {
		sum += int64(cap(g.ids))
	}
	if sum != o.idCap || o.Bytes() < 12*int64(tr.Len()) {
		tb.Fatalf("idCap %d, the groups hold %d; Bytes %d", o.idCap, sum, o.Bytes())
	}
}

// TestOrderBetweenChunks: a page rendered a few comments at a time, with
// votes and new comments applied between chunks, holds every comment of
// its subtree up to its max id once, in pre-order, and its runs are its
// comments in old order; the orders kept by Added and Voted stay the
// orders built anew. Votes go mostly to the siblings the pager is among.
func TestOrderBetweenChunks(t *testing.T) {
	for seed := range uint64(4) {
		for _, s := range allSorts {
			rng := rand.New(rand.NewPCG(seed, 99))
			tr, paths := randomTree(t, rng, 200)
			o := tr.NewOrder(s)
			orders := []*Order{o}
			if o == nil {
				orders = nil
			}
			for _, parent := range []comment.Path{comment.RootPath, paths[rng.IntN(len(paths))]} {
				pg, err := tr.PagerIn(o, parent, nil, 0)
				if err != nil {
					t.Fatal(err)
				}
				maxID := pg.MaxID()
				for !pg.Next(1+rng.IntN(4), math.MaxInt) {
					for range rng.IntN(6) {
						target := paths[rng.IntN(len(paths))]
						if last := pg.last; last != nil && rng.IntN(2) == 0 && last.parent != nil {
							target = siblingOf(rng, last)
						}
						up, down := randomVotes(rng)
						voteOn(t, tr, orders, target, up, down)
					}
					if rng.IntN(2) == 0 {
						paths = append(paths, addReply(t, tr, orders, paths[rng.IntN(len(paths))]))
					}
				}
				page := pg.Page()
				nodes := pageNodes(t, tr, page)
				checkPermutation(t, nodes, tr.Find(parent), maxID)
				checkRuns(t, page, nodes, maxID)
				if o != nil {
					checkCurrent(t, tr, o)
				}
			}
		}
	}
}

// siblingOf is the path of a random sibling of n, n itself included.
func siblingOf(rng *rand.Rand, n *Node) comment.Path {
	var sibs []*Node
	for c := n.parent.firstChild; c != nil; c = c.next {
		sibs = append(sibs, c)
	}
	p, _ := comment.ParsePath(sibs[rng.IntN(len(sibs))].Path())
	return p
}

// checkPermutation: nodes are the subtree at top up to maxID, once each,
// a comment's parent before it and each subtree in one piece; the sibling
// order is whatever the votes made it at each moment.
func checkPermutation(tb testing.TB, nodes []*Node, top *Node, maxID int32) {
	tb.Helper()
	checkWalk(tb, SortOld, false, nodes, top, maxID)
}

// TestOrderBetweenChunksSiblings is the crux of the copy on write, on a
// flat topic: the pager stands among 40 siblings and each chunk reverses
// their order by votes.
func TestOrderBetweenChunksSiblings(t *testing.T) {
	for _, s := range []Sort{SortTop, SortBest, SortControversial} {
		tr := New()
		if err := tr.Apply(created(comment.RootPath, "u", "root", t0), nil); err != nil {
			t.Fatal(err)
		}
		o := tr.NewOrder(s)
		var paths []comment.Path
		for range 40 {
			paths = append(paths, addReply(t, tr, []*Order{o}, comment.RootPath))
		}
		pg, err := tr.PagerIn(o, comment.RootPath, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for round := int32(0); !pg.Next(3, math.MaxInt); round++ {
			for i, p := range paths {
				v := int32(i) + 1
				if round%2 == 0 {
					v = int32(len(paths) - i)
				}
				voteOn(t, tr, []*Order{o}, p, 3*v, v)
			}
			paths = append(paths, addReply(t, tr, []*Order{o}, comment.RootPath))
		}
		page := pg.Page()
		nodes := pageNodes(t, tr, page)
		checkPermutation(t, nodes, tr.Root(), pg.MaxID())
		checkRuns(t, page, nodes, pg.MaxID())
		checkCurrent(t, tr, o)
	}
}

// TestOrderConcurrent runs pagers on several goroutines under a read lock
// they let go between chunks, while a writer applies votes and new
// comments under the write lock: for the race detector, and every page
// still holds its subtree once. The pages are checked once all is done:
// the comments up to a page's max id keep their places in the tree.
func TestOrderConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	tr, paths := randomTree(t, rng, 300)
	o := tr.NewOrder(SortBest)
	type result struct {
		page  Page
		maxID int32
		err   error
	}
	var (
		mu      sync.RWMutex
		wg      sync.WaitGroup
		werr    error
		results [4][]result
	)
	wg.Go(func() {
		for range 2000 {
			mu.Lock()
			if rng.IntN(4) == 0 {
				var p comment.Path
				if p, werr = applyReply(tr, []*Order{o}, paths[rng.IntN(len(paths))]); werr == nil {
					paths = append(paths, p)
				}
			} else {
				up, down := randomVotes(rng)
				werr = applyVote(tr, []*Order{o}, paths[rng.IntN(len(paths))], up, down)
			}
			mu.Unlock()
			if werr != nil {
				return
			}
			runtime.Gosched()
		}
	})
	for r := range results {
		wg.Go(func() {
			for range 20 {
				mu.RLock()
				pg, err := tr.PagerIn(o, comment.RootPath, nil, 0)
				for err == nil && !pg.Next(5+r, math.MaxInt) {
					mu.RUnlock()
					runtime.Gosched()
					mu.RLock()
				}
				results[r] = append(results[r], result{pg.Page(), pg.MaxID(), err})
				mu.RUnlock()
			}
		})
	}
	wg.Wait()
	if werr != nil {
		t.Fatal(werr)
	}
	for _, rs := range results {
		for _, res := range rs {
			if res.err != nil {
				t.Fatal(res.err)
			}
			nodes := pageNodes(t, tr, res.page)
			checkPermutation(t, nodes, tr.Root(), res.maxID)
			checkRuns(t, res.page, nodes, res.maxID)
		}
	}
	checkCurrent(t, tr, o)
}

// TestOrderMeasure: measuring a copy of a sorted pager, as the reader does
// to size a page, leaves the pager where it was.
func TestOrderMeasure(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	tr, paths := randomTree(t, rng, 200)
	o := tr.NewOrder(SortTop)
	after := paths[150]
	want := render(t, tr, o, comment.RootPath, after, 0, math.MaxInt)
	pg, err := tr.PagerIn(o, comment.RootPath, after, 0)
	if err != nil {
		t.Fatal(err)
	}
	m, size := pg, 2
	for done := false; !done; {
		var n int
		n, done = m.Measure(7)
		size += n
	}
	for !pg.Next(4, math.MaxInt) {
	}
	got := pg.Page()
	samePage(t, "after measuring a copy", got, want)
	if n := len(bytes.Join(got.Chunks, nil)); size < n {
		t.Fatalf("measured %d bytes, rendered %d", size, n)
	}
}

// TestOrderSmall pins a small tree's pages in every sort, and the after
// of a sorted page.
func TestOrderSmall(t *testing.T) {
	tr := New()
	// 0 ─┬─ 1 ─┬─ 3  (+2)
	//    │     └─ 5  (+1 −1)
	//    ├─ 2 ─── 6  (+3 −1)
	//    └─ 4        (+5 −4)
	orders := make([]*Order, len(allSorts))
	for i, s := range allSorts {
		orders[i] = tr.NewOrder(s)
	}
	live := slices.DeleteFunc(slices.Clone(orders), func(o *Order) bool { return o == nil })
	if err := tr.Apply(created(comment.RootPath, "u", "root", t0), nil); err != nil {
		t.Fatal(err)
	}
	for _, o := range live {
		o.Added(tr, tr.Root())
	}
	for _, p := range []comment.Path{{0}, {0}, {0, 1}, {0}, {0, 1}, {0, 2}} {
		addReply(t, tr, live, p)
	}
	voteOn(t, tr, live, comment.Path{0, 1, 3}, 2, 0)
	voteOn(t, tr, live, comment.Path{0, 1, 5}, 1, 1)
	voteOn(t, tr, live, comment.Path{0, 2, 6}, 3, 1)
	voteOn(t, tr, live, comment.Path{0, 4}, 5, 4)
	cases := map[Sort]string{
		SortOld: " 0 0/1 0/1/3 0/1/5 0/2 0/2/6 0/4",
		SortNew: " 0 0/4 0/2 0/2/6 0/1 0/1/5 0/1/3",
		// top: 4 is +1, 1 and 2 are 0 (old first); 3 +2 before 5 0
		SortTop: " 0 0/4 0/1 0/1/3 0/1/5 0/2 0/2/6",
		// best: 4 Wilson(5,4) > 0; 3 Wilson(2,0) = 0.342 > 5 Wilson(1,1) = 0.095
		SortBest: " 0 0/4 0/1 0/1/3 0/1/5 0/2 0/2/6",
		// controversial: 4 9^(4/5); 5 2^1 = 2 before 3 (0)
		SortControversial: " 0 0/4 0/1 0/1/5 0/1/3 0/2 0/2/6",
	}
	for i, s := range allSorts {
		pg, err := tr.RenderIn(orders[i], comment.RootPath, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := pathsOf(pageNodes(t, tr, pg)); got != cases[s] {
			t.Errorf("%s: %s, want %s", s, got, cases[s])
		}
	}
	// After 0/1/5 in controversial order: its subtree is done, then 0/1's,
	// and 0/2 comes next.
	pg, err := tr.RenderIn(orders[4], comment.RootPath, comment.Path{0, 1, 5}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := pathsOf(pageNodes(t, tr, pg)); got != " 0/1/3 0/2" || !pg.More || len(pg.Runs) != 2 {
		t.Errorf("after 0/1/5: %s more=%v runs=%d", got, pg.More, len(pg.Runs))
	}
	if _, err := tr.RenderIn(orders[3], comment.Path{0, 1}, comment.Path{0, 2}, 0); !errors.Is(err, errs.Invalid) {
		t.Errorf("after outside the subtree: %v", err)
	}
}

// mixPaths are n paths shaped as the reader's benchmarks' "mix" topic
// (internal/reader/bench_test.go: benchPaths), with the same seed.
func mixPaths(n int) []comment.Path {
	rng := rand.New(rand.NewPCG(1, 2))
	paths := make([]comment.Path, n)
	paths[0] = comment.RootPath
	for i := 1; i < n; i++ {
		parent := 0
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
		paths[i] = paths[parent].Child(int32(i))
	}
	return paths
}

// flatPaths are a root and n-1 replies to it.
func flatPaths(n int) []comment.Path {
	paths := []comment.Path{comment.RootPath}
	for i := 1; i < n; i++ {
		paths = append(paths, comment.RootPath.Child(int32(i)))
	}
	return paths
}

// benchTree is a topic at paths with 100-byte contents and votes on every
// comment.
func benchTree(b *testing.B, paths []comment.Path) *Tree {
	tr := New()
	content := benchText(100)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, p := range paths {
		if err := tr.Apply(created(p, "alice", content, t0), nil); err != nil {
			b.Fatal(err)
		}
		tr.Node(p.ID()).SetVotes(rng.Int32N(200), rng.Int32N(50))
	}
	return tr
}

// BenchmarkOrderBuild builds the best order of a 50,000-comment topic
// (the mix shape) with votes on every comment.
func BenchmarkOrderBuild(b *testing.B) {
	tr := benchTree(b, mixPaths(50000))
	b.ReportAllocs()
	for b.Loop() {
		benchSink += tr.NewOrder(SortBest).Len()
	}
	b.ReportMetric(float64(tr.NewOrder(SortBest).Bytes()), "order-bytes")
}

// BenchmarkRenderOrder renders that topic whole, 250 comments a chunk as
// the reader does, in old order (the links) and in best order (the
// groups), directly and as a Full; walk only measures the page, the walk
// without the encoding.
func BenchmarkRenderOrder(b *testing.B) {
	tr := benchTree(b, mixPaths(50000))
	for _, s := range []Sort{SortOld, SortBest} {
		o := tr.NewOrder(s)
		b.Run("walk/"+s.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				pg, err := tr.PagerIn(o, comment.RootPath, nil, 0)
				if err != nil {
					b.Fatal(err)
				}
				size, done := pg.Measure(math.MaxInt)
				if !done {
					b.Fatal("measured part of the page")
				}
				benchSink += size
			}
		})
		b.Run("page/"+s.String(), func(b *testing.B) {
			b.SetBytes(int64(len(bytes.Join(render(b, tr, o, comment.RootPath, nil, 0, 250).Chunks, nil))))
			b.ReportAllocs()
			for b.Loop() {
				pg, err := tr.PagerIn(o, comment.RootPath, nil, 0)
				if err != nil {
					b.Fatal(err)
				}
				for !pg.Next(250, 256<<10) {
				}
				benchSink += len(pg.Page().Chunks)
			}
		})
		b.Run("full/"+s.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				pg := tr.FullPagerIn(o)
				for !pg.Next(250, 256<<10) {
				}
				benchSink += pg.Full().Size()
			}
		})
	}
}

// BenchmarkVoted moves a comment among 50,000 siblings (a flat topic) and
// among 10, to a random new place each time. shared: a pager took the
// group since the last vote, so the vote copies it (the worst case, one
// vote per rendering); else the group changes in place (votes applied in a
// batch between renderings).
func BenchmarkVoted(b *testing.B) {
	for _, c := range []struct {
		name string
		n    int
	}{{"flat50k", 50001}, {"siblings10", 11}} {
		for _, shared := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/shared=%v", c.name, shared), func(b *testing.B) {
				tr := benchTree(b, flatPaths(c.n))
				o := tr.NewOrder(SortBest)
				rng := rand.New(rand.NewPCG(5, 6))
				b.ReportAllocs()
				for b.Loop() {
					n := tr.Node(1 + rng.Int32N(int32(c.n-1)))
					n.SetVotes(rng.Int32N(200), rng.Int32N(50))
					if shared {
						o.take(tr.Root())
					}
					o.Voted(tr, n)
				}
			})
		}
	}
}

// TestRunsFewest: a page of the newest replies of a flat topic, in
// sort=new, is the root and one stretch of old order: two view ranges,
// not one per comment.
func TestRunsFewest(t *testing.T) {
	tr := New()
	for i, p := range flatPaths(300) {
		if err := tr.Apply(created(p, "u", "c", t0.Add(time.Duration(i)*time.Second)), nil); err != nil {
			t.Fatal(err)
		}
	}
	pg, err := tr.RenderIn(tr.NewOrder(SortNew), comment.RootPath, nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	var runs []string
	for _, r := range pg.Runs {
		runs = append(runs, r.First.Path()+".."+r.Last.Path())
	}
	if fmt.Sprint(runs) != "[0..0 0/201..0/299]" {
		t.Fatalf("runs %v", runs)
	}
}
