package writer

import (
	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
	"github.com/parley/parley/internal/store"
)

// Vote sets a user's vote on a comment: 1 up, -1 down, 0 withdrawn. The
// last vote counts.
type Vote struct {
	TopicID comment.TopicID
	Comment Ref
	Value   int8
	By      Actor // the voter: ID is a token's sub, or the body's user
}

// VoteResult is the body of a successful /vote_comment: the comment's
// counts with this vote.
type VoteResult struct {
	Up       int32 `json:"up"`
	Down     int32 `json:"down"`
	Position int64 `json:"position,omitempty"`
}

func (r *VoteResult) setPosition(p int64) { r.Position = p }

// Topic is the comment's topic.
func (op Vote) Topic() (comment.TopicID, bool) { return op.TopicID, true }

// Reads asks for the comment (which locks its topic, so votes on one
// comment are counted one batch at a time on any writer), the voter's vote
// on it and the voter's ban.
func (op Vote) Reads(r *reads) {
	r.comment(op.TopicID, op.Comment)
	r.vote(store.VoteRef{Topic: op.TopicID, ID: op.Comment.ID, User: op.By.ID})
	r.ban(op.By.ID)
}

// NewResult is an empty VoteResult.
func (Vote) NewResult() Result { return &VoteResult{} }

// Decide lets a user who is not banned vote on a comment that exists and
// is not deleted. A vote equal to the one in force is given again: it
// changes no count, and its time is the new one.
func (op Vote) Decide(b *batch) (Result, error) {
	if err := b.allowed(op.By); err != nil {
		return nil, err
	}
	c := b.comment(op.TopicID, op.Comment)
	switch {
	case c == nil:
		if _, ok := b.nextID(op.TopicID); !ok {
			return nil, errs.NotFound.New("topic not found")
		}
		return nil, errs.NotFound.New("comment not found")
	case c.Deleted:
		return nil, errs.Conflict.New("cannot vote on a deleted comment")
	}
	ref := store.VoteRef{Topic: op.TopicID, ID: op.Comment.ID, User: op.By.ID}
	was := b.voteOf(ref)
	nu, nd := comment.Tally(op.Value)
	wu, wd := comment.Tally(was.Value)
	c.Up, c.Down = c.Up+nu-wu, c.Down+nd-wd
	b.setVote(ref, store.VoteState{Value: op.Value, At: b.at}, c)
	if op.Value != 0 && op.Value != was.Value {
		b.addActivity(op.TopicID, activity{votes: 1})
	}
	b.event(comment.Event{Kind: comment.EventVoted, Topic: op.TopicID, Voted: &comment.Voted{
		Path: c.Path, Voter: op.By.ID, Value: op.Value, Was: was.Value, WasAt: was.At,
		Up: c.Up, Down: c.Down, Created: c.Create}})
	return &VoteResult{Up: c.Up, Down: c.Down}, nil
}
