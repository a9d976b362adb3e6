package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Comment is a comment as the read API shows it; each list fills the
// fields it carries (SPEC §3, §10).
type Comment struct {
	CommentID  int32     `json:"comment_id"`
	TopicID    string    `json:"topic_id,omitempty"`
	ParentID   *int32    `json:"parent_id,omitempty"`
	ParentPath string    `json:"parent_path"`
	User       string    `json:"user"`
	Content    string    `json:"content"`
	ViewCount  int64     `json:"view_count"`
	Up         int32     `json:"up"`
	Down       int32     `json:"down"`
	CreateTime time.Time `json:"create_time,omitzero"`
	UpdateTime time.Time `json:"update_time"`
	Deleted    bool      `json:"deleted"`
	Vote       int8      `json:"vote,omitempty"`    // /user_votes
	VotedAt    time.Time `json:"voted_at,omitzero"` // /user_votes
}

// Topic is a topic as /last_topics and /hot_topics show it.
type Topic struct {
	TopicID      string    `json:"topic_id"`
	User         string    `json:"user"`
	Content      string    `json:"content"`
	ViewCount    int64     `json:"view_count"`
	Up           int32     `json:"up"`
	Down         int32     `json:"down"`
	CommentCount int       `json:"comment_count"`
	UpdateTime   time.Time `json:"update_time"`
	Score        float64   `json:"score,omitempty"`
}

// Ban is a ban in force (/bans).
type Ban struct {
	UserID string     `json:"user_id"`
	Until  *time.Time `json:"until"`
	Reason string     `json:"reason"`
	By     string     `json:"by"`
	At     time.Time  `json:"at"`
}

// Posted is the answer to a new comment.
type Posted struct {
	CommentID  int32  `json:"comment_id"`
	ParentPath string `json:"parent_path"`
	TopicID    string `json:"topic_id"`
	NewTopic   bool   `json:"new_topic"`
	Position   int64  `json:"position"`
}

func (p *Posted) position() *int64 { return &p.Position }

// Written is the answer to an edit, a delete or a ban.
type Written struct {
	Position int64 `json:"position"`
}

func (w *Written) position() *int64 { return &w.Position }

// Voted is the answer to a vote: the comment's counts with it.
type Voted struct {
	Up       int32 `json:"up"`
	Down     int32 `json:"down"`
	Position int64 `json:"position"`
}

func (v *Voted) position() *int64 { return &v.Position }

// NewComment is a comment to post: a new topic when TopicID is "", else a
// reply to ParentPath ("0" when ""). User is required without tokens.
type NewComment struct {
	TopicID    string `json:"topic_id,omitempty"`
	ParentPath string `json:"parent_path,omitempty"`
	Content    string `json:"content"`
	User       string `json:"user,omitempty"`
}

// WriteOptions are what every write may take. Key is the call's
// Idempotency-Key; "" makes a fresh one, used for all of the call's tries.
type WriteOptions struct {
	Key string
}

func keyOf(o []WriteOptions) string {
	if len(o) > 0 {
		return o[0].Key
	}
	return ""
}

// PostComment posts a comment or starts a topic (POST /post_comment).
func (c *Client) PostComment(ctx context.Context, nc NewComment, o ...WriteOptions) (Posted, error) {
	var out Posted
	return out, c.write(ctx, "/post_comment", nc, keyOf(o), &out)
}

// EditComment replaces a comment's content (POST /edit_comment).
func (c *Client) EditComment(ctx context.Context, topicID, path, content string, o ...WriteOptions) (Written, error) {
	var out Written
	body := map[string]string{"topic_id": topicID, "parent_path": path, "content": content}
	return out, c.write(ctx, "/edit_comment", body, keyOf(o), &out)
}

// DeleteComment soft-deletes a comment (POST /delete_comment).
func (c *Client) DeleteComment(ctx context.Context, topicID, path string, o ...WriteOptions) (Written, error) {
	var out Written
	body := map[string]string{"topic_id": topicID, "parent_path": path}
	return out, c.write(ctx, "/delete_comment", body, keyOf(o), &out)
}

// VoteComment votes 1, -1 or 0 (withdraws) on a comment
// (POST /vote_comment); user is the voter without tokens, "" with them.
func (c *Client) VoteComment(ctx context.Context, topicID, path string, value int, user string, o ...WriteOptions) (Voted, error) {
	var out Voted
	body := map[string]any{"topic_id": topicID, "parent_path": path, "value": value}
	if user != "" {
		body["user"] = user
	}
	return out, c.write(ctx, "/vote_comment", body, keyOf(o), &out)
}

// BanUser bans a user until until (for good when nil; a past time lifts
// the ban), as a moderator (POST /ban_user).
func (c *Client) BanUser(ctx context.Context, userID string, until *time.Time, reason string, o ...WriteOptions) (Written, error) {
	var out Written
	body := map[string]any{"user_id": userID}
	if until != nil {
		body["until"] = until.UTC().Format(time.RFC3339Nano)
	}
	if reason != "" {
		body["reason"] = reason
	}
	return out, c.write(ctx, "/ban_user", body, keyOf(o), &out)
}

