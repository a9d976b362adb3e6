package writer

import (
	"crypto/sha256"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/parley/parley/internal/auth"
	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
	"github.com/parley/parley/internal/httpx"
	"github.com/parley/parley/internal/platform"
)

// Handlers decode the write API's requests, validate them into commands,
// run them through the Batcher and encode the outcome.
type Handlers struct {
	batcher       *Batcher
	faults        *faults
	verifier      *auth.Verifier
	maxContent    int
	maxBody       int64
	internalToken string
	drain         *platform.Drain
}

// NewHandlers returns the write API's handlers.
func NewHandlers(b *Batcher, v *auth.Verifier, f *faults, cfg Config, drain *platform.Drain) *Handlers {
	return &Handlers{batcher: b, faults: f, verifier: v, maxContent: cfg.MaxContentBytes, maxBody: cfg.MaxBodyBytes(), internalToken: cfg.InternalToken, drain: drain}
}

// Register mounts the routes on e.
func (h *Handlers) Register(e *echo.Echo) {
	e.POST("/post_comment", h.postComment)
	e.POST("/edit_comment", h.editComment)
	e.POST("/delete_comment", h.deleteComment)
	e.POST("/ban_user", h.banUser)
	e.POST("/vote_comment", h.voteComment)
	e.POST("/internal/views", h.recordViews, httpx.InternalAuth(h.internalToken))
	h.registerV1(e)
	e.GET("/healthz", func(c echo.Context) error { return httpx.WriteJSON(c, http.StatusOK, []byte(`{"status":"ok"}`)) })
	e.GET("/readyz", h.readyz)
}

type postRequest struct {
	TopicID    *string `json:"topic_id"`
	TopicKey   *string `json:"topic_key"`
	ParentPath *string `json:"parent_path"`
	Content    *string `json:"content"`
	User       *string `json:"user"`
}

// POST /post_comment {topic_id? | topic_key?, parent_path?, content, user}
func (h *Handlers) postComment(c echo.Context) error {
	var req postRequest
	return h.handle(c, http.StatusCreated, &req, func(by Actor) (Command, error) {
		parent := comment.RootPath
		if req.ParentPath != nil {
			if req.TopicID == nil && req.TopicKey == nil {
				return nil, errs.Invalid.New("parent_path needs a topic_id or a topic_key")
			}
			var err error
			if parent, err = comment.ParsePathField("parent_path", *req.ParentPath); err != nil {
				return nil, err
			}
		}
		switch {
		case req.TopicID != nil && req.TopicKey != nil:
			return nil, errs.Invalid.New("give topic_id or topic_key, not both")
		case req.TopicKey != nil:
			if err := comment.ValidateTopicKey(*req.TopicKey); err != nil {
				return nil, err
			}
			return h.postKeyed(by, *req.TopicKey, AtPath(parent), req.Content, req.User)
		case req.TopicID != nil:
			id, err := comment.ParseTopicID(*req.TopicID)
			if err != nil {
				return nil, err
			}
			return h.post(by, &id, AtPath(parent), req.Content, req.User)
		}
		return h.post(by, nil, AtPath(parent), req.Content, req.User)
	})
}

// postKeyed is post in the topic a site's key names: its first comment
// creates it.
func (h *Handlers) postKeyed(by Actor, key string, parent Ref, content, user *string) (Command, error) {
	op, err := h.post(by, nil, parent, content, user)
	if err != nil {
		return nil, err
	}
	op.Key, op.NewTopic = key, comment.KeyTopicID(key)
	return op, nil
}

// post validates a comment's content and author into a Post: a new topic
// when topic is nil, else a reply to parent.
func (h *Handlers) post(by Actor, topic *comment.TopicID, parent Ref, content, user *string) (Post, error) {
	op := Post{TopicID: topic, Parent: parent}
	if topic == nil {
		op.NewTopic = comment.NewTopicID()
	}
	var err error
	if op.Content, err = h.content(content); err != nil {
		return Post{}, err
	}
	if op.By, err = h.author(by, user); err != nil {
		return Post{}, err
	}
	op.User = op.By.Name
	return op, nil
}

