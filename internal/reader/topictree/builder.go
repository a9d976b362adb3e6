package topictree

import "time"

// Builder assembles a tree from rows that come in any order: each row
// becomes a node at its id, and Link wires the parents in id order once
// all rows are in, so siblings end up in creation order.
type Builder struct {
	t       *Tree
	parents []int32
}

// NewBuilder starts a tree expected to hold count comments (a hint).
func NewBuilder(count int32) *Builder {
	return &Builder{t: &Tree{nodes: make([]*Node, count)}, parents: make([]int32, count)}
}

// Row is a comment as stored.
type Row struct {
	ID, Parent          int32  // Parent is -1 for the root
	Path, User, Content string // Path in its text form, "0/4/17"
	Deleted             bool
	Create, Update      time.Time
	Up, Down            int32
	Views               int64 // views folded into the row; view ranges add theirs (AddViews)
}

// Put places one comment.
func (b *Builder) Put(r Row) error {
	id := r.ID
	if id < 0 || (id == 0) != (r.Parent < 0) || r.Parent >= id {
		return CorruptError("comment row out of place")
	}
	b.grow(int(id) + 1)
	if b.t.nodes[id] != nil {
		return CorruptError("comment row twice")
	}
	n := newNode(id, r.Path, r.User, r.Content, r.Deleted, r.Create, r.Update)
	n.up, n.down, n.views = r.Up, r.Down, r.Views
	b.t.nodes[id] = n
	b.parents[id] = r.Parent
	b.t.bytes += n.size()
	return nil
}

func (b *Builder) grow(n int) {
	for len(b.t.nodes) < n {
		b.t.nodes = append(b.t.nodes, nil)
		b.parents = append(b.parents, 0)
	}
}

// Merge takes the comments o placed (a part of the same topic's rows).
func (b *Builder) Merge(o *Builder) error {
	b.grow(len(o.t.nodes))
	for id, n := range o.t.nodes {
		if n == nil {
			continue
		}
		if b.t.nodes[id] != nil {
			return CorruptError("comment row twice")
		}
		b.t.nodes[id], b.parents[id] = n, o.parents[id]
		b.t.bytes += n.size()
	}
	return nil
}

// Link wires the tree; every id must have come, the root first of all.
func (b *Builder) Link() (*Tree, error) {
	if len(b.t.nodes) == 0 {
		return nil, CorruptError("topic without comments")
	}
	for id, n := range b.t.nodes {
		if n == nil {
			return nil, CorruptError("missing comment row")
		}
		if id > 0 {
			link(b.t.nodes[b.parents[id]], n)
		}
	}
	b.parents = nil
	return b.t, nil
}

// New returns an empty tree, for a topic whose root is yet to be applied.
func New() *Tree { return &Tree{} }
