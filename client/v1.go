package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The /v1 resources (SPEC §11, docs/resources.md): the same operations as
// the original routes, named by topic and comment id. Writes are retried
// and positioned as the original ones are; reads carry the session's
// min_position.

// Created is the answer to a new topic or comment: PostComment's answer
// and the new resource's Location (/v1/topics/{topic_id}, or
// /v1/topics/{topic_id}/comments/{comment_id}).
type Created struct {
	Posted
	Location string `json:"location"`
}

// Updated is the answer to an edit: the comment's new update time and
// version (its ETag, for the next If-Match).
type Updated struct {
	UpdateTime time.Time `json:"update_time"`
	ETag       string    `json:"etag"`
	Position   int64     `json:"position"`
}

func (u *Updated) position() *int64 { return &u.Position }

// List is one page of a /v1 list: its items, and the link to the next
// page ("" on the last). The link is opaque: More follows it.
type List[T any] struct {
	Items       []T    `json:"items"`
	Next        string `json:"next,omitempty"`
	c           *Client
	minPosition string // asked for explicitly, carried to the next pages
}

// V1ThreadQuery asks for a topic's comments, or a subtree's, in tree order
// (GET /v1/topics/{topic_id}/comments).
type V1ThreadQuery struct {
	TopicID     string
	ParentID    int32  // the subtree's root; 0, the topic's root: the whole topic
	Sort        string // old (""), new, top, best, controversial
	Limit       int    // per page; 0: the whole (sub)tree in one page
	MinPosition int64
}

func topicPath(topicID string) string { return "/v1/topics/" + url.PathEscape(topicID) }

func commentPath(topicID string, commentID int32) string {
	return topicPath(topicID) + "/comments/" + strconv.Itoa(int(commentID))
}

func userPath(user, what string) string { return "/v1/users/" + url.PathEscape(user) + "/" + what }

// withUser adds user to a write's body unless it is "" (with tokens, the
// token says who writes).
func withUser(body map[string]any, user string) map[string]any {
	if user != "" {
		body["user"] = user
	}
	return body
}

// CreateTopic starts a topic (POST /v1/topics); user is the author without
// tokens, "" with them.
func (c *Client) CreateTopic(ctx context.Context, content, user string, o ...WriteOptions) (Created, error) {
	return c.create(ctx, "/v1/topics", withUser(map[string]any{"content": content}, user), o)
}

// CreateComment replies to the comment parentID (0: the topic's root)
// (POST /v1/topics/{topic_id}/comments).
func (c *Client) CreateComment(ctx context.Context, topicID string, parentID int32, content, user string, o ...WriteOptions) (Created, error) {
	body := withUser(map[string]any{"content": content, "parent_id": parentID}, user)
	return c.create(ctx, topicPath(topicID)+"/comments", body, o)
}

func (c *Client) create(ctx context.Context, path string, body any, o []WriteOptions) (Created, error) {
	var out Created
	h, err := c.send(ctx, call{method: http.MethodPost, path: path, key: keyOf(o)}, body, &out)
	if err != nil {
		return Created{}, err
	}
	out.Location = h.Get("Location")
	return out, nil
}

// GetTopic reads one topic, as ListTopics shows it (GET /v1/topics/{topic_id}).
func (c *Client) GetTopic(ctx context.Context, topicID string) (Topic, error) {
	var out Topic
	_, err := c.do(ctx, call{method: http.MethodGet, path: topicPath(topicID)}, &out)
	return out, err
}

// GetComment reads one comment and its version, the ETag for If-Match
// (GET /v1/topics/{topic_id}/comments/{comment_id}). It counts as a view.
func (c *Client) GetComment(ctx context.Context, topicID string, commentID int32) (Comment, string, error) {
	var out Comment
	h, err := c.do(ctx, call{method: http.MethodGet, path: commentPath(topicID, commentID)}, &out)
	if err != nil {
		return Comment{}, "", err
	}
	out.TopicID = topicID
	return out, h.Get("ETag"), nil
}

// UpdateComment replaces a comment's content (PATCH
// /v1/topics/{topic_id}/comments/{comment_id}). With ifMatch (an ETag of
// GetComment or of an earlier update, or "*"), only if the comment is
// still that version: else a 412 *Error. "" updates whatever the version.
func (c *Client) UpdateComment(ctx context.Context, topicID string, commentID int32, content, ifMatch string, o ...WriteOptions) (Updated, error) {
	var out Updated
	cl := call{method: http.MethodPatch, path: commentPath(topicID, commentID), key: keyOf(o), ifMatch: ifMatch}
	h, err := c.send(ctx, cl, map[string]string{"content": content}, &out)
	if err != nil {
		return Updated{}, err
	}
	out.ETag = h.Get("ETag")
	return out, nil
}

