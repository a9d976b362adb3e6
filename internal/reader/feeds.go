package reader

import (
	"context"
	"crypto/sha1" //nolint:gosec // UUID version 5 is defined on SHA-1; it names, it does not protect
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
	"github.com/parley/parley/internal/reader/topictree"
)

// Atom feeds (RFC 4287) of a topic's and of a user's newest comments
// (SPEC §13). A feed is read by feed readers polling on a timer, not by
// people: feeds count no views, or every poll would inflate the counts of
// the newest comments.

// Feed limits: the same rules as the lists' limit (SPEC §3), with a larger
// default, as a feed reader asks once and keeps what it sees.
const (
	DefaultFeedLimit = 50
	MaxFeedLimit     = MaxListLimit
)

// AtomContentType is the media type of a feed.
const AtomContentType = "application/atom+xml; charset=utf-8"

// GET /feeds/topic?topic_id=|topic_key=&limit=&min_position=
func (h *Handlers) topicFeed(c echo.Context) error {
	q := c.QueryParams()
	id, err := topicParam(q)
	if err != nil {
		return err
	}
	limit, err := feedLimit(q)
	if err != nil {
		return err
	}
	if err := h.ready(c, q); err != nil {
		return err
	}
	f, err := h.proj.TopicFeed(c.Request().Context(), id, limit)
	if err != nil {
		return err
	}
	return writeFeed(c, f, topicAtom(requestOrigin(c.Request()), c.Request().URL, id, f))
}

// GET /feeds/user?user=&limit=&min_position=
func (h *Handlers) userFeed(c echo.Context) error {
	q := c.QueryParams()
	if !q.Has("user") {
		return errs.Invalid.New("user is required")
	}
	user := q.Get("user")
	if err := comment.ValidateUser(user); err != nil {
		return err
	}
	limit, err := feedLimit(q)
	if err != nil {
		return err
	}
	if err := h.ready(c, q); err != nil {
		return err
	}
	f, err := h.proj.UserFeed(c.Request().Context(), user, limit)
	if err != nil {
		return err
	}
	return writeFeed(c, f, userAtom(requestOrigin(c.Request()), c.Request().URL, user, f))
}

// feedLimit reads a feed's limit: default 50, at most 100.
func feedLimit(q url.Values) (int, error) {
	if !q.Has("limit") {
		return DefaultFeedLimit, nil
	}
	return queryLimit(q, MaxFeedLimit)
}

// FeedComment is one comment of a feed, as plain text.
type FeedComment struct {
	Topic   comment.TopicID `json:"topic_id"`
	ID      int32           `json:"comment_id"`
	User    string          `json:"user"`
	Content string          `json:"content"`
	Created string          `json:"create_time"`
	Updated string          `json:"update_time"`
}

// Feed is what a feed shows, read from the projection at one position.
type Feed struct {
	Comments []FeedComment // newest first
	Root     string        // a topic feed's root content ("" once deleted)
	Updated  string        // when no comment is shown: the topic's last activity; for a user, the Unix epoch
	ETag     string        // the same tag, the same feed on any reader (for one URL)
	Pos      int64         // the position it shows
}

// feedFields are what a feed takes from a comment. Nodes keep their text
// escaped for JSON and have no accessor for the raw user and content, so a
// feed renders them as JSON and decodes that: a feed is polled now and
// then, not a hot path.
const feedFields = topictree.FieldID | topictree.FieldTopic | topictree.FieldUser |
	topictree.FieldContent | topictree.FieldCreated | topictree.FieldUpdated

// TopicFeed answers /feeds/topic: the topic's newest live comments by
// create time, at most limit, loading the topic's tree if it was evicted.
func (p *Projection) TopicFeed(ctx context.Context, id comment.TopicID, limit int) (Feed, error) {
	var raw [][]byte
	var f Feed
	read := func(t *topic) {
		t.lastRead.Store(time.Now().UnixNano())
		raw = newestNodes(t, limit)
		f.Pos, f.ETag = p.Applied(), `"feed-v`+strconv.FormatInt(t.version, 10)+`"`
		f.Updated = string(comment.AppendTime(nil, time.UnixMilli(t.lastAct)))
	}
	p.mu.RLock()
	t := p.topics[id]
	if t != nil && t.tree != nil {
		read(t)
		p.mu.RUnlock()
		return f, decodeFeed(&f, raw)
	}
	p.mu.RUnlock()
	if t == nil {
		return Feed{}, errTopicNotFound
	}
	if err := p.withTree(ctx, t, func() error { read(t); return nil }); err != nil {
		return Feed{}, err
	}
	return f, decodeFeed(&f, raw)
}