type editRequest struct {
	TopicID    *string `json:"topic_id"`
	ParentPath *string `json:"parent_path"`
	Content    *string `json:"content"`
}

// POST /edit_comment {topic_id, parent_path, content}
func (h *Handlers) editComment(c echo.Context) error {
	var req editRequest
	return h.handle(c, http.StatusOK, &req, func(by Actor) (Command, error) {
		topic, path, err := target(req.TopicID, req.ParentPath)
		if err != nil {
			return nil, err
		}
		content, err := h.content(req.Content)
		if err != nil {
			return nil, err
		}
		return Edit{TopicID: topic, Comment: AtPath(path), Content: content, By: by}, nil
	})
}

type deleteRequest struct {
	TopicID    *string `json:"topic_id"`
	ParentPath *string `json:"parent_path"`
}

// POST /delete_comment {topic_id, parent_path}
func (h *Handlers) deleteComment(c echo.Context) error {
	var req deleteRequest
	return h.handle(c, http.StatusOK, &req, func(by Actor) (Command, error) {
		topic, path, err := target(req.TopicID, req.ParentPath)
		if err != nil {
			return nil, err
		}
		return Delete{TopicID: topic, Comment: AtPath(path), By: by}, nil
	})
}

type voteRequest struct {
	TopicID    *string `json:"topic_id"`
	ParentPath *string `json:"parent_path"`
	Value      *int    `json:"value"`
	User       *string `json:"user"`
}

// POST /vote_comment {topic_id, parent_path, value, user?}: the voter is
// the token's subject, or with AUTH_MODE=none the body's user.
func (h *Handlers) voteComment(c echo.Context) error {
	var req voteRequest
	return h.handle(c, http.StatusOK, &req, func(by Actor) (Command, error) {
		topic, path, err := target(req.TopicID, req.ParentPath)
		if err != nil {
			return nil, err
		}
		return h.vote(by, topic, AtPath(path), req.Value, req.User)
	})
}

// vote validates a vote's value and voter into a Vote.
func (h *Handlers) vote(by Actor, topic comment.TopicID, ref Ref, value *int, user *string) (Command, error) {
	if value == nil {
		return nil, errs.Invalid.New("value is required")
	}
	if v := *value; v < -1 || v > 1 {
		return nil, errs.Invalid.New("value must be 1, -1 or 0")
	}
	by, err := h.voter(by, user)
	if err != nil {
		return nil, err
	}
	return Vote{TopicID: topic, Comment: ref, Value: int8(*value), By: by}, nil
}

// POST /internal/views {ranges: [{topic_id, first, last, max_id, count}]}
// Readers flush their view counts here; nginx never routes /internal/.
func (h *Handlers) recordViews(c echo.Context) error {
	var req comment.Views
	return h.handleInternal(c, &req, comment.MaxViewBatchBytes, func() (Command, error) {
		if len(req.Ranges) == 0 {
			return nil, errs.Invalid.New("ranges must not be empty")
		}
		if len(req.Ranges) > comment.MaxViewRanges {
			return nil, errs.TooLarge.New("at most %d ranges per batch", comment.MaxViewRanges)
		}
		for _, r := range req.Ranges {
			if err := r.Validate(); err != nil {
				return nil, err
			}
		}
		return RecordViews(req), nil
	})
}

type banRequest struct {
	UserID *string `json:"user_id"`
	Until  *string `json:"until"`
	Reason *string `json:"reason"`
}

// MaxReasonLen bounds a ban's reason, in bytes.
const MaxReasonLen = 1000

