package reader

import (
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
)

// Cursor is an item's exact place in a list ordered by time: the time,
// then the ids that break ties, as the list itself orders them. A page's
// Link continues strictly after its last item's cursor, so items that
// share a millisecond are neither skipped nor repeated, as paging by
// `before` (a time) would skip them.
type Cursor struct {
	At    int64 // unix ms
	Topic comment.TopicID
	ID    int32 // the comment's id; 0 in the topic list
}

// String is the cursor as a Link carries it: "<ms>.<topic hex>.<id>".
// Clients treat it as opaque.
func (c Cursor) String() string {
	b := strconv.AppendInt(make([]byte, 0, 64), c.At, 10)
	b = append(b, '.')
	b = hex.AppendEncode(b, c.Topic[:])
	b = append(b, '.')
	return string(strconv.AppendInt(b, int64(c.ID), 10))
}

var errCursor = errs.Invalid.New("cursor must be a value a Link gave")

// ParseCursor reads a cursor's String.
func ParseCursor(s string) (Cursor, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || len(parts[1]) != 32 {
		return Cursor{}, errCursor
	}
	var c Cursor
	var err error
	if c.At, err = strconv.ParseInt(parts[0], 10, 64); err != nil {
		return Cursor{}, errCursor
	}
	if _, err := hex.Decode(c.Topic[:], []byte(parts[1])); err != nil {
		return Cursor{}, errCursor
	}
	id, err := strconv.ParseInt(parts[2], 10, 32)
	if err != nil || id < 0 {
		return Cursor{}, errCursor
	}
	c.ID = int32(id)
	return c, nil
}

// Window selects a page of a list ordered by time, newest first: items
// with From < time < Before (unix ms), after the item at After when it is
// set, at most Limit.
type Window struct {
	From, Before int64
	After        *Cursor
	Limit        int
}