// ThreadQuery asks for a topic or a subtree (GET /topic_comments).
type ThreadQuery struct {
	TopicID     string
	ParentPath  string // "" for the whole topic
	Sort        string // old (""), new, top, best, controversial
	Limit       int    // 0: the whole (sub)tree
	After       string // a path: the comments after it in the sort's order
	MinPosition int64
}

// Page is one page of a thread: its comments, and the path to continue
// after ("" when the thread ends here).
type Page struct {
	Comments []Comment
	Next     string
}

// TopicComments reads one page of a thread.
func (c *Client) TopicComments(ctx context.Context, q ThreadQuery) (Page, error) {
	v := url.Values{"topic_id": {q.TopicID}}
	set(v, "parent_path", q.ParentPath)
	set(v, "sort", q.Sort)
	set(v, "after", q.After)
	setInt(v, "limit", int64(q.Limit))
	setInt(v, "min_position", q.MinPosition)
	var page Page
	h, err := c.do(ctx, call{method: http.MethodGet, path: "/topic_comments", query: v}, &page.Comments)
	if err != nil {
		return Page{}, err
	}
	page.Next = nextAfter(h.Get("Link"))
	return page, nil
}

// Thread reads a whole thread, page by page when limit > 0.
func (c *Client) Thread(ctx context.Context, q ThreadQuery) ([]Comment, error) {
	var all []Comment
	for {
		p, err := c.TopicComments(ctx, q)
		if err != nil {
			return nil, err
		}
		all = append(all, p.Comments...)
		if p.Next == "" {
			return all, nil
		}
		q.After = p.Next
	}
}

// nextAfter is the after parameter of a Link: <…>; rel="next" header.
func nextAfter(link string) string {
	u, err := url.Parse(linkNext(link))
	if err != nil {
		return ""
	}
	return u.Query().Get("after")
}

// linkNext is the URL of a Link: <…>; rel="next" header, "" when none.
func linkNext(link string) string {
	start, end := strings.IndexByte(link, '<'), strings.IndexByte(link, '>')
	if start < 0 || end < start {
		return ""
	}
	return link[start+1 : end]
}

// ListQuery is what the lists take: Limit (default 10, at most 100), and
// times (zero: unbounded).
type ListQuery struct {
	Limit       int
	From        time.Time // from_time: newer than this
	Before      time.Time // before: older than this
	MinPosition int64
}

func (q ListQuery) values() url.Values {
	v := url.Values{}
	setInt(v, "limit", int64(q.Limit))
	setInt(v, "min_position", q.MinPosition)
	if !q.From.IsZero() {
		v.Set("from_time", q.From.UTC().Format(time.RFC3339Nano))
	}
	if !q.Before.IsZero() {
		v.Set("before", q.Before.UTC().Format(time.RFC3339Nano))
	}
	return v
}

// LastUserComments lists a user's latest comments (GET /last_user_comments).
func (c *Client) LastUserComments(ctx context.Context, user string, q ListQuery) ([]Comment, error) {
	v := q.values()
	v.Set("user", user)
	var out []Comment
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/last_user_comments", query: v}, &out)
	return out, err
}

// LastTopics lists topics by last activity (GET /last_topics).
func (c *Client) LastTopics(ctx context.Context, q ListQuery) ([]Topic, error) {
	var out []Topic
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/last_topics", query: q.values()}, &out)
	return out, err
}

// HotTopics lists the hottest topics (GET /hot_topics; only Limit and
// MinPosition apply).
func (c *Client) HotTopics(ctx context.Context, q ListQuery) ([]Topic, error) {
	v := url.Values{}
	setInt(v, "limit", int64(q.Limit))
	setInt(v, "min_position", q.MinPosition)
	var out []Topic
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/hot_topics", query: v}, &out)
	return out, err
}

// TopComments lists the comments with the most up votes over down votes,
// site-wide or in one topic (GET /top_comments; Before does not apply).
func (c *Client) TopComments(ctx context.Context, topicID string, q ListQuery) ([]Comment, error) {
	q.Before = time.Time{}
	v := q.values()
	set(v, "topic_id", topicID)
	var out []Comment
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/top_comments", query: v}, &out)
	return out, err
}

// UserVotes lists the comments a user voted on, newest vote first (GET
// /user_votes; with tokens, only one's own; From does not apply).
func (c *Client) UserVotes(ctx context.Context, user string, q ListQuery) ([]Comment, error) {
	q.From = time.Time{}
	v := q.values()
	set(v, "user", user)
	var out []Comment
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/user_votes", query: v}, &out)
	return out, err
}

// Bans lists the bans in force, for moderators (GET /bans).
func (c *Client) Bans(ctx context.Context) ([]Ban, error) {
	var out []Ban
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/bans", query: url.Values{}}, &out)
	return out, err
}

func set(v url.Values, name, value string) {
	if value != "" {
		v.Set(name, value)
	}
}

func setInt(v url.Values, name string, n int64) {
	if n > 0 {
		v.Set(name, strconv.FormatInt(n, 10))
	}
}
