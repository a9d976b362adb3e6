package httpx

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
)

// V1Paths lists each /v1 path (echo's pattern) with every method it allows,
// on either service. nginx sends GET and HEAD to the readers and the other
// methods to the writers, so each service must know the methods the other
// serves: a POST to a path that allows only GET reaches the writer, which
// answers 405 with the path's Allow.
func V1Paths() map[string][]string {
	get := []string{http.MethodGet, http.MethodHead}
	return map[string][]string{
		"/v1/topics":                                     append(get, http.MethodPost),
		"/v1/topics/:topic_id":                           get,
		"/v1/topics/:topic_id/comments":                  append(get, http.MethodPost),
		"/v1/topics/:topic_id/comments/:comment_id":      append(get, http.MethodPatch, http.MethodDelete),
		"/v1/topics/:topic_id/comments/:comment_id/vote": {http.MethodPut},
		"/v1/users/:user/comments":                       get,
		"/v1/users/:user/votes":                          get,
		"/v1/comments":                                   get,
		"/v1/config":                                     get,
	}
}

// AllowElsewhere registers, for each /v1 method that e does not serve
// itself (the other service does), an answer of 405 with the path's Allow.
// Call it after the service's own routes.
func AllowElsewhere(e *echo.Echo) {
	own := map[string]bool{}
	for _, r := range e.Routes() {
		own[r.Method+" "+r.Path] = true
	}
	for path, methods := range V1Paths() {
		allow := strings.Join(methods, ", ")
		for _, m := range methods {
			if own[m+" "+path] {
				continue
			}
			e.Add(m, path, func(c echo.Context) error {
				c.Response().Header().Set(echo.HeaderAllow, allow)
				return echo.ErrMethodNotAllowed
			})
		}
	}
}

// PathParam is the path parameter name, unescaped. echo matches the raw
// path when the request's path has escapes that its decoded form cannot
// show (a "%2F" in a user name), and then gives the parameter as sent.
func PathParam(c echo.Context, name string) (string, error) {
	v := c.Param(name)
	if c.Request().URL.RawPath == "" {
		return v, nil
	}
	u, err := url.PathUnescape(v)
	if err != nil {
		return "", errs.Invalid.New("%s is not a valid path segment", name)
	}
	return u, nil
}

// TopicParam is the topic_id path parameter.
func TopicParam(c echo.Context) (comment.TopicID, error) {
	s, err := PathParam(c, "topic_id")
	if err != nil {
		return comment.TopicID{}, err
	}
	id, err := comment.ParseTopicID(s)
	return id, errs.Field("topic_id", err)
}

// CommentParams are the topic_id and comment_id path parameters.
func CommentParams(c echo.Context) (comment.TopicID, int32, error) {
	topic, err := TopicParam(c)
	if err != nil {
		return topic, 0, err
	}
	s, err := PathParam(c, "comment_id")
	if err != nil {
		return topic, 0, err
	}
	id, err := comment.ParseID(s)
	return topic, id, err
}
