package topictree

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"sync/atomic"
	"unsafe"

	"github.com/parley/parley/internal/errs"
)

// Sort is an order of siblings (SPEC §10). Whatever the sort, a page stays
// in pre-order: a comment before its replies, a subtree in one piece.
type Sort uint8

// The sorts of /topic_comments. Every sort but old ranks siblings by a key,
// highest first, and breaks ties by creation (id ascending).
const (
	SortOld           Sort = iota // creation order: the tree's own links
	SortNew                       // newest first
	SortTop                       // up − down
	SortBest                      // Wilson, the lower bound of the 95 % interval of up/(up+down)
	SortControversial             // Controversy, (up+down)^(min/max)

	NumSorts = int(SortControversial) + 1 // how many sorts there are
)

// sortNames are the sorts as requests name them, by Sort.
var sortNames = [...]string{SortOld: "old", SortNew: "new", SortTop: "top", SortBest: "best", SortControversial: "controversial"}

// ParseSort reads a sort as a request names it. The empty string is an
// error: a caller treats an absent parameter as SortOld itself.
func ParseSort(s string) (Sort, error) {
	for i, name := range sortNames {
		if s == name {
			return Sort(i), nil
		}
	}
	return SortOld, errs.Invalid.New("sort must be old, new, top, best or controversial")
}

// String is the sort's name in requests.
func (s Sort) String() string {
	if int(s) < len(sortNames) {
		return sortNames[s]
	}
	return "Sort(" + strconv.Itoa(int(s)) + ")"
}

// wilsonZ is the normal quantile of a two-sided 95 % interval.
const wilsonZ = 1.96

// Wilson is the lower bound of the 95 % Wilson score interval of the
// proportion of up votes, Reddit's "best": a comment with few votes ranks
// below one with as good a share and more votes. 0 without up votes.
func Wilson(up, down int32) float64 {
	if up <= 0 {
		// The bound is exactly 0 there; the formula would leave rounding
		// noise that orders such comments at random.
		return 0
	}
	u, d := float64(up), float64(max(down, 0))
	n := u + d
	p := u / n
	z2 := wilsonZ * wilsonZ
	return (p + z2/(2*n) - wilsonZ*math.Sqrt((p*(1-p)+z2/(4*n))/n)) / (1 + z2/n)
}

// Controversy is (up+down)^(min(up,down)/max(up,down)) when a comment has
// both up and down votes, else 0: many votes, evenly split, rank first.
func Controversy(up, down int32) float64 {
	if up <= 0 || down <= 0 {
		return 0
	}
	u, d := float64(up), float64(down)
	return math.Pow(u+d, min(u, d)/max(u, d))
}

// key is n's rank under s: siblings go highest first, then by id. It is
// exact for new and top (ids and vote sums fit a float64's mantissa).
func (s Sort) key(n *Node) float64 {
	switch s {
	case SortNew:
		return float64(n.id)
	case SortTop:
		return float64(n.up) - float64(n.down)
	case SortBest:
		return Wilson(n.up, n.down)
	case SortControversial:
		return Controversy(n.up, n.down)
	}
	return -float64(n.id)
}

// Order is the sibling order of one tree under one sort other than old:
// for every comment with at least two replies, their ids in order (one
// reply needs no order, the links give it). Keys are computed once per
// comment and per vote, not per comparison.
//
// Its owner changes it under the same exclusive lock as the tree, right
// after each event (Added, Voted). Pagers walk it under the read lock and
// keep the groups they are in between chunks, while events change the
// order: a group a pager took is copied on its next change, never written
// in place, so each pager walks every group as it was when it entered it.
// A group no pager took since its last copy changes in place, so that a
// batch of votes among many siblings copies them once, not once a vote.
type Order struct {
	sort   Sort
	keys   []float64 // id → key
	slot   []int32   // id → 1 + the index of its replies' group; 0 below two replies
	groups []group
	idCap  int64 // the capacity of all groups' ids, for Bytes
}

// group is the replies of one comment, in order.
type group struct {
	ids []int32
	// shared is set, atomically as pagers run concurrently, once a pager
	// took ids: the next change writes a copy, and clears it.
	shared uint32
}

// NewOrder builds the order of t under s; nil for SortOld, which needs
// none: nil is old order for every method and pager.
func (t *Tree) NewOrder(s Sort) *Order {
	if s == SortOld {
		return nil
	}
	o := &Order{sort: s, keys: make([]float64, len(t.nodes)), slot: make([]int32, len(t.nodes))}
	for id, n := range t.nodes {
		o.keys[id] = s.key(n)
	}
	for _, n := range t.nodes {
		if n.firstChild != n.lastChild {
			o.build(n)
		}
	}
	return o
}

