package writer

import (
	"time"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
	"github.com/parley/parley/internal/store"
)

// BanUser bans a user's writes until Until (for good when nil); an Until in
// the past lifts a ban.
type BanUser struct {
	User   string
	Until  *time.Time
	Reason string
	By     Actor
}

// Topic is none: a ban is about a user.
func (BanUser) Topic() (comment.TopicID, bool) { return comment.TopicID{}, false }

// Reads asks for the moderator's own ban, and the user's: the latter
// makes the user's writes wait for this ban (store.queueLocks).
func (op BanUser) Reads(r *reads) {
	r.ban(op.By.ID)
	r.ban(op.User)
}

// NewResult is an empty PositionResult.
func (BanUser) NewResult() Result { return &PositionResult{} }

// Decide lets a moderator or admin, not banned, give the ban.
func (op BanUser) Decide(b *batch) (Result, error) {
	if !op.By.Moderator {
		return nil, errs.Forbidden.New("only a moderator may ban users")
	}
	if err := b.allowed(op.By); err != nil {
		return nil, err
	}
	b.bans[op.User] = store.BanState{Until: op.Until}
	b.ch.Bans = append(b.ch.Bans, store.BanWrite{User: op.User, Until: op.Until, Reason: op.Reason, By: op.By.ID, At: b.at})
	b.event(comment.Event{Kind: comment.EventBanned,
		Banned: &comment.Banned{User: op.User, Until: op.Until, Reason: op.Reason, By: op.By.ID}})
	return &PositionResult{}, nil
}
