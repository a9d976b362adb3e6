package writer

import (
	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
)

// Delete soft-deletes a comment.
type Delete struct {
	TopicID comment.TopicID
	Comment Ref
	By      Actor
	IfMatch []string // the versions (ETags) the comment may have; nil: any
}

// Topic is the comment's topic.
func (op Delete) Topic() (comment.TopicID, bool) { return op.TopicID, true }

// Reads asks for the comment, and the deleter's ban.
func (op Delete) Reads(r *reads) {
	r.comment(op.TopicID, op.Comment)
	r.ban(op.By.ID)
}

// NewResult is an empty PositionResult.
func (Delete) NewResult() Result { return &PositionResult{} }

// Decide lets the author or a moderator (anyone, in AUTH_MODE=none), not
// banned, delete a comment that exists and has a version If-Match names;
// the event says who did. Deleting
// again is accepted and logged like the first time; it changes nothing, and
// the update time stays what the last edit set.
func (op Delete) Decide(b *batch) (Result, error) {
	if err := b.allowed(op.By); err != nil {
		return nil, err
	}
	if b.topic(op.TopicID) == nil {
		return nil, errs.NotFound.New("topic not found")
	}
	c := b.comment(op.TopicID, op.Comment)
	if c == nil {
		return nil, errs.NotFound.New("comment not found")
	}
	if err := checkVersion(op.IfMatch, c); err != nil {
		return nil, err
	}
	if !op.By.owns(c) && !op.By.Moderator {
		return nil, errs.Forbidden.New("only its author or a moderator may delete a comment")
	}
	if !c.Deleted {
		b.touch(c)
		c.Deleted, c.Content = true, ""
	}
	d := &comment.Deleted{Path: c.Path, User: c.User, Was: c.Update, By: op.By.ID}
	if c.Up != 0 || c.Down != 0 {
		d.Up, d.Down, d.Created = c.Up, c.Down, c.Create
	}
	b.event(comment.Event{Kind: comment.EventDeleted, Topic: op.TopicID, Deleted: d})
	return &PositionResult{}, nil
}
