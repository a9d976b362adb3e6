package reader

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/parley/parley/internal/auth"
	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
	"github.com/parley/parley/internal/httpx"
	"github.com/parley/parley/internal/platform"
	"github.com/parley/parley/internal/reader/topictree"
)

// Handlers serve the read API from the projection.
type Handlers struct {
	verifier *auth.Verifier
	proj     *Projection
	refresh  *Refresher
	views    *ViewCounter
	cfg      Config
	drain    *platform.Drain
	requests atomic.Int64
}

// NewHandlers returns the read API's handlers.
func NewHandlers(proj *Projection, refresh *Refresher, views *ViewCounter, v *auth.Verifier, cfg Config, drain *platform.Drain) *Handlers {
	return &Handlers{proj: proj, refresh: refresh, views: views, verifier: v, cfg: cfg, drain: drain}
}

// Register mounts the routes on e. GET and HEAD share every route.
func (h *Handlers) Register(e *echo.Echo) {
	get := []string{http.MethodGet, http.MethodHead}
	e.Use(h.position)
	e.Match(get, "/topic_comments", h.topicComments)
	e.Match(get, "/last_user_comments", h.lastUserComments)
	e.Match(get, "/last_topics", h.lastTopics)
	e.Match(get, "/hot_topics", h.hotTopics)
	e.Match(get, "/top_comments", h.topComments)
	e.Match(get, "/user_votes", h.userVotes)
	e.Match(get, "/bans", h.listBans)
	e.Match(get, "/feeds/topic", h.topicFeed)
	e.Match(get, "/feeds/user", h.userFeed)
	e.Match(get, "/topic_counts", h.topicCounts)
	e.Match(get, "/v1/config", h.v1Config)
	h.registerV1(e, get)
	e.Match(get, "/healthz", h.healthz)
	e.Match(get, "/readyz", h.readyz)
	e.Match(get, "/internal/stats", h.stats, httpx.InternalAuth(h.cfg.InternalToken))
}

// position puts X-Log-Position on every response, errors included; a
// handler that serves a later state overwrites it.
func (h *Handlers) position(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		setPosition(c, h.proj.Applied())
		return next(c)
	}
}

func setPosition(c echo.Context, pos int64) {
	c.Response().Header()[httpx.HeaderPosition] = []string{strconv.FormatInt(pos, 10)}
}

// ready refuses data requests until the snapshot is loaded, and honours
// min_position: the request waits, with the refresher woken, up to
// MIN_POSITION_WAIT for the reader to be loaded and to have applied that
// position.
func (h *Handlers) ready(c echo.Context, q url.Values) error {
	h.requests.Add(1)
	raw, ok := q["min_position"]
	if !ok {
		if !h.proj.Ready() {
			return errs.Unavailable.Wrap("reader is loading its snapshot", nil)
		}
		return nil
	}
	n, err := strconv.ParseInt(raw[0], 10, 64)
	if err != nil || n < 0 {
		return errs.Invalid.New("min_position must be a non-negative integer")
	}
	if h.proj.Ready() && h.proj.Applied() >= n {
		return nil
	}
	h.refresh.Wake()
	ctx, cancel := context.WithTimeout(c.Request().Context(), h.cfg.MinPositionWait)
	defer cancel()
	if !h.proj.WaitApplied(ctx, n) {
		if !h.proj.Ready() {
			return errs.Unavailable.Wrap("reader is loading its snapshot", nil)
		}
		return errs.Unavailable.Wrap("reader has not reached min_position yet", nil)
	}
	setPosition(c, h.proj.Applied())
	return nil
}

