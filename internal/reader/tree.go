package reader

import (
	"strconv"
	"time"

	"github.com/parley/parley/internal/comment"
)

// tree is a topic's comments: an index by id (ids are dense, 0..n-1) and the
// parent/child links that give tree order. Siblings are linked in id order,
// which is creation order, so an insert never moves anything; a read walks
// only the comments it returns.
type tree struct {
	nodes []*node
	bytes int64 // estimated memory, for the cache bound
}

// errCorrupt marks an event that does not fit the tree (a reply to an
// unknown parent, an id out of sequence): a bug or a tampered log. The
// reader logs it and skips the event rather than guess.
type errCorrupt string

func (e errCorrupt) Error() string { return "event does not fit the tree: " + string(e) }

// link makes n the last child of parent.
func link(parent, n *node) {
	n.parent = parent
	if parent.lastChild == nil {
		parent.firstChild = n
	} else {
		parent.lastChild.next = n
	}
	parent.lastChild = n
}

// add appends a comment. Its id must be the next one.
func (t *tree) add(path comment.Path, user, content string, deleted bool, create, update time.Time) (*node, error) {
	id := path.ID()
	if int(id) != len(t.nodes) {
		return nil, errCorrupt("comment id out of sequence")
	}
	var parent *node
	if len(path) > 1 {
		if parent = t.find(path[:len(path)-1]); parent == nil {
			return nil, errCorrupt("reply to an unknown parent")
		}
	} else if id != 0 {
		return nil, errCorrupt("root path for a reply")
	}
	text := "0"
	if parent != nil {
		text = parent.pathText() + "/" + strconv.FormatInt(int64(id), 10)
	}
	n := newNode(id, text, user, content, deleted, create, update)
	if parent != nil {
		link(parent, n)
	}
	t.nodes = append(t.nodes, n)
	t.bytes += n.size()
	return n, nil
}

// find returns the comment at path, or nil. The id picks the node; the
// walk up checks that it sits at exactly that path.
func (t *tree) find(path comment.Path) *node {
	if len(path) == 0 {
		return nil
	}
	id := path.ID()
	if id < 0 || int(id) >= len(t.nodes) {
		return nil
	}
	n := t.nodes[id]
	for i := len(path) - 1; i >= 0; i-- {
		if n == nil || n.id != path[i] {
			return nil
		}
		n = n.parent
	}
	if n != nil {
		return nil
	}
	return t.nodes[id]
}

// next returns the comment after n in tree order within the subtree of
// top, or nil at the subtree's end.
func next(n, top *node) *node {
	if n.firstChild != nil {
		return n.firstChild
	}
	for n != top {
		if n.next != nil {
			return n.next
		}
		n = n.parent
		if n == nil {
			return nil
		}
	}
	return nil
}

// edit replaces a comment's content.
func (t *tree) edit(path comment.Path, content string, at time.Time) error {
	n := t.find(path)
	if n == nil {
		return errCorrupt("edit of an unknown comment")
	}
	t.bytes -= n.size()
	n.withContent(content, at)
	t.bytes += n.size()
	return nil
}

// remove soft-deletes a comment: it stays in the tree, without content.
func (t *tree) remove(path comment.Path) error {
	n := t.find(path)
	if n == nil {
		return errCorrupt("delete of an unknown comment")
	}
	if !n.deleted {
		t.bytes -= n.size()
		deleteNode(n)
		t.bytes += n.size()
	}
	return nil
}

// deleteNode clears a node's content and marks it deleted; its update time
// stays.
func deleteNode(n *node) {
	n.deleted = true
	n.withContent("", mustParseTime(n.updatedText()))
}

func mustParseTime(s string) time.Time {
	t, _ := time.Parse(comment.TimeLayout, s)
	return t
}

// addViews counts r.Count views for every comment from r.First to r.Last in
// tree order whose id is at most r.MaxID: the comments of the responses the
// range stands for. Comments created after those responses sit in the walk
// but have larger ids.
func (t *tree) addViews(r *comment.ViewRange) {
	first, last := t.find(r.First), t.find(r.Last)
	if first == nil || last == nil {
		return
	}
	root := t.nodes[0]
	for n := first; n != nil; n = next(n, root) {
		if n.id <= r.MaxID {
			n.views += r.Count
		}
		if n == last {
			return
		}
	}
}

// apply applies one event of this topic (for views, one range).
func (t *tree) apply(e *comment.Event, r *comment.ViewRange) error {
	switch e.Kind {
	case comment.EventCreated:
		_, err := t.add(e.Created.Path, e.Created.User, e.Created.Content, false, e.At, e.At)
		return err
	case comment.EventEdited:
		return t.edit(e.Edited.Path, e.Edited.Content, e.At)
	case comment.EventDeleted:
		return t.remove(e.Deleted.Path)
	case comment.EventViews:
		t.addViews(r)
	}
	return nil
}

// builder assembles a tree from rows that come in any order: each row
// becomes a node at its id, and link wires the parents in id order once
// all rows are in, so siblings end up in creation order.
type treeBuilder struct {
	t       *tree
	parents []int32
}

// newTreeBuilder starts a tree expected to hold count comments (a hint).
func newTreeBuilder(count int32) *treeBuilder {
	return &treeBuilder{t: &tree{nodes: make([]*node, count)}, parents: make([]int32, count)}
}

// put places one comment; path is its text form, parent its parent's id
// (-1 for the root).
func (b *treeBuilder) put(id, parent int32, path, user, content string, deleted bool, create, update time.Time) error {
	if id < 0 || (id == 0) != (parent < 0) || parent >= id {
		return errCorrupt("comment row out of place")
	}
	for int(id) >= len(b.t.nodes) {
		b.t.nodes = append(b.t.nodes, nil)
		b.parents = append(b.parents, 0)
	}
	if b.t.nodes[id] != nil {
		return errCorrupt("comment row twice")
	}
	n := newNode(id, path, user, content, deleted, create, update)
	b.t.nodes[id] = n
	b.parents[id] = parent
	b.t.bytes += n.size()
	return nil
}

// merge takes the comments o placed (a part of the same topic's rows).
func (b *treeBuilder) merge(o *treeBuilder) error {
	for int(len(o.t.nodes)) > len(b.t.nodes) {
		b.t.nodes = append(b.t.nodes, nil)
		b.parents = append(b.parents, 0)
	}
	for id, n := range o.t.nodes {
		if n == nil {
			continue
		}
		if b.t.nodes[id] != nil {
			return errCorrupt("comment row twice")
		}
		b.t.nodes[id], b.parents[id] = n, o.parents[id]
		b.t.bytes += n.size()
	}
	return nil
}

// link wires the tree; every id must have come.
func (b *treeBuilder) link() (*tree, error) {
	for id, n := range b.t.nodes {
		if n == nil {
			return nil, errCorrupt("missing comment row")
		}
		if id > 0 {
			link(b.t.nodes[b.parents[id]], n)
		}
	}
	b.parents = nil
	return b.t, nil
}
