package reader

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/parley/parley/internal/comment"
)

// node is one comment in a topic's tree. It keeps its JSON encoding for
// /topic_comments with the view count cut out (buf[:split] + count +
// buf[split:]), so a response copies bytes instead of encoding, and a view
// changes a number, not the encoding. The other endpoints slice the user,
// content and path they need out of the same bytes: a node holds no other
// copy of its text.
type node struct {
	parent   *node
	children []*node
	buf      []byte
	user     string // interned: shared with the user's list key
	views    int64
	create   int64 // unix milliseconds
	update   int64 // unix milliseconds
	id       int32
	idx      int32 // index in parent.children
	split    int32
	pathOff  int32 // parent_path value, unquoted: buf[pathOff:pathEnd]
	pathEnd  int32
	userOff  int32 // user, quoted JSON string: buf[userOff:userEnd]
	userEnd  int32
	contOff  int32 // content, quoted JSON string
	contEnd  int32
	updOff   int32 // update_time, quoted: buf[updOff:updOff+timeLen]
	deleted  bool
}

// nodeOverhead estimates a node's memory beyond its buf: the struct, the
// slot in its parent's children and in the topic's id index.
const nodeOverhead = 160

// timeLen is the length of a quoted time as clients see it.
const timeLen = len(`"2006-01-02T15:04:05.000Z"`)

func (n *node) size() int64 { return int64(cap(n.buf)) + nodeOverhead }

func (n *node) pathText() []byte    { return n.buf[n.pathOff:n.pathEnd] }
func (n *node) userJSON() []byte    { return n.buf[n.userOff:n.userEnd] }
func (n *node) contentJSON() []byte { return n.buf[n.contOff:n.contEnd] }
func (n *node) updatedJSON() []byte { return n.buf[n.updOff : n.updOff+int32(timeLen)] }

// appendJSON appends the node as a /topic_comments item.
func (n *node) appendJSON(b []byte) []byte {
	b = append(b, n.buf[:n.split]...)
	b = strconv.AppendInt(b, n.views, 10)
	return append(b, n.buf[n.split:]...)
}

// render (re)builds buf from n.user, content and the times. parentPath is
// the parent's path text, or nil for the root.
func (n *node) render(parentPath []byte, content string, create, update time.Time) {
	user := n.user
	// The fixed part is about 200 bytes; escapes rarely add more than an eighth.
	b := make([]byte, 0, 224+2*len(parentPath)+len(user)+len(content)+len(content)/8)
	b = append(b, `{"comment_id":`...)
	b = strconv.AppendInt(b, int64(n.id), 10)
	b = append(b, `,"parent_id":`...)
	if n.parent == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, int64(n.parent.id), 10)
	}
	b = append(b, `,"parent_path":"`...)
	n.pathOff = int32(len(b))
	if parentPath != nil {
		b = append(b, parentPath...)
		b = append(b, '/')
	}
	b = strconv.AppendInt(b, int64(n.id), 10)
	n.pathEnd = int32(len(b))
	b = append(b, `","user":`...)
	n.userOff = int32(len(b))
	b = appendString(b, user)
	n.userEnd = int32(len(b))
	b = append(b, `,"content":`...)
	n.contOff = int32(len(b))
	b = appendString(b, content)
	n.contEnd = int32(len(b))
	b = append(b, `,"view_count":`...)
	n.split = int32(len(b))
	b = append(b, `,"create_time":"`...)
	b = comment.AppendTime(b, create)
	b = append(b, `","update_time":`...)
	n.updOff = int32(len(b))
	b = append(b, '"')
	b = comment.AppendTime(b, update)
	b = append(b, `","deleted":`...)
	b = strconv.AppendBool(b, n.deleted)
	b = append(b, '}')
	if cap(b)-len(b) > 64+len(b)/8 {
		b = append([]byte(nil), b...) // do not keep a grown buffer's slack
	}
	n.buf = b
	n.create, n.update = create.UnixMilli(), update.UnixMilli()
}

// rerender rebuilds buf after an edit or delete.
func (n *node) rerender(content string, update time.Time) {
	var parentPath []byte
	if n.parent != nil {
		parentPath = n.parent.pathText()
	}
	n.render(parentPath, content, time.UnixMilli(n.create).UTC(), update)
}

// appendString appends s as a JSON string. It escapes what JSON requires
// and, like encoding/json, <, >, & and U+2028/U+2029, so a response is safe
// to embed in HTML.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			// Never stored (the writer refuses invalid UTF-8), but stay valid JSON.
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