// GET /topic_comments?topic_id=&parent_path=&limit=&after=&sort=&min_position=
func (h *Handlers) topicComments(c echo.Context) error {
	q := c.QueryParams()
	var tq TopicQuery
	var err error
	if tq.Topic, err = topicParam(q); err != nil {
		return err
	}
	tq.Parent = comment.RootPath
	if q.Has("parent_path") {
		if tq.Parent, err = queryPath(q, "parent_path"); err != nil {
			return err
		}
	}
	if err := pageParams(q, &tq); err != nil {
		return err
	}
	return h.topicPage(c, q, tq, func(after []byte) string { return nextLink(q, tq, after) })
}

// pageParams reads a topic page's limit, after and sort into tq.
func pageParams(q url.Values, tq *TopicQuery) (err error) {
	if q.Has("depth") {
		n, err := strconv.Atoi(q.Get("depth"))
		if err != nil || n < 0 {
			return errs.Invalid.New("depth must be a non-negative integer")
		}
		n = min(n, maxDepthParam)
		tq.Depth = &n
	}
	if q.Has("after") {
		if tq.After, err = queryPath(q, "after"); err != nil {
			return err
		}
	}
	if q.Has("limit") {
		if tq.Limit, err = queryLimit(q, MaxPageLimit); err != nil {
			return err
		}
	}
	if q.Has("sort") {
		if tq.Sort, err = topictree.ParseSort(q.Get("sort")); err != nil {
			return err
		}
	}
	return nil
}

// topicPage answers a topic page query, with link giving the Link of the
// page after it.
func (h *Handlers) topicPage(c echo.Context, q url.Values, tq TopicQuery, link func(after []byte) string) error {
	if err := h.ready(c, q); err != nil {
		return err
	}
	page, err := h.topicComments1(c, tq)
	if err != nil {
		return err
	}
	defer page.Done()
	if page.Next != nil {
		u := c.Request().URL
		c.Response().Header()["Link"] = page.linkHeader(u.Path, u.RawQuery, func() string { return link(page.Next) })
	}
	if page.ETag != "" && notModified(c, page.ETag) {
		return nil
	}
	h.viewed(c, page)
	return httpx.WriteJSONChunks(c, http.StatusOK, page.Chunks)
}

// topicComments1 runs a topic query; a render that must wait too long for
// memory asks the client to come back in a second.
func (h *Handlers) topicComments1(c echo.Context, tq TopicQuery) (TopicPage, error) {
	page, err := h.proj.TopicComments(c.Request().Context(), tq)
	if errors.Is(err, errRenderBusy) {
		c.Response().Header().Set("Retry-After", "1")
	}
	return page, err
}

// viewed counts a page's comments as viewed by a GET.
func (h *Handlers) viewed(c echo.Context, page TopicPage) {
	if c.Request().Method == http.MethodGet && h.cfg.ViewCounting {
		h.views.Record(page)
	}
}

// MaxPageLimit is the most comments one /topic_comments page returns.
const MaxPageLimit = 10000

// maxDepthParam is where a depth stops mattering: deeper than any reply
// may nest.
const maxDepthParam = 1 << 20

// MaxListLimit is the most items the other list endpoints return.
const MaxListLimit = 100

// nextLink is the Link of a /topic_comments page. It names the topic as the
// request did (by key, the next page goes to the reader nginx chose for the
// first) and keeps its min_position (the next page is at least as fresh).
func nextLink(req url.Values, q TopicQuery, after []byte) string {
	v := url.Values{"parent_path": {q.Parent.String()}}
	if req.Has("topic_key") {
		v.Set("topic_key", req.Get("topic_key"))
	} else {
		v.Set("topic_id", q.Topic.String())
	}
	if req.Has("min_position") {
		v.Set("min_position", req.Get("min_position"))
	}
	return pageLink("/topic_comments", v, q, after)
}

// pageLink is the Link to the page after after: path, with the query v
// (which names the subtree) and q's limit and sort.
func pageLink(path string, v url.Values, q TopicQuery, after []byte) string {
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Sort != topictree.SortOld {
		v.Set("sort", q.Sort.String())
	}
	if q.Depth != nil {
		v.Set("depth", strconv.Itoa(*q.Depth))
	}
	v.Set("after", string(after))
	return "<" + path + "?" + v.Encode() + `>; rel="next"`
}

