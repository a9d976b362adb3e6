// Package topictree holds one topic's comments in memory: the tree in
// creation order, each comment's text kept once and already escaped for
// JSON, the events that change it, and the rendering of its pages. It has
// no locks: its owner (the reader's projection) serialises writes and reads.
package topictree

import (
	"strconv"
	"time"

	"github.com/parley/parley/internal/comment"
)

// Tree is a topic's comments: an index by id (ids are dense, 0..n-1) and the
// parent/child links that give tree order. Siblings are linked in id order,
// which is creation order, so an insert never moves anything; a read walks
// only the comments it returns.
type Tree struct {
	nodes []*Node
	bytes int64 // estimated memory, for the cache bound
}

// CorruptError marks an event or a row that does not fit the tree (a reply
// to an unknown parent, an id out of sequence): a bug or a tampered log.
// The reader logs it and skips the event rather than guess.
type CorruptError string

func (e CorruptError) Error() string { return "event does not fit the tree: " + string(e) }

// Bytes estimates the tree's memory.
func (t *Tree) Bytes() int64 { return t.bytes }

// Len is the number of comments, deleted ones included; the newest id is Len()-1.
func (t *Tree) Len() int { return len(t.nodes) }

// Root is the topic's root comment.
func (t *Tree) Root() *Node { return t.nodes[0] }

// Node is the comment with id, or nil when the topic has none (ids come
// from requests too).
func (t *Tree) Node(id int32) *Node {
	if id < 0 || int(id) >= len(t.nodes) {
		return nil
	}
	return t.nodes[id]
}

// link makes n the last child of parent.
func link(parent, n *Node) {
	n.parent = parent
	if parent.lastChild == nil {
		parent.firstChild = n
	} else {
		parent.lastChild.next = n
	}
	parent.lastChild = n
	parent.replies++
}

// add appends a comment. Its id must be the next one.
func (t *Tree) add(path comment.Path, user, content string, at time.Time) error {
	id := path.ID()
	if int(id) != len(t.nodes) {
		return CorruptError("comment id out of sequence")
	}
	var parent *Node
	if len(path) > 1 {
		if parent = t.Find(path[:len(path)-1]); parent == nil {
			return CorruptError("reply to an unknown parent")
		}
	} else if id != 0 {
		return CorruptError("root path for a reply")
	}
	text := "0"
	if parent != nil {
		text = parent.Path() + "/" + strconv.FormatInt(int64(id), 10)
	}
	n := newNode(id, text, user, content, false, at, at)
	if parent != nil {
		link(parent, n)
	}
	t.nodes = append(t.nodes, n)
	t.bytes += n.size()
	return nil
}

// Find returns the comment at path, or nil. The id picks the node; the
// walk up checks that it sits at exactly that path.
func (t *Tree) Find(path comment.Path) *Node {
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
func next(n, top *Node) *Node {
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

// Walk calls fn for every comment in tree order until it returns false.
func (t *Tree) Walk(fn func(*Node) bool) {
	root := t.nodes[0]
	for n := root; n != nil && fn(n); n = next(n, root) {
	}
}

// Apply applies one event of this topic; for views, the range r of it.
func (t *Tree) Apply(e *comment.Event, r *comment.ViewRange) error {
	switch e.Kind {
	case comment.EventCreated:
		return t.add(e.Created.Path, e.Created.User, e.Created.Content, e.At)
	case comment.EventEdited:
		return t.change(e.Edited.Path, "edit of an unknown comment", func(n *Node) { n.edit(e.Edited.Content, e.At) })
	case comment.EventDeleted:
		return t.change(e.Deleted.Path, "delete of an unknown comment", (*Node).markDeleted)
	case comment.EventViews:
		t.AddViews(r)
	case comment.EventVoted:
		v := e.Voted
		return t.change(v.Path, "vote on an unknown comment", func(n *Node) { n.up, n.down = v.Up, v.Down })
	}
	return nil
}

// change applies fn to the comment at path, keeping the memory estimate.
func (t *Tree) change(path comment.Path, missing string, fn func(*Node)) error {
	n := t.Find(path)
	if n == nil {
		return CorruptError(missing)
	}
	t.bytes -= n.size()
	fn(n)
	t.bytes += n.size()
	return nil
}

// AddViews counts r.Count views for every comment from r.First to r.Last in
// tree order whose id is at most r.MaxID: the comments of the responses the
// range stands for. Comments created after those responses sit in the walk
// but have larger ids.
func (t *Tree) AddViews(r *comment.ViewRange) {
	first, last := t.Find(r.First), t.Find(r.Last)
	if first == nil || last == nil {
		return
	}
	root := t.nodes[0]
	for n := first; n != nil; n = next(n, root) {
		if n.id <= r.MaxID {
			n.views = comment.AddCount(n.views, r.Count)
		}
		if n == last {
			return
		}
	}
}
