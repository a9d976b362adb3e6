package comment

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/parley/parley/internal/errs"
)

// TopicID is a topic's random UUID. Its text form is the canonical
// lowercase hyphenated one.
type TopicID [16]byte

// NewTopicID returns a random (version 4) UUID.
func NewTopicID() TopicID {
	var id TopicID
	if _, err := rand.Read(id[:]); err != nil {
		panic("crypto/rand: " + err.Error()) // never fails on Linux since Go 1.24
	}
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	return id
}

// ParseTopicID accepts the hyphenated 8-4-4-4-12 form in either case.
func ParseTopicID(s string) (TopicID, error) {
	var id TopicID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return id, errs.Invalid.New("topic_id must be a UUID like 6f1c0e0a-3d5e-4c1b-9a57-0b9d1c2e3f40")
	}
	hexdigits := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(id[:], []byte(hexdigits)); err != nil {
		return TopicID{}, errs.Invalid.New("topic_id must be a UUID like 6f1c0e0a-3d5e-4c1b-9a57-0b9d1c2e3f40")
	}
	return id, nil
}

// String gives the canonical lowercase form.
func (id TopicID) String() string {
	return string(id.AppendText(make([]byte, 0, 36)))
}

// AppendText appends the canonical lowercase form to b.
func (id TopicID) AppendText(b []byte) []byte {
	var buf [36]byte
	hex.Encode(buf[0:8], id[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], id[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], id[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], id[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], id[10:])
	return append(b, buf[:]...)
}

// MaxUserLen is the longest user name, in characters.
const MaxUserLen = 64

// ValidateContent checks a comment's content against the size limit in bytes.
// Postgres cannot store NUL in text, so NUL is refused here rather than
// failing in storage.
func ValidateContent(s string, maxBytes int) error {
	switch {
	case s == "":
		return errs.Invalid.New("content must not be empty")
	case len(s) > maxBytes:
		return errs.TooLarge.New("content is %d bytes, over the limit of %d", len(s), maxBytes)
	case !utf8.ValidString(s):
		return errs.Invalid.New("content must be valid UTF-8")
	case strings.IndexByte(s, 0) >= 0:
		return errs.Invalid.New("content must not contain NUL characters")
	}
	return nil
}

// ValidateUser checks a user name: 1 to 64 characters, none of them a
// control character.
func ValidateUser(s string) error {
	if s == "" {
		return errs.Invalid.New("user must not be empty")
	}
	if !utf8.ValidString(s) {
		return errs.Invalid.New("user must be valid UTF-8")
	}
	if hasControl(s) {
		return errs.Invalid.New("user must not contain control characters")
	}
	if n := utf8.RuneCountInString(s); n > MaxUserLen {
		return errs.Invalid.New("user is %d characters, over the limit of %d", n, MaxUserLen)
	}
	return nil
}

// MaxUserIDLen is the longest user id (a token's sub), in bytes.
const MaxUserIDLen = 255

// ValidateUserID checks a user's stable id: 1 to 255 bytes of valid UTF-8
// without control characters.
func ValidateUserID(s string) error {
	if s == "" || len(s) > MaxUserIDLen || !utf8.ValidString(s) {
		return errs.Invalid.New("must be 1 to %d bytes of valid UTF-8", MaxUserIDLen)
	}
	if hasControl(s) {
		return errs.Invalid.New("must not contain control characters")
	}
	return nil
}

// hasControl reports whether s holds a control character (C0, DEL or C1).
func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}
