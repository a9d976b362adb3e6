package writer

import (
	"time"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
)

// Edit replaces a comment's content.
type Edit struct {
	TopicID comment.TopicID
	Comment Ref
	Content string
	By      Actor
	IfMatch []string // the versions (ETags) the comment may have; nil: any
}

// EditResult is the body of a successful edit: the comment's new update
// time, which is also its new version.
type EditResult struct {
	UpdateTime string `json:"update_time"`
	Position   int64  `json:"position,omitempty"`
}

func (r *EditResult) setPosition(p int64) { r.Position = p }

// Topic is the comment's topic.
func (op Edit) Topic() (comment.TopicID, bool) { return op.TopicID, true }

// Reads asks for the comment, and the editor's ban.
func (op Edit) Reads(r *reads) {
	r.comment(op.TopicID, op.Comment)
	r.ban(op.By.ID)
}

// NewResult is an empty EditResult.
func (Edit) NewResult() Result { return &EditResult{} }

// Decide lets the author (anyone, in AUTH_MODE=none), not banned, edit a
// comment that exists, has a version If-Match names and is not deleted;
// the edit is the topic's activity and the comment's new update time. That
// time is later than the last one even when the last edit was in the same
// millisecond, or by a writer whose clock is ahead, so that each edit is a
// new version.
func (op Edit) Decide(b *batch) (Result, error) {
	if err := b.allowed(op.By); err != nil {
		return nil, err
	}
	t := b.topic(op.TopicID)
	if t == nil {
		return nil, errs.NotFound.New("topic not found")
	}
	c := b.comment(op.TopicID, op.Comment)
	if c == nil {
		return nil, errs.NotFound.New("comment not found")
	}
	if err := checkVersion(op.IfMatch, c); err != nil {
		return nil, err
	}
	switch {
	case !op.By.owns(c):
		return nil, errs.Forbidden.New("only its author may edit a comment")
	case c.Deleted:
		return nil, errs.Conflict.New("cannot edit a deleted comment")
	}
	b.touch(c)
	was, at := c.Update, b.at
	if !at.After(was) {
		at = was.Add(time.Millisecond)
	}
	c.Content, c.Update = op.Content, at
	t.LastActivity = later(t.LastActivity, at)
	b.eventAt(comment.Event{Kind: comment.EventEdited, Topic: op.TopicID,
		Edited: &comment.Edited{Path: c.Path, Content: op.Content, User: c.User, Was: was}}, at)
	return &EditResult{UpdateTime: string(comment.AppendTime(nil, at))}, nil
}