// newestNodes renders the root, then the topic's newest live comments,
// newest first, at most limit. Ids are dense in creation order, so the
// newest are the highest ids: the walk reads only what it returns and the
// deleted ones between. Called with the read lock held and the tree
// resident.
func newestNodes(t *topic, limit int) [][]byte {
	raw := [][]byte{t.tree.Root().AppendJSON(nil, feedFields, t.id)}
	for id := int32(t.tree.Len() - 1); id >= 0 && len(raw) <= limit; id-- {
		if n := t.tree.Node(id); n != nil && !n.Deleted() {
			raw = append(raw, n.AppendJSON(nil, feedFields, t.id))
		}
	}
	return raw
}

// decodeFeed decodes newestNodes' root and comments into f.
func decodeFeed(f *Feed, raw [][]byte) error {
	var root FeedComment
	if err := json.Unmarshal(raw[0], &root); err != nil {
		return err
	}
	f.Root = root.Content
	f.Comments = make([]FeedComment, len(raw)-1)
	for i, b := range raw[1:] {
		if err := json.Unmarshal(b, &f.Comments[i]); err != nil {
			return err
		}
	}
	return nil
}

// UserFeed answers /feeds/user: the user's newest live comments, newest
// update first as /last_user_comments lists them, at most limit.
func (p *Projection) UserFeed(ctx context.Context, user string, limit int) (Feed, error) {
	// A user without comments has no time of their own; the epoch is the
	// same on every reader, which keeps one ETag one answer.
	p.mu.RLock()
	f := Feed{Pos: p.Applied(), Updated: string(comment.AppendTime(nil, time.Unix(0, 0)))}
	f.ETag = `"feed-p` + strconv.FormatInt(f.Pos, 10) + `"`
	var entries []userEntry
	if l := p.users[user]; l != nil {
		entries = l.page(Window{From: math.MinInt64, Before: math.MaxInt64, Limit: limit})
	}
	body, err := p.renderEntries(ctx, entries, func(b []byte, n *topictree.Node, e userEntry) []byte {
		return n.AppendJSON(b, feedFields, e.topic.id)
	})
	if err != nil {
		return Feed{}, err
	}
	return f, json.Unmarshal(body, &f.Comments)
}

// The Atom document: only the elements the feeds use.
type (
	atomFeed struct {
		XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
		ID      string      `xml:"id"`
		Title   atomText    `xml:"title"`
		Updated string      `xml:"updated"`
		Links   []atomLink  `xml:"link"`
		Entries []atomEntry `xml:"entry"`
	}
	atomEntry struct {
		ID        string     `xml:"id"`
		Title     atomText   `xml:"title"`
		Author    atomPerson `xml:"author"`
		Published string     `xml:"published"`
		Updated   string     `xml:"updated"`
		Link      atomLink   `xml:"link"`
		Content   atomText   `xml:"content"`
	}
	// atomText is always type="text": comment text is text, never HTML
	// (SPEC §13), and encoding/xml escapes it.
	atomText struct {
		Type string `xml:"type,attr"`
		Text string `xml:",chardata"`
	}
	atomLink struct {
		Rel  string `xml:"rel,attr"`
		Type string `xml:"type,attr,omitempty"`
		Href string `xml:"href,attr"`
	}
	atomPerson struct {
		Name string `xml:"name"`
	}
)

// plainText is s as Atom text.
func plainText(s string) atomText { return atomText{Type: "text", Text: s} }

// feedSpace is the namespace of the UUIDs (version 5) that name feeds and
// entries. Fixed forever: changing it would make every feed reader show
// every entry again as new.
var feedSpace = [16]byte{0x3a, 0x8f, 0x51, 0x0c, 0x27, 0xd4, 0x4e, 0x96, 0xb1, 0x6a, 0x0e, 0x73, 0x5c, 0x42, 0x9d, 0xe8}

