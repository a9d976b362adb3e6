package reader

import (
	"time"

	"github.com/parley/parley/internal/comment"
)

// tree is a topic's comments: an index by id (ids are dense, 0..n-1) and the
// parent/children links that give tree order. Siblings are appended in id
// order, which is creation order, so an insert never moves anything; a read
// walks only the comments it returns.
type tree struct {
	nodes []*node
	bytes int64 // estimated memory, for the cache bound
}

// errCorrupt marks an event that does not fit the tree (a reply to an
// unknown parent, an id out of sequence): a bug or a tampered log. The
// reader logs it and skips the event rather than guess.
type errCorrupt string

func (e errCorrupt) Error() string { return "event does not fit the tree: " + string(e) }

// add appends a comment. Its id must be the next one.
func (t *tree) add(path comment.Path, user, content string, deleted bool, create, update time.Time) (*node, error) {
	id := path.ID()
	if int(id) != len(t.nodes) {
		return nil, errCorrupt("comment id out of sequence")
	}
	n := &node{id: id, user: user, deleted: deleted}
	var parentPath []byte
	if len(path) > 1 {
		parent := t.find(path[:len(path)-1])
		if parent == nil {
			return nil, errCorrupt("reply to an unknown parent")
		}
		n.parent = parent
		n.idx = int32(len(parent.children))
		parent.children = append(parent.children, n)
		parentPath = parent.pathText()
	} else if id != 0 {
		return nil, errCorrupt("root path for a reply")
	}
	n.render(parentPath, content, create, update)
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
	if len(n.children) > 0 {
		return n.children[0]
	}
	for n != top {
		p := n.parent
		if p == nil {
			return nil
		}
		if int(n.idx)+1 < len(p.children) {
			return p.children[n.idx+1]
		}
		n = p
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
	n.rerender(content, at)
	t.bytes += n.size()
	return nil
}

// remove soft-deletes a comment: it stays in the tree, without content.
func (t *tree) remove(path comment.Path) error {
	n := t.find(path)
	if n == nil {
		return errCorrupt("delete of an unknown comment")
	}
	if n.deleted {
		return nil
	}
	t.bytes -= n.size()
	n.deleted = true
	n.rerender("", time.UnixMilli(n.update).UTC())
	t.bytes += n.size()
	return nil
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
