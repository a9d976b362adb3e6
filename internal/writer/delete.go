package writer

import (
	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
)

// Delete soft-deletes a comment.
type Delete struct {
	TopicID comment.TopicID
	Path    comment.Path
}

// Topic is the comment's topic.
func (op Delete) Topic() (comment.TopicID, bool) { return op.TopicID, true }

// Reads asks for the comment.
func (op Delete) Reads(r *reads) { r.comment(op.TopicID, op.Path) }

// NewResult is an empty PositionResult.
func (Delete) NewResult() Result { return &PositionResult{} }

// Decide deletes a comment that exists. Deleting again is accepted and
// logged like the first time; it changes nothing, and the update time
// stays what the last edit set.
func (op Delete) Decide(b *batch) (Result, error) {
	if b.topic(op.TopicID) == nil {
		return nil, errs.NotFound.New("topic not found")
	}
	c := b.comment(op.TopicID, op.Path)
	if c == nil {
		return nil, errs.NotFound.New("comment not found")
	}
	if !c.Deleted {
		b.touch(c)
		c.Deleted, c.Content = true, ""
	}
	b.event(comment.Event{Kind: comment.EventDeleted, Topic: op.TopicID,
		Deleted: &comment.Deleted{Path: op.Path, User: c.User, Was: c.Update}})
	return &PositionResult{}, nil
}
