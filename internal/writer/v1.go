package writer

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
	"github.com/parley/parley/internal/httpx"
)

// registerV1 mounts the /v1 resources' writes (docs/resources.md). Each
// builds the command its original route builds.
func (h *Handlers) registerV1(e *echo.Echo) {
	e.POST("/v1/topics", h.createTopic)
	e.POST("/v1/topics/:topic_id/comments", h.createComment)
	e.PATCH("/v1/topics/:topic_id/comments/:comment_id", h.patchComment)
	e.DELETE("/v1/topics/:topic_id/comments/:comment_id", h.removeComment)
	e.PUT("/v1/topics/:topic_id/comments/:comment_id/vote", h.putVote)
	httpx.AllowElsewhere(e)
}

type createTopicRequest struct {
	Content *string `json:"content"`
	User    *string `json:"user"`
}

// POST /v1/topics {content, user?}: 201, Location of the topic.
func (h *Handlers) createTopic(c echo.Context) error {
	var req createTopicRequest
	out, err := h.write(c, "POST /v1/topics", &req, func(by Actor) (Command, error) {
		return h.post(by, nil, AtPath(comment.RootPath), req.Content, req.User)
	})
	return h.created(c, out, err)
}

type createCommentRequest struct {
	Content  *string `json:"content"`
	ParentID *int64  `json:"parent_id"`
	User     *string `json:"user"`
}

// POST /v1/topics/{topic_id}/comments {content, parent_id?, user?}: 201,
// Location of the comment.
func (h *Handlers) createComment(c echo.Context) error {
	topic, err := httpx.TopicParam(c)
	if err != nil {
		return err
	}
	var req createCommentRequest
	out, err := h.write(c, "POST /v1/topics/"+topic.String()+"/comments", &req, func(by Actor) (Command, error) {
		parent := AtPath(comment.RootPath)
		if req.ParentID != nil {
			if *req.ParentID < 0 || *req.ParentID > 1<<31-1 {
				return nil, errs.Invalid.New("parent_id must be a comment id, 0 or more")
			}
			parent = WithID(int32(*req.ParentID))
		}
		return h.post(by, &topic, parent, req.Content, req.User)
	})
	return h.created(c, out, err)
}

// created answers a post with 201 and the new resource's Location.
func (h *Handlers) created(c echo.Context, out Outcome, err error) error {
	if err != nil {
		return err
	}
	res, ok := out.Result.(*PostResult)
	if !ok {
		return fmt.Errorf("a post answered %T", out.Result)
	}
	loc := "/v1/topics/" + res.TopicID.String()
	if !res.NewTopic {
		loc += "/comments/" + strconv.Itoa(int(res.CommentID))
	}
	c.Response().Header().Set(echo.HeaderLocation, loc)
	return httpx.WriteJSON(c, http.StatusCreated, out.Body)
}

type patchRequest struct {
	Content *string `json:"content"`
}

// PATCH /v1/topics/{topic_id}/comments/{comment_id} {content}, If-Match?:
// 200 {update_time, position} and the new ETag; 412 when If-Match names
// another version.
func (h *Handlers) patchComment(c echo.Context) error {
	topic, id, err := httpx.CommentParams(c)
	if err != nil {
		return err
	}
	ifMatch := ifMatch(c)
	var req patchRequest
	out, err := h.write(c, "PATCH "+commentURL(topic, id)+conditionOf(ifMatch), &req, func(by Actor) (Command, error) {
		content, err := h.content(req.Content)
		if err != nil {
			return nil, err
		}
		return Edit{TopicID: topic, Comment: WithID(id), Content: content, By: by, IfMatch: ifMatch}, nil
	})
	if err != nil {
		return err
	}
	res, ok := out.Result.(*EditResult)
	if !ok {
		return fmt.Errorf("an edit answered %T", out.Result)
	}
	at, err := time.Parse(time.RFC3339Nano, res.UpdateTime)
	if err != nil {
		return fmt.Errorf("an edit's update time: %w", err)
	}
	c.Response().Header().Set("ETag", comment.Version(at, false))
	return httpx.WriteJSON(c, http.StatusOK, out.Body)
}

// DELETE /v1/topics/{topic_id}/comments/{comment_id}, If-Match?: 204.
func (h *Handlers) removeComment(c echo.Context) error {
	topic, id, err := httpx.CommentParams(c)
	if err != nil {
		return err
	}
	ifMatch := ifMatch(c)
	_, err = h.write(c, "DELETE "+commentURL(topic, id)+conditionOf(ifMatch), nil, func(by Actor) (Command, error) {
		return Delete{TopicID: topic, Comment: WithID(id), By: by, IfMatch: ifMatch}, nil
	})
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type putVoteRequest struct {
	Value *int    `json:"value"`
	User  *string `json:"user"`
}

// PUT /v1/topics/{topic_id}/comments/{comment_id}/vote {value, user?}:
// 200 {up, down, position}.
func (h *Handlers) putVote(c echo.Context) error {
	topic, id, err := httpx.CommentParams(c)
	if err != nil {
		return err
	}
	var req putVoteRequest
	return h.respond(c, http.StatusOK)(h.write(c, "PUT "+commentURL(topic, id)+"/vote", &req, func(by Actor) (Command, error) {
		return h.vote(by, topic, WithID(id), req.Value, req.User)
	}))
}

// commentURL is a comment's canonical path: what an Idempotency-Key's
// request is named by, whatever spelling of the ids the client sent.
func commentURL(topic comment.TopicID, id int32) string {
	return "/v1/topics/" + topic.String() + "/comments/" + strconv.Itoa(int(id))
}

// conditionOf is what an If-Match adds to the request an Idempotency-Key
// names: the same key with another condition is another request (409).
func conditionOf(ifMatch []string) string {
	if ifMatch == nil {
		return ""
	}
	return "\x00If-Match: " + strings.Join(ifMatch, ",")
}

// ifMatch is the If-Match list, nil when there is none.
func ifMatch(c echo.Context) []string {
	var tags []string
	for _, v := range c.Request().Header.Values("If-Match") {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				tags = append(tags, t)
			}
		}
	}
	return tags // an empty header names nothing: no condition, as RFC 9110 lets a server ignore it
}
