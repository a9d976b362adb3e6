package reader

import (
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/parley/parley/internal/comment"
)

// node is one comment in a topic's tree. Its text is kept once, already
// escaped for JSON, in buf:
//
//	parent_path | "user" | "content" | create time | update time
//
// A response appends these pieces between constant keys, so answering
// copies bytes instead of encoding, and a view changes an integer, not the
// encoding. The other endpoints slice what they need out of the same
// string. Children are linked (first, last, next sibling) rather than kept
// in slices, which keeps a node at 80 bytes.
type node struct {
	parent     *node
	firstChild *node
	lastChild  *node
	next       *node // next sibling
	buf        string
	views      int64
	id         int32
	pathEnd    int32 // buf[:pathEnd] is the path, "0/4/17"
	userEnd    int32 // buf[pathEnd:userEnd] is the user as a JSON string
	contEnd    int32 // buf[userEnd:contEnd] is the content as a JSON string
	deleted    bool
}

// timeLen is the length of a time as clients see it: 2006-01-02T15:04:05.000Z.
const timeLen = len("2006-01-02T15:04:05.000Z")

// nodeOverhead estimates a node's memory beyond its text: the struct (80
// bytes) and its slot in the topic's id index, rounded up.
const nodeOverhead = 96

func (n *node) size() int64 { return int64(len(n.buf)) + nodeOverhead }

func (n *node) pathText() string    { return n.buf[:n.pathEnd] }
func (n *node) userJSON() string    { return n.buf[n.pathEnd:n.userEnd] }
func (n *node) contentJSON() string { return n.buf[n.userEnd:n.contEnd] }
func (n *node) createdText() string { return n.buf[n.contEnd : int(n.contEnd)+timeLen] }
func (n *node) updatedText() string { return n.buf[int(n.contEnd)+timeLen:] }

// appendJSON appends the node as a /topic_comments item.
func (n *node) appendJSON(b []byte) []byte {
	b = append(b, `{"comment_id":`...)
	b = strconv.AppendInt(b, int64(n.id), 10)
	if n.parent == nil {
		b = append(b, `,"parent_id":null,"parent_path":"`...)
	} else {
		b = append(b, `,"parent_id":`...)
		b = strconv.AppendInt(b, int64(n.parent.id), 10)
		b = append(b, `,"parent_path":"`...)
	}
	b = append(b, n.buf[:n.pathEnd]...)
	b = append(b, `","user":`...)
	b = append(b, n.buf[n.pathEnd:n.userEnd]...)
	b = append(b, `,"content":`...)
	b = append(b, n.buf[n.userEnd:n.contEnd]...)
	b = append(b, `,"view_count":`...)
	b = strconv.AppendInt(b, n.views, 10)
	b = append(b, `,"create_time":"`...)
	b = append(b, n.buf[n.contEnd:int(n.contEnd)+timeLen]...)
	b = append(b, `","update_time":"`...)
	b = append(b, n.buf[int(n.contEnd)+timeLen:]...)
	if n.deleted {
		return append(b, `","deleted":true}`...)
	}
	return append(b, `","deleted":false}`...)
}

// jsonItemOverhead is what appendJSON adds around buf, at most, for sizing.
const jsonItemOverhead = 160

// newNode makes a node. path is its path as text; user and content are raw.
func newNode(id int32, path, user, content string, deleted bool, create, update time.Time) *node {
	n := &node{id: id, deleted: deleted}
	var created [timeLen]byte
	comment.AppendTime(created[:0], create)
	n.build(path, user, false, content, &created, update)
	return n
}

// withContent rebuilds buf for an edit or a delete, keeping the path, the
// user and the create time.
func (n *node) withContent(content string, update time.Time) {
	var created [timeLen]byte
	copy(created[:], n.createdText())
	n.build(n.pathText(), n.userJSON(), true, content, &created, update)
}

// build lays out buf at its exact size. user is raw, or already escaped
// when userEscaped.
func (n *node) build(path, user string, userEscaped bool, content string, created *[timeLen]byte, update time.Time) {
	userLen, userClean := len(user), true
	if !userEscaped {
		userLen, userClean = escapedLen(user)
	}
	contLen, contClean := escapedLen(content)
	b := make([]byte, 0, len(path)+userLen+contLen+2*timeLen)
	b = append(b, path...)
	n.pathEnd = int32(len(b))
	b = appendJSONString(b, user, userEscaped, userClean)
	n.userEnd = int32(len(b))
	b = appendJSONString(b, content, false, contClean)
	n.contEnd = int32(len(b))
	b = append(b, created[:]...)
	b = comment.AppendTime(b, update)
	n.buf = unsafe.String(unsafe.SliceData(b), len(b)) // b is never written again
}

// appendJSONString appends s quoted for JSON: as it is when already
// escaped, between quotes when clean, else escaped.
func appendJSONString(b []byte, s string, escaped, isClean bool) []byte {
	switch {
	case escaped:
		return append(b, s...)
	case isClean:
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	return appendString(b, s)
}

// plain marks the bytes that never need escaping. 0xE2 is not plain: it
// starts U+2028 and U+2029. Nor is any other byte ≥ 0x80 here, so that the
// slow path checks UTF-8; the fast path below handles the common case.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// clean reports whether s needs no escaping at all, which is most text:
// every byte plain, or part of a UTF-8 sequence other than U+2028/U+2029.
// Text from Postgres is valid UTF-8 (the database checks), and text from
// the writer too, so any byte ≥ 0x80 other than 0xE2 is harmless here.
func clean(s string) bool {
	ascii := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if plain[c] {
			continue
		}
		if c < 0x80 || c == 0xE2 {
			return false
		}
		ascii = false
	}
	return ascii || utf8.ValidString(s)
}

// escapedLen is the length appendString gives s, quotes included, and
// whether s is clean (then that is len(s)+2).
func escapedLen(s string) (int, bool) {
	if clean(s) {
		return len(s) + 2, true
	}
	n := 2
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&':
				n++
			case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f':
				n += 2
			default:
				n += 6
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			n += 6
		case r == '\u2028' || r == '\u2029':
			n += 6
		default:
			n += size
		}
		i += size
	}
	return n, false
}

// appendString appends s as a JSON string, escaping exactly as encoding/json
// does (<, >, & and U+2028/U+2029 included, so a response is safe to embed
// in HTML).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	if clean(s) {
		b = append(b, s...)
		return append(b, '"')
	}
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

// bytesString views b as a string without copying. Only for bytes that stay
// unchanged while the string is used: rows from the driver, read within
// their callback and copied into a node.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
