package reader

import (
	"encoding/json"
	"net/url"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
)

// topicParam reads the topic a read names: by its id (topic_id) or by the
// site's own key (topic_key, SPEC §13), exactly one of the two. A key
// names its topic's id (comment.KeyTopicID), so both resolve the same way
// from here on: a key no comment has used yet is a topic that does not
// exist, 404.
func topicParam(q url.Values) (comment.TopicID, error) {
	switch {
	case q.Has("topic_id") && q.Has("topic_key"):
		return comment.TopicID{}, errs.Invalid.New("give topic_id or topic_key, not both")
	case q.Has("topic_key"):
		return comment.ParseTopicKey(q.Get("topic_key"))
	case q.Has("topic_id"):
		return comment.ParseTopicID(q.Get("topic_id"))
	}
	return comment.TopicID{}, errs.Invalid.New("topic_id or topic_key is required")
}

// keyJSON is a topic's key as its summaries write it: a JSON string, or ""
// for a topic without one. Made once, when the topic is created or loaded.
func keyJSON(key string) string {
	if key == "" {
		return ""
	}
	b, _ := json.Marshal(key) // a string always encodes
	return string(b)
}
