package topictree

import (
	"strconv"
	"time"
	"unsafe"

	"github.com/parley/parley/internal/comment"
)

// Node is one comment in a topic's tree. Its text is kept once, already
// escaped for JSON, in buf:
//
//	parent_path | "user" | "content" | create time | update time
//
// A response appends these pieces between constant keys, so answering
// copies bytes instead of encoding, and a view changes an integer, not the
// encoding. Children are linked (first, last, next sibling) rather than
// kept in slices, which keeps a node at 80 bytes: the deleted flag is the
// top bit of contEnd, and the offsets of the path and the user are 16-bit
// (a path is at most comment.MaxPathLen, a user 64 characters), so that the
// vote counts and the reply count fit in the same size class.
type Node struct {
	parent     *Node
	firstChild *Node
	lastChild  *Node
	next       *Node // next sibling
	buf        string
	views      int64
	id         int32
	pathEnd    uint16 // buf[:pathEnd] is the path, "0/4/17"
	userEnd    uint16 // buf[pathEnd:userEnd] is the user as a JSON string
	contEnd    uint32 // buf[userEnd:contEnd&^deletedBit] is the content as a JSON string
	up, down   int32  // votes
	replies    int32  // direct replies, deleted ones included
}

// maxUserEnd is the furthest the user may end in buf.
const maxUserEnd = 1<<16 - 1

// deletedBit marks a deleted comment in contEnd; content is far shorter
// than 2 GiB.
const deletedBit = 1 << 31

// timeLen is the length of a time as clients see it: 2006-01-02T15:04:05.000Z.
const timeLen = len("2006-01-02T15:04:05.000Z")

// nodeOverhead estimates a node's memory beyond its text: the struct (80
// bytes) and its slot in the topic's id index, rounded up.
const nodeOverhead = 96

func (n *Node) size() int64 { return int64(len(n.buf)) + nodeOverhead }

// ID is the comment's id within its topic.
func (n *Node) ID() int32 { return n.id }

// Path is the comment's path as text, "0/4/17".
func (n *Node) Path() string { return n.buf[:n.pathEnd] }

// Deleted tells whether the comment was deleted.
func (n *Node) Deleted() bool { return n.contEnd&deletedBit != 0 }

// Replies is the number of the comment's direct replies, deleted ones
// included.
func (n *Node) Replies() int32 { return n.replies }

// Votes are the comment's up and down votes.
func (n *Node) Votes() (up, down int32) { return n.up, n.down }

// SetVotes sets the comment's vote counts.
func (n *Node) SetVotes(up, down int32) { n.up, n.down = up, down }

func (n *Node) contentEnd() int { return int(n.contEnd &^ deletedBit) }

// Views is the comment's view count.
func (n *Node) Views() int64 { return n.views }

func (n *Node) userJSON() string    { return n.buf[n.pathEnd:n.userEnd] }
func (n *Node) contentJSON() string { return n.buf[n.userEnd:n.contentEnd()] }

// CreatedText is the create time as clients see it: in that fixed layout,
// times compare as text.
func (n *Node) CreatedText() string { return n.createdText() }

func (n *Node) createdText() string { return n.buf[n.contentEnd() : n.contentEnd()+timeLen] }
func (n *Node) updatedText() string { return n.buf[n.contentEnd()+timeLen:] }

// newNode makes a node. path is its path as text; user and content are raw.
func newNode(id int32, path, user, content string, deleted bool, create, update time.Time) *Node {
	n := &Node{id: id}
	var created, updated [timeLen]byte
	comment.AppendTime(created[:0], create)
	comment.AppendTime(updated[:0], update)
	n.build(path, user, false, content, &created, &updated)
	if deleted {
		n.contEnd |= deletedBit
	}
	return n
}

// edit replaces the content, keeping the path, the user and the create time.
func (n *Node) edit(content string, at time.Time) {
	var created, updated [timeLen]byte
	copy(created[:], n.createdText())
	comment.AppendTime(updated[:0], at)
	n.build(n.Path(), n.userJSON(), true, content, &created, &updated)
}

// markDeleted clears the content and marks the comment deleted; its update
// time stays.
func (n *Node) markDeleted() {
	if n.Deleted() {
		return
	}
	var created, updated [timeLen]byte
	copy(created[:], n.createdText())
	copy(updated[:], n.updatedText())
	n.build(n.Path(), n.userJSON(), true, "", &created, &updated)
	n.contEnd |= deletedBit
}

