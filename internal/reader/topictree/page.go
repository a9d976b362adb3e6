package topictree

import (
	"errors"
	"math"
	"slices"
	"strings"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
)

// Page is one rendered page of a subtree.
type Page struct {
	Chunks      [][]byte // together, a JSON array of TopicItem objects
	First, Last *Node    // the page's first and last comments; nil when empty
	More        bool     // comments of the subtree follow Last
	// Runs are the page's comments cut where they stop following each
	// other in old order: views are counted as old-order ranges, and a
	// sorted page, or one that leaves deeper comments out, is several. An
	// old-order page of every depth is one run, {First, Last}; an empty
	// page, none.
	Runs []Run
}

// Run is a stretch of a page that is consecutive in old order over the
// whole tree, comments newer than the page left out: the comments from
// First to Last that a comment.ViewRange with the page's max id stands for.
type Run struct{ First, Last *Node }

// Render renders the subtree at parent in tree order: from its root, or
// from the comment after after, at most limit comments (0: all), in one go.
func (t *Tree) Render(parent, after comment.Path, limit int) (Page, error) {
	return t.RenderIn(nil, parent, after, limit)
}

// RenderIn is Render in o's order (nil: old order).
func (t *Tree) RenderIn(o *Order, parent, after comment.Path, limit int) (Page, error) {
	pg, err := t.PagerIn(o, parent, after, limit)
	if err != nil {
		return Page{}, err
	}
	for !pg.Next(math.MaxInt, math.MaxInt) {
	}
	return pg.Page(), nil
}

// Pager renders a page a chunk of comments at a time, so that its owner can
// let the tree change between chunks (and apply events) instead of holding
// it for a whole large page. Each chunk is allocated at its exact size.
// Comments created after the pager started are left out, so a page never
// holds a comment newer than its range's max id; edits, deletes and votes
// made between chunks show in the chunks rendered after them. In a sorted
// order, each group of siblings is walked as it was when the pager entered
// it, so votes between chunks neither repeat nor skip a comment.
type Pager struct {
	cur         cursor
	scratch     []frame // the measuring walk's frames, kept for the next chunk
	first, last *Node
	left        int // comments the limit still allows
	chunks      [][]byte
	size        int
	runs        [][2]int32 // sorted: the page's runs, by first and last id
	index       *index     // where each item is, when rendering a Full
}

// cursor walks a subtree in pre-order, ids up to maxID: by the links in
// old order (order nil), or by an Order's groups.
type cursor struct {
	top, x *Node // x is the next comment, nil at the end
	maxID  int32 // the newest id when the walk started
	depth  int32 // how many levels below top the walk goes; -1: all
	base   int32 // top's depth in the tree
	order  *Order
	nodes  []*Node // the tree's comments by id, for the order's ids and the runs
	stack  []frame // sorted: the groups the walk is in, outermost first
}

// cursor starts a walk of the subtree at top in o's order. A stale order
// (behind its tree, a bug of its owner) bounds the walk to the comments it
// holds, so the page is right for an older state.
func (t *Tree) cursor(o *Order, top *Node) cursor {
	maxID := int32(len(t.nodes) - 1)
	if o != nil {
		maxID = min(maxID, int32(o.Len()-1))
	}
	return cursor{top: top, x: top, maxID: maxID, order: o, depth: -1, nodes: t.nodes}
}

// step moves to the next comment.
func (c *cursor) step() {
	if c.order != nil {
		c.x = c.sortedNext(c.x)
		return
	}
	c.x = c.nextOld(c.x)
	c.skipNew()
}

// skipNew moves past comments newer than the walk, in old order; a sorted
// walk never stops at one.
func (c *cursor) skipNew() {
	for c.order == nil && c.x != nil && c.x.id > c.maxID {
		c.x = c.nextOld(c.x)
	}
}

// descends reports whether the walk goes below n: whether n's replies are
// within the walk's depth.
func (c *cursor) descends(n *Node) bool {
	return c.depth < 0 || level(n)-c.base < c.depth
}

// level is n's depth in the tree: 0 for the root.
func level(n *Node) int32 { return int32(strings.Count(n.Path(), "/")) }

