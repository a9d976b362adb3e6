// Package comment is Parley's domain: topic and comment identities, paths in
// a topic's tree, input validation, and the events the writer appends to the
// log. Its failures are internal/errs kinds.
package comment

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/parley/parley/internal/errs"
)

// MaxPathLen bounds the text of a path so that parsing work stays small
// whatever a client sends; a path at MaxDepth with ten-digit ids fits.
const MaxPathLen = 4096

// Path is a comment's place in its topic's tree: the comment ids from the root
// (always 0) down to the comment itself. Its text form is "0/4/17".
//
// Paths compare in tree order: pre-order, siblings in creation order, because
// a comment's id is larger than every id created before it in the topic.
type Path []int32

// RootPath is the path of every topic's root comment.
var RootPath = Path{0}

// ParsePath reads the text form of a path. It checks syntax only: "0", then
// any number of "/id" with id a positive decimal without leading zeros that
// fits in 31 bits. Whether the comment exists is for the caller to find out.
func ParsePath(s string) (Path, error) {
	if s == "" {
		return nil, errs.Invalid.New("path is empty")
	}
	if len(s) > MaxPathLen {
		return nil, errs.Invalid.New("path is too long")
	}
	if s[0] != '0' || (len(s) > 1 && s[1] != '/') {
		return nil, errs.Invalid.New("path must start with the root comment 0")
	}
	p := make(Path, 1, strings.Count(s, "/")+1)
	rest := s[1:]
	for rest != "" {
		rest = rest[1:] // the '/'
		end := strings.IndexByte(rest, '/')
		if end < 0 {
			end = len(rest)
		}
		part := rest[:end]
		rest = rest[end:]
		if part == "" || part[0] == '0' || len(part) > 10 {
			return nil, errs.Invalid.New("path component must be a positive integer without leading zeros")
		}
		var n int64
		for i := 0; i < len(part); i++ {
			c := part[i]
			if c < '0' || c > '9' {
				return nil, errs.Invalid.New("path component must be a positive integer without leading zeros")
			}
			n = n*10 + int64(c-'0')
		}
		if n > math.MaxInt32 {
			return nil, errs.Invalid.New("path component must be a positive integer without leading zeros")
		}
		p = append(p, int32(n))
	}
	return p, nil
}

// ParsePathField parses a path given in the named request field; its
// errors name the field.
func ParsePathField(field, s string) (Path, error) {
	p, err := ParsePath(s)
	return p, errs.Field(field, err)
}

// String gives the text form, "0/4/17".
func (p Path) String() string {
	return string(p.AppendText(nil))
}

// AppendText appends the text form to b.
func (p Path) AppendText(b []byte) []byte {
	for i, id := range p {
		if i > 0 {
			b = append(b, '/')
		}
		b = strconv.AppendInt(b, int64(id), 10)
	}
	return b
}

// ID is the id of the comment the path leads to.
func (p Path) ID() int32 { return p[len(p)-1] }

// Depth is 0 for the root, 1 for its replies, and so on.
func (p Path) Depth() int { return len(p) - 1 }

// Parent is the path of the comment's parent; the root has none.
func (p Path) Parent() (Path, bool) {
	if len(p) <= 1 {
		return nil, false
	}
	return p[: len(p)-1 : len(p)-1], true
}

// Child is the path of a reply with the given id.
func (p Path) Child(id int32) Path {
	c := make(Path, len(p)+1)
	copy(c, p)
	c[len(p)] = id
	return c
}

// Equal tells whether two paths lead to the same comment.
func (p Path) Equal(q Path) bool { return slices.Equal(p, q) }

// Compare orders paths in tree order: -1 if p comes before q.
func (p Path) Compare(q Path) int { return slices.Compare(p, q) }

// Within tells whether p lies in the subtree of q (q itself included).
func (p Path) Within(q Path) bool {
	return len(p) >= len(q) && slices.Equal(p[:len(q)], q)
}

// PGText is the Postgres array literal of the path, "{0,4,17}", the form the
// store sends paths in when it passes many of them as one text[] parameter.
func (p Path) PGText() string {
	b := make([]byte, 0, 2+len(p)*4)
	b = append(b, '{')
	for i, id := range p {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(id), 10)
	}
	return string(append(b, '}'))
}

// ParseID reads a comment id as a request names it: 0 (the root) or a
// positive decimal without leading zeros that fits in 31 bits.
func ParseID(s string) (int32, error) {
	if s == "0" {
		return 0, nil
	}
	p, err := ParsePath("0/" + s)
	if err != nil || len(p) != 2 {
		return 0, errs.Invalid.New("comment id must be 0 or a positive integer without leading zeros")
	}
	return p[1], nil
}