// build lays out buf at its exact size. user is raw, or already escaped
// when userEscaped.
func (n *Node) build(path, user string, userEscaped bool, content string, created, updated *[timeLen]byte) {
	userLen, userClean := len(user), true
	if !userEscaped {
		userLen, userClean = escapedLen(user)
	}
	if len(path)+userLen > maxUserEnd {
		// Only a row no writer wrote (names are 64 characters) gets here:
		// shown, rather than breaking the offsets.
		user, userEscaped, userLen, userClean = "(name too long)", false, len("(name too long)")+2, true
	}
	contLen, contClean := escapedLen(content)
	b := make([]byte, 0, len(path)+userLen+contLen+2*timeLen)
	b = append(b, path...)
	n.pathEnd = uint16(len(b))
	b = appendJSONString(b, user, userEscaped, userClean)
	n.userEnd = uint16(len(b))
	b = appendJSONString(b, content, false, contClean)
	n.contEnd = uint32(len(b))
	b = append(b, created[:]...)
	b = append(b, updated[:]...)
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

// Fields selects the comment fields an item carries. They are written in
// one fixed order, the API's: comment_id, topic_id, parent_id, parent_path,
// user, content, view_count, up, down, create_time, update_time, deleted,
// reply_count.
type Fields uint16

// The fields of a comment.
const (
	FieldID       Fields = 1 << iota // "comment_id"
	FieldTopic                       // "topic_id"
	FieldParentID                    // "parent_id": 0 for the root, its own id (SPEC §3)
	FieldPath                        // "parent_path", the comment's own path
	FieldUser                        // "user"
	FieldContent                     // "content": "" once deleted
	FieldViews                       // "view_count"
	FieldVotes                       // "up" and "down"
	FieldCreated                     // "create_time"
	FieldUpdated                     // "update_time"
	FieldDeleted                     // "deleted"
	FieldReplies                     // "reply_count"
)

// The items of the read API.
const (
	// TopicItem is a /topic_comments item.
	TopicItem = FieldID | FieldParentID | FieldPath | FieldUser | FieldContent | FieldViews | FieldVotes | FieldCreated | FieldUpdated | FieldDeleted | FieldReplies
	// UserItem is a /last_user_comments item.
	UserItem = FieldID | FieldTopic | FieldPath | FieldUser | FieldContent | FieldViews | FieldVotes | FieldUpdated
	// RankedItem is a /top_comments and /user_votes item.
	RankedItem = UserItem | FieldCreated
	// SummaryItem is the root's part of a /last_topics item.
	SummaryItem = FieldTopic | FieldUser | FieldContent | FieldViews | FieldVotes
)

// itemOverhead is what AppendJSON adds around buf, at most, for sizing:
// the keys of TopicItem and the separator (153 bytes) and the widest
// numbers (an id and a parent id of 10 digits, a view count of 19, vote
// counts of 11 each, "false", a reply count of 10). TestItemOverhead checks it.
const itemOverhead = 234

// AppendJSON appends the comment as a JSON object with fields f; topic is
// its topic's id, for FieldTopic.
func (n *Node) AppendJSON(b []byte, f Fields, topic comment.TopicID) []byte {
	return append(n.AppendFields(b, f, topic), '}')
}

// AppendFields is AppendJSON leaving the object open, for a caller that
// adds fields of its own after these.
func (n *Node) AppendFields(b []byte, f Fields, topic comment.TopicID) []byte {
	sep := byte('{')
	key := func(b []byte, k string) []byte {
		b = append(b, sep)
		sep = ','
		return append(b, k...)
	}
	if f&FieldID != 0 {
		b = key(b, `"comment_id":`)
		b = strconv.AppendInt(b, int64(n.id), 10)
	}
	if f&FieldTopic != 0 {
		b = key(b, `"topic_id":"`)
		b = topic.AppendText(b)
		b = append(b, '"')
	}
	if f&FieldParentID != 0 {
		// The root's is 0, its own id, not null: clients of the original API
		// rely on a number there.
		b = key(b, `"parent_id":`)
		if n.parent == nil {
			b = append(b, '0')
		} else {
			b = strconv.AppendInt(b, int64(n.parent.id), 10)
		}
	}
	if f&FieldPath != 0 {
		b = key(b, `"parent_path":"`)
		b = append(b, n.buf[:n.pathEnd]...)
		b = append(b, '"')
	}
	if f&FieldUser != 0 {
		b = key(b, `"user":`)
		b = append(b, n.userJSON()...)
	}
	if f&FieldContent != 0 {
		b = key(b, `"content":`)
		b = append(b, n.contentJSON()...)
	}
	if f&FieldViews != 0 {
		b = key(b, `"view_count":`)
		b = strconv.AppendInt(b, n.views, 10)
	}
	if f&FieldVotes != 0 {
		b = key(b, `"up":`)
		b = strconv.AppendInt(b, int64(n.up), 10)
		b = append(b, `,"down":`...)
		b = strconv.AppendInt(b, int64(n.down), 10)
	}
	if f&FieldCreated != 0 {
		b = key(b, `"create_time":"`)
		b = append(b, n.createdText()...)
		b = append(b, '"')
	}
	if f&FieldUpdated != 0 {
		b = key(b, `"update_time":"`)
		b = append(b, n.updatedText()...)
		b = append(b, '"')
	}
	if f&FieldDeleted != 0 {
		b = key(b, `"deleted":`)
		b = strconv.AppendBool(b, n.Deleted())
	}
	if f&FieldReplies != 0 {
		b = key(b, `"reply_count":`)
		b = strconv.AppendInt(b, int64(n.replies), 10)
	}
	if sep == '{' {
		b = append(b, '{')
	}
	return b
}