// nextOld is the comment after n in old order within the walk: its subtree
// and its depth.
func (c *cursor) nextOld(n *Node) *Node {
	if c.depth < 0 {
		return next(n, c.top)
	}
	if n.firstChild != nil && c.descends(n) {
		return n.firstChild
	}
	for n != c.top {
		if n.next != nil {
			return n.next
		}
		if n = n.parent; n == nil {
			return nil
		}
	}
	return nil
}

// split tells whether the walk's pages may skip comments between two they
// hold, in old order: then a page's views are several runs.
func (c *cursor) split() bool { return c.order != nil || c.depth >= 0 }

// Pager starts a page of the subtree at parent, as Render would render it.
func (t *Tree) Pager(parent, after comment.Path, limit int) (Pager, error) {
	return t.PagerIn(nil, parent, after, limit)
}

// PagerIn starts a page of the subtree at parent in o's order (nil: old
// order): from its root, or from the comment after after in that order, at
// most limit comments (0: all). o must follow t: every comment t holds
// Added, every vote Voted.
func (t *Tree) PagerIn(o *Order, parent, after comment.Path, limit int) (Pager, error) {
	return t.PagerWithin(o, parent, after, limit, -1)
}

// PagerWithin is PagerIn leaving out the comments more than depth levels
// below parent (depth 0: parent alone; negative: none left out).
func (t *Tree) PagerWithin(o *Order, parent, after comment.Path, limit, depth int) (Pager, error) {
	top := t.Find(parent)
	if top == nil {
		return Pager{}, errs.NotFound.New("no comment at parent_path in this topic")
	}
	var a *Node
	if after != nil {
		if a = t.Find(after); a == nil || !after.Within(parent) {
			return Pager{}, errs.Invalid.New("after must be a comment in the requested subtree")
		}
		if depth >= 0 && after.Depth()-parent.Depth() > depth {
			return Pager{}, errs.Invalid.New("after must be a comment within the requested depth")
		}
	}
	if limit <= 0 {
		limit = math.MaxInt
	}
	p := Pager{cur: t.cursor(o, top), left: limit}
	if depth >= 0 {
		p.cur.depth, p.cur.base = int32(min(depth, math.MaxInt32)), level(top)
	}
	switch {
	case o == nil:
		if a != nil {
			p.cur.x = p.cur.nextOld(a)
		}
	case top.id > p.cur.maxID || a != nil && a.id > p.cur.maxID:
		return Pager{}, errStaleOrder
	case a != nil:
		p.cur.seekAfter(a)
	}
	return p, nil
}

// errStaleOrder is a page asked of an order that has not taken in the
// comments it starts at: a bug of the order's owner, not of the request.
var errStaleOrder = errors.New("topictree: the order is behind its tree")

// Next renders up to n more comments, and about maxBytes at most (at least
// one comment), as one chunk and reports whether the page is complete.
func (p *Pager) Next(n, maxBytes int) bool {
	p.cur.skipNew()
	if k, size := p.measure(n, maxBytes); k > 0 {
		p.render(k, size)
	}
	p.cur.skipNew()
	return p.cur.x == nil || p.left == 0
}

// measure counts the comments of the next chunk and their bytes, walking a
// copy of the cursor.
func (p *Pager) measure(n, maxBytes int) (k, size int) {
	m := p.cur
	m.stack = append(p.scratch[:0], p.cur.stack...)
	for ; m.x != nil && k < n && k < p.left && (k == 0 || size < maxBytes); m.step() {
		size += len(m.x.buf) + itemOverhead
		k++
	}
	p.scratch = m.stack
	return k, size
}

// render renders the next k comments, size bytes at most, as a chunk.
func (p *Pager) render(k, size int) {
	b := make([]byte, 0, size+2)
	for range k {
		x := p.cur.x
		if p.first == nil {
			p.first = x
			b = append(b, '[')
		} else {
			b = append(b, ',')
		}
		start := len(b)
		b = x.AppendJSON(b, TopicItem, comment.TopicID{})
		p.addToRun(x)
		if p.index != nil {
			p.index.add(x, len(p.chunks), start, len(b))
		}
		p.last = x
		p.cur.step()
	}
	p.left -= k
	p.size += len(b)
	p.chunks = append(p.chunks, b)
}