// POST /ban_user {user_id, until?, reason?} (moderators and admins)
//
// Anyone else is refused here, before the body is read or a batch is
// run; BanUser.Decide checks again.
func (h *Handlers) banUser(c echo.Context) error {
	by, err := h.identify(c)
	if err != nil {
		return err
	}
	if !by.Moderator {
		return errNotModerator
	}
	var req banRequest
	return h.respond(c, http.StatusOK)(h.run(c, c.Path(), &req, by.ID, h.maxBody, true, func() (Command, error) {
		if req.UserID == nil {
			return nil, errs.Invalid.New("user_id is required")
		}
		op := BanUser{User: *req.UserID, By: by}
		if err := errs.Field("user_id", comment.ValidateUserID(op.User)); err != nil {
			return nil, err
		}
		if req.Until != nil {
			t, err := time.Parse(time.RFC3339Nano, *req.Until)
			if err != nil {
				return nil, errs.Invalid.New("until must be an RFC 3339 time")
			}
			t = t.UTC().Truncate(time.Millisecond)
			op.Until = &t
		}
		if req.Reason != nil {
			if len(*req.Reason) > MaxReasonLen || !utf8.ValidString(*req.Reason) || strings.IndexByte(*req.Reason, 0) >= 0 {
				return nil, errs.Invalid.New("reason must be valid text of at most %d bytes", MaxReasonLen)
			}
			op.Reason = *req.Reason
		}
		return op, nil
	}))
}

// identify says who a public write comes from. With AUTH_MODE=jwt it is
// the token's subject, and a request without a valid token is 401; with
// none, nobody in particular until the body names a user (author).
func (h *Handlers) identify(c echo.Context) (Actor, error) {
	if !h.verifier.Enabled() {
		return Actor{}, nil
	}
	id, err := httpx.Authenticate(c, h.verifier)
	if err != nil {
		return Actor{}, err
	}
	return Actor{ID: id.Subject, Name: id.Name, Moderator: id.Moderator, Verified: true}, nil
}

// author is the author of a new comment: the token's, whose name a body
// user must match; or, with AUTH_MODE=none, the body's user.
func (h *Handlers) author(by Actor, user *string) (Actor, error) {
	if by.Verified {
		if user != nil && *user != by.Name {
			return Actor{}, errs.Forbidden.New("user is not the name in your token")
		}
		if err := comment.ValidateUser(by.Name); err != nil {
			return Actor{}, errs.Field("the token's name", err)
		}
		return by, nil
	}
	if user == nil {
		return Actor{}, errs.Invalid.New("user is required")
	}
	if err := comment.ValidateUser(*user); err != nil {
		return Actor{}, err
	}
	return Actor{ID: *user, Name: *user}, nil
}

// voter is who votes: the token's subject, whose name a body user must
// match (the name itself is not shown with a vote, so it need not be a
// valid author's name); or, with AUTH_MODE=none, the body's user.
func (h *Handlers) voter(by Actor, user *string) (Actor, error) {
	if by.Verified && user != nil && *user != by.Name {
		return Actor{}, errs.Forbidden.New("user is not the name in your token")
	}
	if by.Verified {
		return by, nil
	}
	return h.author(by, user)
}

// handle is the shape every public write of the original routes shares:
// find who sends it, read and decode the body, build the command, take the
// Idempotency-Key, run it and encode the outcome with the route's status.
func (h *Handlers) handle(c echo.Context, status int, req any, build func(Actor) (Command, error)) error {
	return h.respond(c, status)(h.write(c, c.Path(), req, build))
}

// write runs a public write: who sends it, then run. route names the
// request for its Idempotency-Key (see run).
func (h *Handlers) write(c echo.Context, route string, req any, build func(Actor) (Command, error)) (Outcome, error) {
	by, err := h.identify(c)
	if err != nil {
		return Outcome{}, err
	}
	return h.run(c, route, req, by.ID, h.maxBody, true, func() (Command, error) { return build(by) })
}

// handleInternal is handle for the readers' routes, which InternalAuth
// guards; their bodies may be up to limit bytes.
func (h *Handlers) handleInternal(c echo.Context, req any, limit int64, build func() (Command, error)) error {
	return h.respond(c, http.StatusOK)(h.run(c, c.Path(), req, "", limit, false, build))
}

// respond encodes a write's outcome with status.
func (h *Handlers) respond(c echo.Context, status int) func(Outcome, error) error {
	return func(out Outcome, err error) error {
		if err != nil {
			return err
		}
		return httpx.WriteJSON(c, status, out.Body)
	}
}

