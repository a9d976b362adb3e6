package reader

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
	"github.com/parley/parley/internal/httpx"
)

// registerV1 mounts the /v1 resources' reads (docs/resources.md), each on
// the query its original route runs.
func (h *Handlers) registerV1(e *echo.Echo, get []string) {
	e.Match(get, "/v1/topics", h.v1Topics)
	e.Match(get, "/v1/topics/:topic_id", h.v1Topic)
	e.Match(get, "/v1/topics/:topic_id/comments", h.v1TopicComments)
	e.Match(get, "/v1/topics/:topic_id/comments/:comment_id", h.v1Comment)
	e.Match(get, "/v1/users/:user/comments", h.v1UserComments)
	e.Match(get, "/v1/users/:user/votes", h.v1UserVotes)
	e.Match(get, "/v1/comments", h.v1Comments)
	httpx.AllowElsewhere(e)
}

// GET /v1/topics?order=latest|hot&limit=&before=&from_time=&min_position=
func (h *Handlers) v1Topics(c echo.Context) error {
	q := c.QueryParams()
	switch q.Get("order") {
	case "", "latest":
		return h.latestTopics(c, q, "/v1/topics")
	case "hot":
		if q.Has("before") || q.Has("from_time") {
			return errs.Invalid.New("order=hot is a ranking: it takes neither before nor from_time")
		}
		return h.hotTopics(c)
	}
	return errs.Invalid.New("order must be latest or hot")
}

// GET /v1/topics/{topic_id}?min_position=
func (h *Handlers) v1Topic(c echo.Context) error {
	id, err := httpx.TopicParam(c)
	if err != nil {
		return err
	}
	if err := h.ready(c, c.QueryParams()); err != nil {
		return err
	}
	body, pos, err := h.proj.Topic(id)
	if err != nil {
		return err
	}
	setPosition(c, pos)
	return httpx.WriteJSON(c, http.StatusOK, body)
}

// GET /v1/topics/{topic_id}/comments?parent_id=&limit=&after=&sort=&min_position=
func (h *Handlers) v1TopicComments(c echo.Context) error {
	topic, err := httpx.TopicParam(c)
	if err != nil {
		return err
	}
	q := c.QueryParams()
	tq := TopicQuery{Topic: topic, Parent: comment.RootPath}
	if q.Has("parent_id") {
		id, err := comment.ParseID(q.Get("parent_id"))
		if err != nil {
			return errs.Field("parent_id", err)
		}
		tq.ParentID = &id
	}
	if err := pageParams(q, &tq); err != nil {
		return err
	}
	return h.topicPage(c, q, tq, func(after []byte) string {
		v := url.Values{}
		if tq.ParentID != nil {
			v.Set("parent_id", strconv.Itoa(int(*tq.ParentID)))
		}
		if q.Has("min_position") {
			v.Set("min_position", q.Get("min_position"))
		}
		return pageLink("/v1/topics/"+topic.String()+"/comments", v, tq, after)
	})
}

// GET /v1/topics/{topic_id}/comments/{comment_id}?min_position=: the
// comment as a /topic_comments item, with its version as ETag. The tag
// changes with edits, not with votes or views, so it is for If-Match and
// never answers 304. The comment counts as viewed, as in any page.
func (h *Handlers) v1Comment(c echo.Context) error {
	topic, id, err := httpx.CommentParams(c)
	if err != nil {
		return err
	}
	if err := h.ready(c, c.QueryParams()); err != nil {
		return err
	}
	page, err := h.topicComments1(c, TopicQuery{Topic: topic, ParentID: &id, Limit: 1})
	if err != nil {
		return err
	}
	defer page.Done()
	body := bytes.TrimSuffix(bytes.TrimPrefix(page.Bytes(), []byte{'['}), []byte{']'})
	var v struct {
		UpdateTime string `json:"update_time"`
		Deleted    bool   `json:"deleted"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	if at, err := time.Parse(time.RFC3339Nano, v.UpdateTime); err == nil {
		c.Response().Header().Set("ETag", comment.Version(at, v.Deleted))
	}
	h.viewed(c, page)
	return httpx.WriteJSON(c, http.StatusOK, body)
}

// GET /v1/users/{user}/comments?limit=&before=&from_time=&min_position=
func (h *Handlers) v1UserComments(c echo.Context) error {
	user, err := httpx.PathParam(c, "user")
	if err != nil {
		return err
	}
	return h.userComments(c, user, c.QueryParams(), "/v1/users/"+url.PathEscape(user)+"/comments")
}

// GET /v1/users/{user}/votes?limit=&before=&min_position=
func (h *Handlers) v1UserVotes(c echo.Context) error {
	user, err := httpx.PathParam(c, "user")
	if err != nil {
		return err
	}
	if user, err = h.voter(c, user, true); err != nil {
		return err
	}
	return h.votesOf(c, user, c.QueryParams(), "/v1/users/"+url.PathEscape(user)+"/votes")
}

// GET /v1/comments?order=top&topic_id=&from_time=&limit=&min_position=
func (h *Handlers) v1Comments(c echo.Context) error {
	if o := c.QueryParam("order"); o != "" && o != "top" {
		return errs.Invalid.New("order must be top")
	}
	return h.topComments(c)
}
