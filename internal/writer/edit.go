package writer

import (
	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
)

// Edit replaces a comment's content.
type Edit struct {
	TopicID comment.TopicID
	Path    comment.Path
	Content string
}

// Topic is the comment's topic.
func (op Edit) Topic() (comment.TopicID, bool) { return op.TopicID, true }

// Reads asks for the comment.
func (op Edit) Reads(r *reads) { r.comment(op.TopicID, op.Path) }

// NewResult is an empty PositionResult.
func (Edit) NewResult() Result { return &PositionResult{} }

// Decide edits a comment that exists and is not deleted; the edit is the
// topic's activity and the comment's new update time.
func (op Edit) Decide(b *batch) (Result, error) {
	t := b.topic(op.TopicID)
	if t == nil {
		return nil, errs.NotFound.New("topic not found")
	}
	c := b.comment(op.TopicID, op.Path)
	switch {
	case c == nil:
		return nil, errs.NotFound.New("comment not found")
	case c.Deleted:
		return nil, errs.Conflict.New("cannot edit a deleted comment")
	}
	b.touch(c)
	was := c.Update
	c.Content, c.Update = op.Content, b.at
	t.LastActivity = later(t.LastActivity, b.at)
	b.event(comment.Event{Kind: comment.EventEdited, Topic: op.TopicID,
		Edited: &comment.Edited{Path: op.Path, Content: op.Content, User: c.User, Was: was}})
	return &PositionResult{}, nil
}
