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
	By      Actor
}

// Topic is the comment's topic.
func (op Edit) Topic() (comment.TopicID, bool) { return op.TopicID, true }

// Reads asks for the comment, and the editor's ban.
func (op Edit) Reads(r *reads) {
	r.comment(op.TopicID, op.Path)
	r.ban(op.By.ID)
}

// NewResult is an empty PositionResult.
func (Edit) NewResult() Result { return &PositionResult{} }

// Decide lets the author (anyone, in AUTH_MODE=none), not banned, edit a
// comment that exists and is not deleted; the edit is the topic's activity
// and the comment's new update time.
func (op Edit) Decide(b *batch) (Result, error) {
	if err := b.allowed(op.By); err != nil {
		return nil, err
	}
	t := b.topic(op.TopicID)
	if t == nil {
		return nil, errs.NotFound.New("topic not found")
	}
	c := b.comment(op.TopicID, op.Path)
	switch {
	case c == nil:
		return nil, errs.NotFound.New("comment not found")
	case !op.By.owns(c):
		return nil, errs.Forbidden.New("only its author may edit a comment")
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