// notModified answers 304 when the client holds the current representation.
func notModified(c echo.Context, etag string) bool {
	c.Response().Header()["Etag"] = []string{etag}
	inm := c.Request().Header["If-None-Match"]
	if len(inm) == 0 {
		return false
	}
	for _, tag := range strings.Split(strings.Join(inm, ","), ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == etag || tag == "*" {
			c.Response().WriteHeader(http.StatusNotModified)
			return true
		}
	}
	return false
}

// GET /last_user_comments?user=&limit=&from_time=&before=&min_position=
func (h *Handlers) lastUserComments(c echo.Context) error {
	q := c.QueryParams()
	if !q.Has("user") {
		return errs.Invalid.New("user is required")
	}
	return h.userComments(c, q.Get("user"), q, "/last_user_comments")
}

// userComments answers a user's comments; a full page has a Link to the
// next, at base.
func (h *Handlers) userComments(c echo.Context, user string, q url.Values, base string) error {
	if err := comment.ValidateUser(user); err != nil {
		return err
	}
	w, err := listParams(q, true)
	if err != nil {
		return err
	}
	if err := h.ready(c, q); err != nil {
		return err
	}
	l, err := h.proj.UserComments(c.Request().Context(), user, w)
	if err != nil {
		return err
	}
	return h.list(c, l, q, base)
}

// GET /last_topics?limit=&from_time=&before=&min_position=
func (h *Handlers) lastTopics(c echo.Context) error {
	return h.latestTopics(c, c.QueryParams(), "/last_topics")
}

func (h *Handlers) latestTopics(c echo.Context, q url.Values, base string) error {
	w, err := listParams(q, true)
	if err != nil {
		return err
	}
	if err := h.ready(c, q); err != nil {
		return err
	}
	return h.list(c, h.proj.LastTopics(w), q, base)
}

// GET /hot_topics?limit=&min_position=
// Scores decay with time, so every answer is new: no ETag.
func (h *Handlers) hotTopics(c echo.Context) error {
	q := c.QueryParams()
	w, err := listParams(q, false)
	if err != nil {
		return err
	}
	if err := h.ready(c, q); err != nil {
		return err
	}
	body, pos := h.proj.HotTopics(w.Limit, time.Now())
	setPosition(c, pos)
	return httpx.WriteJSON(c, http.StatusOK, body)
}

// GET /top_comments?limit=&topic_id=|topic_key=&from_time=&min_position=
func (h *Handlers) topComments(c echo.Context) error {
	q := c.QueryParams()
	var topic *comment.TopicID
	if q.Has("topic_id") || q.Has("topic_key") {
		id, err := topicParam(q)
		if err != nil {
			return err
		}
		topic = &id
	}
	if q.Has("before") {
		return errs.Invalid.New("before is not a parameter of /top_comments")
	}
	if q.Has("cursor") {
		return errs.Invalid.New("cursor is not a parameter of /top_comments")
	}
	w, err := listParams(q, true)
	if err != nil {
		return err
	}
	if err := h.ready(c, q); err != nil {
		return err
	}
	body, pos, err := h.proj.TopComments(c.Request().Context(), topic, w.From, w.Limit)
	if err != nil {
		return err
	}
	return h.list(c, List{Body: body, Pos: pos}, q, "")
}

// GET /user_votes?user=&limit=&before=&min_position=
func (h *Handlers) userVotes(c echo.Context) error {
	q := c.QueryParams()
	user, err := h.voter(c, q.Get("user"), q.Has("user"))
	if err != nil {
		return err
	}
	return h.votesOf(c, user, q, "/user_votes")
}

