package writer

import (
	"time"

	"github.com/parley/parley/internal/errs"
	"github.com/parley/parley/internal/store"
)

// Actor is who a write comes from (SPEC §8).
type Actor struct {
	ID        string // stable id: a token's sub; in AUTH_MODE=none the body's user, or "" when it names none
	Name      string // display name
	Moderator bool   // may delete any comment and ban users
	Verified  bool   // named by a token (AUTH_MODE=jwt): ownership is enforced
}

// author is the id a new comment records as its author's: the token's
// subject; nobody's ("") without a token, where a name proves nothing.
func (a Actor) author() string {
	if a.Verified {
		return a.ID
	}
	return ""
}

// owns reports whether the actor may change comment c as its author. In
// AUTH_MODE=none anyone may.
func (a Actor) owns(c *store.CommentWrite) bool { return !a.Verified || a.ID == c.Author }

// ban asks for the actor's ban, if any.
func (r *reads) ban(user string) {
	if user != "" && !r.bans[user] {
		r.bans[user] = true
		r.lk.Bans = append(r.lk.Bans, user)
	}
}

// allowed refuses the writes of a user banned at the batch's time.
func (b *batch) allowed(a Actor) error {
	if a.ID == "" {
		return nil
	}
	ban, ok := b.bans[a.ID]
	if !ok {
		ban, ok = b.st.Bans[a.ID]
	}
	switch {
	case !ok || (ban.Until != nil && !ban.Until.After(b.at)):
		return nil
	case ban.Until == nil:
		return errs.Forbidden.New("you are banned")
	}
	return errs.Forbidden.New("you are banned until %s", ban.Until.UTC().Format(time.RFC3339))
}
