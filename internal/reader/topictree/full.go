package topictree

import (
	"math"
	"slices"
	"strings"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
)

// Full is the whole tree rendered once, in one order, with where each
// comment's item lies. Every page of the topic in that order, whatever its
// subtree, start and limit, is a contiguous stretch of it, as every order
// keeps pre-order, so a Full answers any number of large pages,
// concurrently, with slices of one rendering instead of a rendering each.
// It is immutable once made.
type Full struct {
	chunks [][]byte
	idx    index
	maxID  int32
	size   int
	sort   Sort
}

// index locates the items of a Full: comments by their position in its
// order.
type index struct {
	pos   []int32 // id → position; -1 for an id the rendering does not hold
	nodes []*Node // position → comment
	spans []span  // position → its item
	ends  []int32 // position → the first position after its subtree
	open  []int32 // positions whose subtree end is not known yet, deepest last
	depth []int32 // position → depth, while open
	// breaks are the positions where a run (see Run) begins, ascending:
	// 0 alone for a rendering in old order.
	breaks []int32
}

type span struct {
	chunk      int32
	start, end int32 // the item is chunks[chunk][start:end]
}

func newIndex(maxID int32) *index {
	pos := make([]int32, maxID+1)
	for i := range pos {
		pos[i] = -1
	}
	return &index{pos: pos, depth: make([]int32, 0, 64)}
}

// add records the item of n, the next comment in the rendering's order.
func (x *index) add(n *Node, chunk, start, end int) {
	i := int32(len(x.nodes))
	x.pos[n.id] = i
	x.nodes = append(x.nodes, n)
	x.spans = append(x.spans, span{int32(chunk), int32(start), int32(end)})
	x.ends = append(x.ends, 0)
	d := int32(strings.Count(n.Path(), "/"))
	for len(x.open) > 0 && x.depth[len(x.depth)-1] >= d {
		x.ends[x.open[len(x.open)-1]] = i
		x.open, x.depth = x.open[:len(x.open)-1], x.depth[:len(x.depth)-1]
	}
	x.open, x.depth = append(x.open, i), append(x.depth, d)
}

// close ends the subtrees still open: they run to the end.
func (x *index) close() {
	for _, i := range x.open {
		x.ends[i] = int32(len(x.nodes))
	}
	x.open, x.depth = nil, nil
}

// runs are the runs of positions [from, to), a slice of the rendering.
func (x *index) runs(from, to int32) []Run {
	r0, _ := slices.BinarySearch(x.breaks, from+1) // breaks[0] is 0: r0 ≥ 1
	r1, _ := slices.BinarySearch(x.breaks, to)
	runs := make([]Run, 0, r1-r0+1)
	for r := r0 - 1; r < r1; r++ {
		end := to
		if r+1 < len(x.breaks) {
			end = min(end, x.breaks[r+1])
		}
		runs = append(runs, Run{x.nodes[max(x.breaks[r], from)], x.nodes[end-1]})
	}
	return runs
}

// FullPager starts rendering the whole tree as a Full, a chunk at a time.
func (t *Tree) FullPager() Pager { return t.FullPagerIn(nil) }

// FullPagerIn starts rendering the whole tree in o's order (nil: old
// order) as a Full, a chunk at a time.
func (t *Tree) FullPagerIn(o *Order) Pager {
	c := t.cursor(o, t.nodes[0])
	return Pager{cur: c, left: math.MaxInt, index: newIndex(c.maxID)}
}

// Full returns the rendering; call it once Next has reported it complete.
func (p *Pager) Full() *Full {
	pg := p.Page()
	p.index.close()
	return &Full{chunks: pg.Chunks, idx: *p.index, maxID: p.cur.maxID, size: p.size, sort: p.cur.order.Sort()}
}

// Sort is the order the rendering is in.
func (f *Full) Sort() Sort { return f.sort }

// Size is the bytes of the rendering.
func (f *Full) Size() int { return f.size }

// MaxID is the newest comment id the rendering holds.
func (f *Full) MaxID() int32 { return f.maxID }

// Page slices out of the rendering the page RenderIn would give in its
// order, at its state. t is the tree it was rendered from, read under its
// owner's lock, at the same or a later state; ok is false when the page
// starts at a comment the rendering does not hold (newer than it), and the
// page must be rendered directly.
func (f *Full) Page(t *Tree, parent, after comment.Path, limit int) (pg Page, ok bool, err error) {
	top := t.Find(parent)
	if top == nil {
		return Page{}, false, errs.NotFound.New("no comment at parent_path in this topic")
	}
	var a *Node
	if after != nil {
		if a = t.Find(after); a == nil || !after.Within(parent) {
			return Page{}, false, errs.Invalid.New("after must be a comment in the requested subtree")
		}
	}
	if top.id > f.maxID || (a != nil && a.id > f.maxID) {
		return Page{}, false, nil
	}
	x := &f.idx
	from, end := x.pos[top.id], x.ends[x.pos[top.id]]
	if a != nil {
		from = x.pos[a.id] + 1
	}
	to := end
	if limit > 0 && int(to-from) > limit {
		to = from + int32(limit)
	}
	if from >= to {
		return Page{Chunks: [][]byte{[]byte("[]")}}, true, nil
	}
	s, e := x.spans[from], x.spans[to-1]
	chunks := make([][]byte, 0, e.chunk-s.chunk+3)
	chunks = append(chunks, open)
	if s.chunk == e.chunk {
		chunks = append(chunks, f.chunks[s.chunk][s.start:e.end])
	} else {
		chunks = append(chunks, f.chunks[s.chunk][s.start:])
		chunks = append(chunks, f.chunks[s.chunk+1:e.chunk]...) // each begins with its separating comma
		chunks = append(chunks, f.chunks[e.chunk][:e.end])
	}
	chunks = append(chunks, shut)
	runs := x.runs(from, to)
	switch {
	case len(runs) < 2:
	case a == nil && to == end: // a whole subtree: one run in any order
		runs = []Run{{top, lastOld(top, f.maxID)}}
	default:
		runs = mergeRuns(runs, f.maxID)
	}
	return Page{Chunks: chunks, First: x.nodes[from], Last: x.nodes[to-1], More: to < end, Runs: runs}, true, nil
}

var open, shut = []byte("["), []byte("]")