// run reads (up to limit bytes), decodes into req (nil: the body must be
// empty), builds and runs a write, and puts its position on the response.
// An Idempotency-Key names a request of one route, one body and one sender
// (who): another user's request with the same key and body is not a retry
// of the first, so the key is stored and locked under the sender's id. A
// public write may fail on purpose (FAULT_RATE).
func (h *Handlers) run(c echo.Context, route string, req any, who string, limit int64, public bool, build func() (Command, error)) (Outcome, error) {
	body, err := httpx.ReadBody(c.Request(), limit)
	if err != nil {
		return Outcome{}, err
	}
	if req == nil {
		if len(body) > 0 {
			return Outcome{}, errs.Invalid.New("this request takes no body")
		}
	} else if err := httpx.DecodeJSON(body, req); err != nil {
		return Outcome{}, err
	}
	key, err := idempotencyKey(c.Request().Header)
	if err != nil {
		return Outcome{}, err
	}
	cmd, err := build()
	if err != nil {
		return Outcome{}, err
	}
	r := &Request{Cmd: cmd, Key: senderKey(who, key)}
	if key != "" {
		sum := sha256.New()
		sum.Write([]byte(route))
		sum.Write([]byte{0})
		sum.Write([]byte(who))
		sum.Write([]byte{0})
		sum.Write(body)
		r.Fingerprint = sum.Sum(nil)
	}
	fault := noFault
	if public {
		fault = h.faults.pick()
	}
	switch fault {
	case faultBefore:
		return Outcome{}, errFaultBefore
	case faultDelay:
		if err := h.faults.wait(c.Request().Context()); err != nil {
			return Outcome{}, err
		}
	}
	out, err := h.batcher.Do(c.Request().Context(), r)
	if err != nil {
		return Outcome{}, err
	}
	if fault == faultAfter {
		return Outcome{}, errFaultAfter
	}
	c.Response().Header().Set(httpx.HeaderPosition, strconv.FormatInt(out.Position, 10))
	return out, nil
}

// senderKey is the Idempotency-Key as stored: the sender's own, when the
// sender is known. A key is printable ASCII, so the separator cannot occur
// in it and two senders' keys never meet.
func senderKey(who, key string) string {
	if who == "" || key == "" {
		return key
	}
	return who + "\x1f" + key
}

// errNotModerator refuses a ban from anyone but a moderator or an admin.
var errNotModerator = errs.Forbidden.New("only a moderator may ban users")

// MaxKeyLen bounds an Idempotency-Key.
const MaxKeyLen = 255

func idempotencyKey(h http.Header) (string, error) {
	vals := h.Values("Idempotency-Key")
	switch {
	case len(vals) == 0:
		return "", nil
	case len(vals) > 1:
		return "", errs.Invalid.New("Idempotency-Key must be given once")
	}
	k := vals[0]
	if k == "" || len(k) > MaxKeyLen {
		return "", errs.Invalid.New("Idempotency-Key must be 1 to %d characters", MaxKeyLen)
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return "", errs.Invalid.New("Idempotency-Key must be printable ASCII without spaces")
		}
	}
	return k, nil
}

func (h *Handlers) content(s *string) (string, error) {
	if s == nil {
		return "", errs.Invalid.New("content is required")
	}
	return *s, comment.ValidateContent(*s, h.maxContent)
}

func target(topicID, path *string) (comment.TopicID, comment.Path, error) {
	if topicID == nil {
		return comment.TopicID{}, nil, errs.Invalid.New("topic_id is required")
	}
	if path == nil {
		return comment.TopicID{}, nil, errs.Invalid.New("parent_path is required")
	}
	id, err := comment.ParseTopicID(*topicID)
	if err != nil {
		return id, nil, err
	}
	p, err := comment.ParsePathField("parent_path", *path)
	return id, p, err
}

// readyz is 200 until the writer is told to stop (SIGTERM), then 503 while
// it drains: a load balancer polling it stops sending writes first.
func (h *Handlers) readyz(c echo.Context) error {
	if h.drain.Draining() {
		return errs.Unavailable.New("writer is draining: it stops shortly")
	}
	return httpx.WriteJSON(c, http.StatusOK, []byte(`{"status":"ready"}`))
}
