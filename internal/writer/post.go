package writer

import (
	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
	"github.com/parley/parley/internal/store"
)

// Post posts a comment: a reply to the comment Parent names in topic
// TopicID; else, with a Key, a reply in the key's topic, or its root when
// no comment has used the key yet; else a new topic.
type Post struct {
	TopicID  *comment.TopicID
	Key      string          // the site's own name for the topic (SPEC §13), in place of TopicID
	NewTopic comment.TopicID // the id a new topic gets, chosen up front: the key's (comment.KeyTopicID), or random
	Parent   Ref             // the comment replied to (the root: AtPath(comment.RootPath))
	User     string          // the display name shown with the comment
	Content  string
	By       Actor
}

// PostResult is the body of a successful /post_comment.
type PostResult struct {
	CommentID  int32           `json:"comment_id"`
	ParentPath string          `json:"parent_path"`
	TopicID    comment.TopicID `json:"topic_id"`
	NewTopic   bool            `json:"new_topic"`
	Position   int64           `json:"position,omitempty"`
}

func (r *PostResult) setPosition(p int64) { r.Position = p }

// Topic is the topic replied in, or the new one.
func (op Post) Topic() (comment.TopicID, bool) {
	if op.TopicID != nil {
		return *op.TopicID, true
	}
	return op.NewTopic, true
}

// Reads asks for the parent of a reply, and the author's ban.
func (op Post) Reads(r *reads) {
	switch {
	case op.TopicID != nil:
		r.comment(*op.TopicID, op.Parent)
	case op.Key != "":
		r.comment(op.NewTopic, op.Parent) // locks the topic if it exists
	}
	r.ban(op.By.ID)
}

// NewResult is an empty PostResult.
func (Post) NewResult() Result { return &PostResult{} }

// Decide gives the comment the topic's next id, under a parent that exists
// and is not deleted.
func (op Post) Decide(b *batch) (Result, error) {
	if err := b.allowed(op.By); err != nil {
		return nil, err
	}
	var (
		t    *store.TopicWrite
		path comment.Path
	)
	topic, _ := op.Topic()
	// A key's first comment creates its topic; a reply below the root
	// needs the topic to exist already.
	created := op.TopicID == nil && (op.Key == "" || b.topic(topic) == nil)
	if created {
		if op.Key != "" && !op.Parent.Path.Equal(comment.RootPath) {
			return nil, errs.NotFound.New("topic not found")
		}
		path = comment.RootPath
		t = b.newTopic(topic)
		t.Key = op.Key
	} else {
		if t = b.topic(topic); t == nil {
			return nil, errs.NotFound.New("topic not found")
		}
		parent := b.comment(topic, op.Parent)
		switch {
		case parent == nil:
			return nil, errs.NotFound.New("parent comment not found")
		case parent.Deleted && !(op.Key != "" && parent.Path.Equal(comment.RootPath)):
			// A keyed topic is a page's thread: its first comment being
			// deleted must not close the page to comments (SPEC §13: later
			// ones reply in it). Anywhere else a deleted comment takes no
			// replies (SPEC §3).
			return nil, errs.Conflict.New("cannot reply to a deleted comment")
		case parent.Path.Depth() >= MaxDepth:
			return nil, errs.Invalid.New("replies may nest at most %d levels deep", MaxDepth)
		}
		path = parent.Path.Child(t.NextID)
	}
	t.NextID++
	t.LastActivity = later(t.LastActivity, b.at)
	author := op.By.author()
	b.newComment(&store.CommentWrite{Topic: topic, Path: path, User: op.User, Author: author, Content: op.Content, Create: b.at, Update: b.at})
	b.addActivity(topic, activity{comments: 1})
	e := &comment.Created{Path: path, User: op.User, Content: op.Content, Author: author}
	if created {
		e.Key = op.Key
	}
	b.event(comment.Event{Kind: comment.EventCreated, Topic: topic, Created: e})
	return &PostResult{CommentID: path.ID(), ParentPath: path.String(), TopicID: topic, NewTopic: created}, nil
}