// RemoveComment soft-deletes a comment (DELETE
// /v1/topics/{topic_id}/comments/{comment_id}), with ifMatch as
// UpdateComment takes it. The answer has no body: its position is the
// X-Log-Position header's.
func (c *Client) RemoveComment(ctx context.Context, topicID string, commentID int32, ifMatch string, o ...WriteOptions) (Written, error) {
	var out Written
	cl := call{method: http.MethodDelete, path: commentPath(topicID, commentID), key: keyOf(o), ifMatch: ifMatch}
	_, err := c.send(ctx, cl, nil, &out)
	return out, err
}

// PutVote sets the voter's vote on a comment to 1, -1 or 0 (withdrawn)
// (PUT /v1/topics/{topic_id}/comments/{comment_id}/vote); user is the
// voter without tokens, "" with them.
func (c *Client) PutVote(ctx context.Context, topicID string, commentID int32, value int, user string, o ...WriteOptions) (Voted, error) {
	var out Voted
	cl := call{method: http.MethodPut, path: commentPath(topicID, commentID) + "/vote", key: keyOf(o)}
	_, err := c.send(ctx, cl, withUser(map[string]any{"value": value}, user), &out)
	return out, err
}

// ListTopics lists topics (GET /v1/topics): order "latest" (or "") by last
// activity, in pages; "hot" by score, one page (Limit and MinPosition
// only: the site refuses times with it).
func (c *Client) ListTopics(ctx context.Context, order string, q ListQuery) (List[Topic], error) {
	v := q.values()
	set(v, "order", order)
	return list[Topic](ctx, c, "/v1/topics", v)
}

// Comments reads a topic or a subtree, one page of q.Limit comments
// (GET /v1/topics/{topic_id}/comments); List.All reads on to the end.
func (c *Client) Comments(ctx context.Context, q V1ThreadQuery) (List[Comment], error) {
	v := url.Values{}
	setInt(v, "parent_id", int64(q.ParentID))
	set(v, "sort", q.Sort)
	setInt(v, "limit", int64(q.Limit))
	setInt(v, "min_position", q.MinPosition)
	return list[Comment](ctx, c, topicPath(q.TopicID)+"/comments", v)
}

// UserComments lists a user's latest comments (GET /v1/users/{user}/comments).
func (c *Client) UserComments(ctx context.Context, user string, q ListQuery) (List[Comment], error) {
	return list[Comment](ctx, c, userPath(user, "comments"), q.values())
}

// Votes lists the comments a user voted on, newest vote first (GET
// /v1/users/{user}/votes; with tokens, only one's own; From does not apply).
func (c *Client) Votes(ctx context.Context, user string, q ListQuery) (List[Comment], error) {
	q.From = time.Time{}
	return list[Comment](ctx, c, userPath(user, "votes"), q.values())
}

// Top lists the comments with the most up votes over down votes, site-wide
// or in one topic (GET /v1/comments?order=top; one page; Before does not
// apply).
func (c *Client) Top(ctx context.Context, topicID string, q ListQuery) (List[Comment], error) {
	q.Before = time.Time{}
	v := q.values()
	v.Set("order", "top")
	set(v, "topic_id", topicID)
	return list[Comment](ctx, c, "/v1/comments", v)
}

// list reads one page of a /v1 list at path.
func list[T any](ctx context.Context, c *Client, path string, v url.Values) (List[T], error) {
	l := List[T]{c: c, minPosition: v.Get("min_position")}
	h, err := c.do(ctx, call{method: http.MethodGet, path: path, query: v}, &l.Items)
	if err != nil {
		return List[T]{}, err
	}
	l.Next = linkNext(h.Get("Link"))
	return l, nil
}

// More reads the page after l, at l.Next, with the min_position l was
// asked with (or the session's).
func (l List[T]) More(ctx context.Context) (List[T], error) {
	u, err := url.Parse(l.Next)
	if err != nil || l.Next == "" || l.c == nil {
		return List[T]{}, fmt.Errorf("parley: no page after this one (next %q)", l.Next)
	}
	v := u.Query()
	if l.minPosition != "" && !v.Has("min_position") {
		v.Set("min_position", l.minPosition)
	}
	return list[T](ctx, l.c, u.EscapedPath(), v)
}

// All is l's items and those of every page after it.
func (l List[T]) All(ctx context.Context) ([]T, error) {
	all := l.Items
	for l.Next != "" {
		var err error
		if l, err = l.More(ctx); err != nil {
			return nil, err
		}
		all = append(all, l.Items...)
	}
	return all, nil
}
