package writer

import (
	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
	"github.com/parley/parley/internal/store"
)

// Ref names the comment a command acts on within its topic: by its path,
// as the original routes do, or by its id alone, as /v1 does.
type Ref struct {
	ID   int32
	Path comment.Path // nil: the id alone names the comment
}

// AtPath names the comment at path p; a path that leads elsewhere (the
// right id under another parent) names nothing.
func AtPath(p comment.Path) Ref { return Ref{ID: p.ID(), Path: p} }

// WithID names the comment with id in its topic, wherever it is.
func WithID(id int32) Ref { return Ref{ID: id} }

// errChanged is a write whose If-Match names a version the comment no
// longer has.
var errChanged = errs.Changed.New("the comment has changed")

// checkVersion refuses a write whose If-Match (nil: none) does not name
// comment c's version as the batch holds it.
func checkVersion(ifMatch []string, c *store.CommentWrite) error {
	if ifMatch != nil && !comment.MatchesVersion(ifMatch, comment.Version(c.Update, c.Deleted)) {
		return errChanged
	}
	return nil
}
