package comment

import (
	"crypto/sha1" //nolint:gosec // UUID version 5 is defined on SHA-1; it names, it does not protect
	"unicode/utf8"

	"github.com/parley/parley/internal/errs"
)

// MaxTopicKeyLen is the longest topic_key, in bytes.
const MaxTopicKeyLen = 512

// topicKeySpace is the namespace of the topic ids made from keys (UUID
// version 5, RFC 9562 §5.5). Fixed forever: changing it would move every
// keyed thread to a new, empty topic.
var topicKeySpace = TopicID{0x6b, 0x1e, 0x2d, 0x3c, 0x4f, 0x50, 0x4a, 0x61, 0x9b, 0x72, 0x83, 0x94, 0xa5, 0xb6, 0xc7, 0xd8}

// ValidateTopicKey checks a site's own name for a thread (SPEC §13): 1–512
// bytes of UTF-8 without control characters.
func ValidateTopicKey(k string) error {
	switch {
	case k == "":
		return errs.Invalid.New("topic_key must not be empty")
	case len(k) > MaxTopicKeyLen:
		return errs.Invalid.New("topic_key is %d bytes, over the limit of %d", len(k), MaxTopicKeyLen)
	case !utf8.ValidString(k):
		return errs.Invalid.New("topic_key must be valid UTF-8")
	case hasControl(k):
		return errs.Invalid.New("topic_key must not contain control characters")
	}
	return nil
}

// KeyTopicID is the id of the topic a key names: a UUID version 5 of the
// key's exact bytes. Every writer and reader computes it alone, so a key
// needs no lookup, and two first comments racing on one key name one
// topic: the database's primary key lets only one of them create it.
func KeyTopicID(key string) TopicID {
	h := sha1.New() //nolint:gosec // see the import
	h.Write(topicKeySpace[:])
	h.Write([]byte(key))
	var id TopicID
	copy(id[:], h.Sum(nil))
	id[6] = id[6]&0x0f | 0x50
	id[8] = id[8]&0x3f | 0x80
	return id
}

// ParseTopicKey validates a key and returns the id of the topic it names.
func ParseTopicKey(key string) (TopicID, error) {
	if err := ValidateTopicKey(key); err != nil {
		return TopicID{}, err
	}
	return KeyTopicID(key), nil
}