// build makes the group of parent's replies.
func (o *Order) build(parent *Node) {
	k := 0
	for c := parent.firstChild; c != nil; c = c.next {
		k++
	}
	ids := make([]int32, 0, k)
	for c := parent.firstChild; c != nil; c = c.next {
		ids = append(ids, c.id)
	}
	slices.SortFunc(ids, o.cmp)
	o.groups = append(o.groups, group{ids: ids})
	o.slot[parent.id] = int32(len(o.groups))
	o.idCap += int64(cap(ids))
}

// cmp orders two comments: the higher key first, then the older.
func (o *Order) cmp(a, b int32) int {
	ka, kb := o.keys[a], o.keys[b]
	switch {
	case ka > kb:
		return -1
	case ka < kb:
		return 1
	}
	return cmp.Compare(a, b)
}

// Sort is the order's sort; SortOld for nil.
func (o *Order) Sort() Sort {
	if o == nil {
		return SortOld
	}
	return o.sort
}

// Len is the number of comments the order holds: it follows a tree of
// that length.
func (o *Order) Len() int {
	if o == nil {
		return 0
	}
	return len(o.keys)
}

// Added takes in a comment just added to t, n, at its place among its
// siblings. It takes in every comment of t it has not seen, in id order,
// so a missed call only delays one.
func (o *Order) Added(t *Tree, n *Node) {
	if o == nil {
		return
	}
	o.sync(t)
}

// sync takes in the comments of t the order has not seen.
func (o *Order) sync(t *Tree) {
	for id := len(o.keys); id < len(t.nodes); id++ {
		o.add(t.nodes[id])
	}
}

// add takes in n, the comment after the order's last.
func (o *Order) add(n *Node) {
	o.keys = append(o.keys, o.sort.key(n))
	o.slot = append(o.slot, 0)
	p := n.parent
	if p == nil {
		return
	}
	if s := o.slot[p.id]; s != 0 {
		o.insert(&o.groups[s-1], n.id)
		return
	}
	first := p.firstChild
	if first == n {
		return // p's only reply so far
	}
	// p's second reply: the order has seen the first, not any later.
	ids := []int32{first.id, n.id}
	if o.cmp(n.id, first.id) < 0 {
		ids[0], ids[1] = n.id, first.id
	}
	o.groups = append(o.groups, group{ids: ids})
	o.slot[p.id] = int32(len(o.groups))
	o.idCap += int64(cap(ids))
}

// insert puts id into g at its place.
func (o *Order) insert(g *group, id int32) {
	i, _ := slices.BinarySearchFunc(g.ids, id, o.cmp)
	if g.isShared() {
		ids := make([]int32, len(g.ids)+1)
		copy(ids, g.ids[:i])
		ids[i] = id
		copy(ids[i+1:], g.ids[i:])
		o.replace(g, ids)
		return
	}
	before := cap(g.ids)
	g.ids = slices.Insert(g.ids, i, id)
	o.idCap += int64(cap(g.ids) - before)
}

// Voted moves n among its siblings after its votes changed; nothing else
// moves: a vote changes the order of its siblings only.
func (o *Order) Voted(t *Tree, n *Node) {
	if o == nil {
		return
	}
	o.sync(t)
	key := o.sort.key(n)
	if key == o.keys[n.id] {
		return
	}
	var g *group
	if p := n.parent; p != nil && o.slot[p.id] != 0 {
		g = &o.groups[o.slot[p.id]-1]
	}
	if g == nil {
		o.keys[n.id] = key
		return
	}
	i, found := slices.BinarySearchFunc(g.ids, n.id, o.cmp) // by its old key
	o.keys[n.id] = key
	if !found {
		// Cannot happen while groups follow keys; a rebuilt group is
		// right whatever went wrong.
		ids := slices.Clone(g.ids)
		slices.SortFunc(ids, o.cmp)
		o.replace(g, ids)
		return
	}
	o.move(g, i)
}

// move puts the id at i of g, whose key changed, at its new place.
func (o *Order) move(g *group, i int) {
	ids, id := g.ids, g.ids[i]
	var j int // its index once moved
	switch {
	case i > 0 && o.cmp(id, ids[i-1]) < 0:
		j, _ = slices.BinarySearchFunc(ids[:i], id, o.cmp)
	case i+1 < len(ids) && o.cmp(ids[i+1], id) < 0:
		k, _ := slices.BinarySearchFunc(ids[i+1:], id, o.cmp)
		j = i + k
	default:
		return // still in place
	}
	lo, hi := min(i, j), max(i, j)
	dst, shared := ids, g.isShared()
	if shared {
		dst = make([]int32, len(ids))
		copy(dst[:lo], ids[:lo])
		copy(dst[hi+1:], ids[hi+1:])
	}
	if j < i {
		copy(dst[j+1:i+1], ids[j:i])
	} else {
		copy(dst[i:j], ids[i+1:j+1])
	}
	dst[j] = id
	if shared {
		o.replace(g, dst)
	}
}