// voter is whose votes a request may list. With AUTH_MODE=jwt a user's
// votes are their own: the request carries their token, and the user
// named (their token's subject) may be left out.
func (h *Handlers) voter(c echo.Context, user string, named bool) (string, error) {
	if !h.verifier.Enabled() {
		if !named {
			return "", errs.Invalid.New("user is required")
		}
		return user, comment.ValidateUser(user)
	}
	id, err := httpx.Authenticate(c, h.verifier)
	if err != nil {
		return "", err
	}
	if named && user != id.Subject {
		return "", errs.Forbidden.New("a user's votes are theirs alone to list")
	}
	c.Response().Header().Set("Cache-Control", "private, no-store")
	return id.Subject, nil
}

// votesOf answers the votes of user, who is known to be allowed to see them.
func (h *Handlers) votesOf(c echo.Context, user string, q url.Values, base string) error {
	if q.Has("from_time") {
		return errs.Invalid.New("from_time is not a parameter of a user's votes")
	}
	w, err := listParams(q, true)
	if err != nil {
		return err
	}
	if err := h.ready(c, q); err != nil {
		return err
	}
	l, err := h.proj.UserVotes(c.Request().Context(), user, w)
	if err != nil {
		return err
	}
	return h.list(c, l, q, base)
}

// list writes a list whose content is fixed by the position it shows:
// the same position means the same answer on any reader. With a link base,
// a full list links to the page after its last item.
func (h *Handlers) list(c echo.Context, l List, q url.Values, base string) error {
	setPosition(c, l.Pos)
	if base != "" && l.Next != nil {
		// The next page keeps the query, min_position and before included
		// (it is at least as fresh as this one on any reader, and within
		// the same bounds), and continues after this page's last item.
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("cursor", l.Next.String())
		c.Response().Header().Set("Link", "<"+base+"?"+next.Encode()+`>; rel="next"`)
	}
	if notModified(c, `"p`+strconv.FormatInt(l.Pos, 10)+`"`) {
		return nil
	}
	return httpx.WriteJSON(c, http.StatusOK, l.Body)
}

// GET /bans (moderators and admins): the bans in force. It depends on who
// asks, so it is never cached.
func (h *Handlers) listBans(c echo.Context) error {
	if !h.verifier.Enabled() {
		return errs.Forbidden.New("there are no moderators with AUTH_MODE=none")
	}
	id, err := httpx.Authenticate(c, h.verifier)
	if err != nil {
		return err
	}
	if !id.Moderator {
		return errs.Forbidden.New("only moderators may list bans")
	}
	if err := h.ready(c, c.QueryParams()); err != nil {
		return err
	}
	body, pos := h.proj.Bans(time.Now())
	setPosition(c, pos)
	c.Response().Header().Set("Cache-Control", "private, no-store")
	return httpx.WriteJSON(c, http.StatusOK, body)
}

func (h *Handlers) healthz(c echo.Context) error {
	return httpx.WriteJSON(c, http.StatusOK, []byte(`{"status":"ok"}`))
}

// readyz is 200 once the snapshot is loaded and while the last successful
// refresh is younger than MAX_STALENESS, until the reader is told to stop.
func (h *Handlers) readyz(c echo.Context) error {
	if h.drain.Draining() {
		return errs.Unavailable.New("reader is draining: it stops shortly")
	}
	if !h.proj.Ready() {
		return errs.Unavailable.Wrap("reader is loading its snapshot", nil)
	}
	if age := time.Since(h.refresh.LastRefresh()); age > h.cfg.MaxStaleness {
		return errs.Unavailable.Wrap("reader is stale: last refresh "+age.Round(time.Millisecond).String()+" ago", nil)
	}
	// Behind the log for longer than MAX_STALENESS: refreshes succeed but
	// bring nothing of what the primary announced (a replica whose replay
	// is behind or paused).
	events, behind := h.refresh.Lag(time.Now())
	if behind > h.cfg.MaxStaleness {
		return errs.Unavailable.Wrap(fmt.Sprintf("reader is stale: %d events behind the log for %s", events, behind.Round(time.Millisecond)), nil)
	}
	b := []byte(`{"status":"ready","position":`)
	b = strconv.AppendInt(b, h.proj.Applied(), 10)
	b = append(b, `,"lag_events":`...)
	b = strconv.AppendInt(b, events, 10)
	b = append(b, `,"lag_seconds":`...)
	b = strconv.AppendFloat(b, behind.Seconds(), 'f', 3, 64)
	return httpx.WriteJSON(c, http.StatusOK, append(b, '}'))
}