// nameURN is the urn:uuid: of the UUID version 5 of name in feedSpace
// (RFC 9562 §5.5): the same on every reader, before and after a restart.
func nameURN(name string) string {
	h := sha1.New() //nolint:gosec // see the import
	h.Write(feedSpace[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	x := hex.EncodeToString(u[:])
	return "urn:uuid:" + x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}

// entryURN names a comment for good: its topic and its id.
func entryURN(topic comment.TopicID, id int32) string {
	return nameURN("comment:" + topic.String() + "/" + strconv.Itoa(int(id)))
}

// requestOrigin is the scheme and host the client reached the site by, for
// absolute links: a proxy that terminates TLS says https in
// X-Forwarded-Proto. Anything but https there is taken as http, so a
// header cannot put another scheme in the links.
func requestOrigin(r *http.Request) string {
	scheme := "http"
	if p, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ","); strings.EqualFold(strings.TrimSpace(p), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// topicAtom is a topic's feed; base is the site's origin and self the
// request's URL.
func topicAtom(base string, self *url.URL, id comment.TopicID, f Feed) atomFeed {
	title := "Comments on topic " + id.String()
	if s := oneLine(f.Root, 80); s != "" {
		title = "Comments on " + s
	}
	return atomFeed{
		ID:    "urn:uuid:" + id.String(),
		Title: plainText(title),
		Links: []atomLink{
			{Rel: "self", Type: "application/atom+xml", Href: base + self.RequestURI()},
			{Rel: "alternate", Type: "text/html", Href: base + "/t/" + id.String()},
		},
		Updated: feedUpdated(f),
		Entries: atomEntries(base, f),
	}
}

// userAtom is a user's feed.
func userAtom(base string, self *url.URL, user string, f Feed) atomFeed {
	return atomFeed{
		ID:    nameURN("user:" + user),
		Title: plainText("Comments by " + user),
		Links: []atomLink{
			{Rel: "self", Type: "application/atom+xml", Href: base + self.RequestURI()},
			{Rel: "alternate", Type: "text/html", Href: base + "/u/" + url.PathEscape(user)},
		},
		Updated: feedUpdated(f),
		Entries: atomEntries(base, f),
	}
}

// feedUpdated is the feed's updated: its newest entry's, else f.Updated. Times
// share one fixed layout, so they compare as text.
func feedUpdated(f Feed) string {
	if len(f.Comments) == 0 {
		return f.Updated
	}
	u := f.Comments[0].Updated
	for _, c := range f.Comments[1:] {
		u = max(u, c.Updated)
	}
	return u
}

// atomEntries are the feed's comments as entries; base is the site's origin.
func atomEntries(base string, f Feed) []atomEntry {
	out := make([]atomEntry, len(f.Comments))
	for i, c := range f.Comments {
		title := oneLine(c.Content, 80)
		if title == "" {
			title = "Comment by " + c.User
		}
		out[i] = atomEntry{
			ID:        entryURN(c.Topic, c.ID),
			Title:     plainText(title),
			Author:    atomPerson{Name: c.User},
			Published: c.Created,
			Updated:   c.Updated,
			Link:      atomLink{Rel: "alternate", Type: "text/html", Href: base + "/t/" + c.Topic.String() + "#c" + strconv.Itoa(int(c.ID))},
			Content:   plainText(c.Content),
		}
	}
	return out
}

// oneLine is s on one line, cut to at most n characters (an ellipsis
// marks the cut).
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	cut := 0
	for range n - 1 {
		_, size := utf8.DecodeRuneInString(s[cut:])
		cut += size
	}
	return strings.TrimRight(s[:cut], " ") + "…"
}

// writeFeed writes a feed with its position and ETag, or 304 when the
// client holds it already.
func writeFeed(c echo.Context, f Feed, doc atomFeed) error {
	setPosition(c, f.Pos)
	if notModified(c, f.ETag) {
		return nil
	}
	body, err := xml.Marshal(doc)
	if err != nil {
		return err
	}
	body = append([]byte(xml.Header), body...)
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, AtomContentType)
	h.Set(echo.HeaderContentLength, strconv.Itoa(len(body)))
	c.Response().WriteHeader(http.StatusOK)
	if c.Request().Method == http.MethodHead {
		return nil
	}
	_, err = c.Response().Write(body)
	return err
}