// replace makes ids g's slice, a fresh one no pager holds.
func (o *Order) replace(g *group, ids []int32) {
	o.idCap += int64(cap(ids) - cap(g.ids))
	g.ids = ids
	atomic.StoreUint32(&g.shared, 0)
}

func (g *group) isShared() bool { return atomic.LoadUint32(&g.shared) != 0 }

// orderOverhead is the Order itself, beyond its slices.
const orderOverhead = int64(unsafe.Sizeof(Order{}))

// Bytes estimates the order's memory: 12 bytes a comment, and 4 a reply
// plus a group's header for comments with several replies. Old groups that
// pagers still walk are theirs.
func (o *Order) Bytes() int64 {
	if o == nil {
		return 0
	}
	return orderOverhead + 8*int64(cap(o.keys)) + 4*int64(cap(o.slot)) +
		int64(unsafe.Sizeof(group{}))*int64(cap(o.groups)) + 4*o.idCap
}

// take returns the group of parent's replies for a pager, which may keep
// it between chunks: the group is copied on its next change from now on.
// nil when parent has fewer than two replies.
func (o *Order) take(parent *Node) []int32 {
	if int(parent.id) >= len(o.slot) || o.slot[parent.id] == 0 {
		return nil
	}
	g := &o.groups[o.slot[parent.id]-1]
	if !g.isShared() { // most takes read, so concurrent pagers do not contend on the line
		atomic.StoreUint32(&g.shared, 1)
	}
	return g.ids
}

// indexOf is where n sits in ids, its parent's group.
func (o *Order) indexOf(ids []int32, n *Node) int {
	i, _ := slices.BinarySearchFunc(ids, n.id, o.cmp)
	return i
}

// frame is a group a sorted walk is in: the replies of parent as they were
// when the walk took them, and the index of the next one to visit.
type frame struct {
	parent *Node
	ids    []int32
	next   int
}

// sortedNext returns the comment after x in the order's pre-order of the
// subtree at c.top (ids up to c.maxID), or nil at its end. It keeps
// c.stack: the frames of x's ancestors whose replies the walk took.
func (c *cursor) sortedNext(x *Node) *Node {
	if ch := x.firstChild; ch != nil && c.descends(x) {
		if ids := c.order.take(x); ids != nil {
			c.stack = append(c.stack, frame{parent: x, ids: ids})
		} else if ch.id <= c.maxID {
			return ch
		}
	}
	for {
		if k := len(c.stack) - 1; k >= 0 && c.stack[k].parent == x {
			if n := c.advance(&c.stack[k]); n != nil {
				return n
			}
			c.stack = c.stack[:k]
		}
		if x == c.top {
			return nil
		}
		x = x.parent
	}
}

// advance returns the next comment of f no newer than the walk, or nil.
func (c *cursor) advance(f *frame) *Node {
	for f.next < len(f.ids) {
		id := f.ids[f.next]
		f.next++
		if id <= c.maxID {
			return c.nodes[id]
		}
	}
	return nil
}

// seekAfter sets the walk at the comment after a, a comment of the subtree:
// the frames are those the walk would hold having just visited a.
func (c *cursor) seekAfter(a *Node) {
	for n := a; n != c.top; n = n.parent {
		if ids := c.order.take(n.parent); ids != nil {
			c.stack = append(c.stack, frame{parent: n.parent, ids: ids, next: c.order.indexOf(ids, n) + 1})
		}
	}
	slices.Reverse(c.stack)
	c.x = c.sortedNext(a)
}

// followsOld reports whether b comes right after a in old order over the
// whole tree, leaving out ids above maxID. A comment newer than maxID has
// only newer replies and newer later siblings, so the first reply or
// sibling that is not newer is the next. The walk up stops at b's level:
// past it, the next comment is above b.
func followsOld(a, b *Node, maxID int32) bool {
	if c := a.firstChild; c != nil && c.id <= maxID {
		return c == b
	}
	for n := a; n.parent != nil; n = n.parent {
		if s := n.next; s != nil && s.id <= maxID {
			return s == b
		}
		if n.parent == b.parent {
			return false
		}
	}
	return false
}