func (h *Handlers) stats(c echo.Context) error {
	return c.JSON(http.StatusOK, struct {
		Stats
		PendingViewRanges int   `json:"pending_view_ranges"`
		DroppedViewRanges int64 `json:"dropped_view_ranges"` // refused by the writer, too old, or over VIEW_PENDING_MAX
		Requests          int64 `json:"requests"`            // API requests that passed validation
	}{h.proj.Stats(), h.views.Pending(), h.views.Dropped(), h.requests.Load()})
}

func queryPath(q url.Values, name string) (comment.Path, error) {
	return comment.ParsePathField(name, q.Get(name))
}

// queryLimit reads limit: a positive integer, clamped to max.
func queryLimit(q url.Values, max int) (int, error) {
	n, err := strconv.Atoi(q.Get("limit"))
	if err != nil || n <= 0 {
		return 0, errs.Invalid.New("limit must be a positive integer")
	}
	return min(n, max), nil
}

// listParams reads limit (default 10, at most 100) and, when times is set,
// from_time and before as unix milliseconds (open bounds when absent) and
// the cursor a Link gave.
func listParams(q url.Values, times bool) (Window, error) {
	w := Window{Limit: 10, From: math.MinInt64, Before: math.MaxInt64}
	var err error
	if q.Has("limit") {
		if w.Limit, err = queryLimit(q, MaxListLimit); err != nil {
			return Window{}, err
		}
	}
	if !times {
		return w, nil
	}
	if q.Has("from_time") {
		t, perr := ParseTime(q.Get("from_time"))
		if perr != nil {
			return Window{}, errs.Field("from_time", perr)
		}
		w.From = floorMilli(t) // update_time > from_time, in whole milliseconds
	}
	if q.Has("before") {
		t, perr := ParseTime(q.Get("before"))
		if perr != nil {
			return Window{}, errs.Field("before", perr)
		}
		w.Before = ceilMilli(t) // update_time < before, in whole milliseconds
	}
	if q.Has("cursor") {
		c, err := ParseCursor(q.Get("cursor"))
		if err != nil {
			return Window{}, err
		}
		w.After = &c
	}
	return w, nil
}

func floorMilli(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.Before(time.UnixMilli(ms)) {
		ms--
	}
	return ms
}

func ceilMilli(t time.Time) int64 {
	ms := t.UnixMilli()
	if time.UnixMilli(ms).Before(t) {
		ms++
	}
	return ms
}

// ParseTime reads a time as RFC 3339 or as Unix seconds (with an optional
// fraction), as SPEC §3 allows for from_time.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errs.Invalid.New("must be an RFC 3339 time or Unix seconds")
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	digits := strings.TrimPrefix(intPart, "-")
	if digits == "" || len(digits) > 12 || !allDigits(digits) || (hasFrac && (frac == "" || len(frac) > 9 || !allDigits(frac))) {
		return time.Time{}, errs.Invalid.New("must be an RFC 3339 time or Unix seconds")
	}
	sec, _ := strconv.ParseInt(intPart, 10, 64)
	var nsec int64
	if hasFrac {
		nsec, _ = strconv.ParseInt((frac + "000000000")[:9], 10, 64)
		if sec < 0 || intPart == "-0" {
			nsec = -nsec
		}
	}
	return time.Unix(sec, nsec).UTC(), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
