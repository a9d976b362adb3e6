package topictree

import (
	"time"

	"github.com/parley/parley/internal/comment"
)

// Root is a topic's root comment on its own: what a topic's summary shows
// while its tree is evicted. Events about the root change it as they would
// change the root of the tree.
type Root struct{ n Node }

// NewRoot makes a root from its stored state, without views yet.
func NewRoot(user, content string, deleted bool, create, update time.Time) *Root {
	return &Root{n: *newNode(0, "0", user, content, deleted, create, update)}
}

// SetViews sets the root's view count, once loaded.
func (r *Root) SetViews(v int64) { r.n.views = v }

// DetachRoot copies the tree's root without its links, so that keeping it
// keeps none of the tree's other comments reachable.
func (t *Tree) DetachRoot() *Root {
	r := &Root{n: *t.nodes[0]}
	r.n.firstChild, r.n.lastChild = nil, nil
	return r
}

// Node is the root's comment, for encoding.
func (r *Root) Node() *Node { return &r.n }

// Apply applies the part of one event of the topic that concerns the root.
func (r *Root) Apply(e *comment.Event, vr *comment.ViewRange) {
	switch {
	case e.Kind == comment.EventEdited && len(e.Edited.Path) == 1:
		r.n.edit(e.Edited.Content, e.At)
	case e.Kind == comment.EventDeleted && len(e.Deleted.Path) == 1:
		r.n.markDeleted()
	case e.Kind == comment.EventVoted && len(e.Voted.Path) == 1:
		r.n.up, r.n.down = e.Voted.Up, e.Voted.Down
	case e.Kind == comment.EventViews && len(vr.First) == 1:
		r.n.views = comment.AddCount(r.n.views, vr.Count) // the root is in every range that starts at it
	}
}