// addToRun puts x, the next comment of the page, in the page's runs: in
// the last one when it follows the comment before it in old order, which
// an old-order walk of every depth always does (its run is made from First
// and Last). A
// Full keeps where runs begin instead. Runs are kept by id while
// rendering: pointers written for every comment would cost the garbage
// collector's write barrier, with a page's allocations running it.
func (p *Pager) addToRun(x *Node) {
	split := p.cur.split()
	if p.last != nil && (!split || followsOld(p.last, x, p.cur.maxID)) {
		if split && p.index == nil {
			p.runs[len(p.runs)-1][1] = x.id
		}
		return
	}
	switch {
	case p.index != nil:
		p.index.breaks = append(p.index.breaks, int32(len(p.index.nodes)))
	case split:
		p.runs = append(p.runs, [2]int32{x.id, x.id})
	}
}

// pageRuns are the runs of the page rendered. A whole subtree is one run
// in any order: the same comments as in old order.
func (p *Pager) pageRuns() []Run {
	switch {
	case p.first == nil || p.index != nil:
		return nil
	case !p.cur.split():
		return []Run{{p.first, p.last}}
	case p.first == p.cur.top && p.cur.x == nil && p.cur.depth < 0:
		return []Run{{p.first, lastOld(p.first, p.cur.maxID)}}
	}
	runs := make([]Run, len(p.runs))
	for i, r := range p.runs {
		runs[i] = Run{p.cur.nodes[r[0]], p.cur.nodes[r[1]]}
	}
	return mergeRuns(runs, p.cur.maxID)
}

// mergeRuns puts a sorted page's runs in old order and joins those that
// follow each other there: a page of the newest replies in sort=new is a
// stretch of old order walked backwards, one run rather than one per
// comment. Done once per rendering, since a rendering is cached.
func mergeRuns(runs []Run, maxID int32) []Run {
	if len(runs) < 2 {
		return runs
	}
	type keyed struct {
		path comment.Path
		run  Run
	}
	ks := make([]keyed, len(runs))
	for i, r := range runs {
		path, _ := comment.ParsePath(r.First.Path()) // rendered by the tree: well-formed
		ks[i] = keyed{path, r}
	}
	slices.SortFunc(ks, func(a, b keyed) int { return a.path.Compare(b.path) })
	out := runs[:0]
	for _, k := range ks {
		if n := len(out); n > 0 && followsOld(out[n-1].Last, k.run.First, maxID) {
			out[n-1].Last = k.run.Last
			continue
		}
		out = append(out, k.run)
	}
	return out
}

// lastOld is the last comment of top's subtree in old order whose id is at
// most maxID. Siblings are linked in id order, so the newer ones are last.
func lastOld(top *Node, maxID int32) *Node {
	for n := top; ; {
		var last *Node
		for c := n.firstChild; c != nil && c.id <= maxID; c = c.next {
			last = c
		}
		if last == nil {
			return n
		}
		n = last
	}
}

// MaxID is the newest comment id the page may hold: the topic's newest
// when the pager started.
func (p *Pager) MaxID() int32 { return p.cur.maxID }

// Measure walks up to n more comments of the page without rendering them
// and returns the bytes they would take, and whether the page ends there.
// Call it on a copy of a fresh Pager to size a page before rendering it.
func (p *Pager) Measure(n int) (size int, done bool) {
	// The copy shares its frames' array with the pager it was copied
	// from: walk on frames of its own.
	p.cur.stack = append([]frame(nil), p.cur.stack...)
	p.scratch = nil
	p.cur.skipNew()
	for k := 0; p.cur.x != nil && k < n && p.left > 0; p.cur.step() {
		size += len(p.cur.x.buf) + itemOverhead
		k++
		p.left--
	}
	return size, p.cur.x == nil || p.left == 0
}

// EstimateAll is about the bytes of the whole tree rendered, for budgeting
// a rendering before it starts.
func EstimateAll(t *Tree) int64 { return t.bytes + int64(len(t.nodes))*(itemOverhead-nodeOverhead) + 2 }

// Size is the number of bytes rendered so far.
func (p *Pager) Size() int { return p.size }

// Page closes the array and returns the page; call it once Next has
// reported the page complete.
func (p *Pager) Page() Page {
	if p.first == nil {
		p.chunks = append(p.chunks, []byte("[]"))
	} else {
		last := &p.chunks[len(p.chunks)-1]
		*last = append(*last, ']') // room was reserved
	}
	return Page{Chunks: p.chunks, First: p.first, Last: p.last, More: p.cur.x != nil, Runs: p.pageRuns()}
}
