package reader

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
	"github.com/parley/parley/internal/reader/topictree"
	"github.com/parley/parley/internal/store"
)

// TopicQuery asks for a subtree of a topic, whole or one page of it.
type TopicQuery struct {
	Topic    comment.TopicID
	Parent   comment.Path // the subtree's root; RootPath for the whole topic
	ParentID *int32       // the subtree's root by id (/v1), in place of Parent
	After    comment.Path // nil: from the subtree's root; else the comments after it in Sort's order
	Limit    int          // 0: no limit
	Sort     topictree.Sort
	Depth    *int // only comments at most this many levels below the subtree's root; nil: every level
}

// depth is the depth bound as topictree takes it: negative for none.
func (q TopicQuery) depth() int {
	if q.Depth == nil {
		return -1
	}
	return *q.Depth
}

// appendKey appends what identifies the query's page within its topic and
// sort.
func (q TopicQuery) appendKey(b []byte) []byte {
	b = q.Parent.AppendText(b)
	b = append(b, '|')
	b = q.After.AppendText(b)
	b = append(b, '|')
	b = strconv.AppendInt(b, int64(q.Limit), 10)
	b = append(b, '|')
	return strconv.AppendInt(b, int64(q.depth()), 10)
}

// TopicPage is an answer to a TopicQuery, encoded.
type TopicPage struct {
	Chunks  [][]byte // the body, a JSON array, in pieces rendered one after another
	Version int64    // position of the topic's last change: the same for the same content on any reader
	Next    []byte   // when more comments follow, the path to continue after
	Views   []View   // the comments the page returned, to be counted as viewed
	ETag    string   // "v<Version>"; "" for a page rendered while the topic changed
	hits    *pageHits
	link    *linkMemo // the Link header this page last answered with; nil on a last page
	done    func()    // releases the page's share of the render bound
}

// linkMemo keeps the Link header a cached page answered with, for the
// next request of the same path and query: building it (a query encoded
// anew) was a quarter of a GET's handler time and half its allocations
// (BenchmarkServeTopicPage), and a cached page is asked for the same way
// by most of its readers.
type linkMemo struct{ last atomic.Pointer[madeLink] }

type madeLink struct {
	path, query string   // the request's, as sent
	header      []string // shared by every response that uses it: never modified
}

// linkHeader is the page's Link header for a request of path and raw
// query: the one made for the last such request, or a new one made by mk.
func (p TopicPage) linkHeader(path, query string, mk func() string) []string {
	if p.link == nil {
		return []string{mk()}
	}
	if l := p.link.last.Load(); l != nil && l.path == path && l.query == query {
		return l.header
	}
	h := []string{mk()}
	p.link.last.Store(&madeLink{path: path, query: query, header: h})
	return h
}

// Bytes is the body in one piece.
func (p TopicPage) Bytes() []byte { return bytes.Join(p.Chunks, nil) }

// Done tells that the page has been written: its memory no longer counts
// against RENDER_MAX_BYTES. Call it once per TopicComments answer.
func (p TopicPage) Done() {
	if p.done != nil {
		p.done()
	}
}

// View identifies the comments of one response: from the path First to
// the path Last in tree order, ids at most MaxID. Empty when First is "".
// It holds copies of the paths, so the view counter never reads the tree.
type View struct {
	Topic       comment.TopicID
	First, Last string
	MaxID       int32
}

// pageHits counts the responses of one rendered page: a hit is an atomic
// add, with no lock and no hashing, which keeps view counting off the read
// path's costs. The ViewCounter collects the counters with hits.
type pageHits struct {
	views  []View
	n      atomic.Int64
	listed atomic.Bool // in the ViewCounter's list since its last flush
}

var (
	errTopicNotFound   = errs.NotFound.New("topic not found")
	errCommentNotFound = errs.NotFound.New("comment not found")
)

type rendered struct {
	version int64
	key     string
	page    TopicPage
}

// TopicComments answers /topic_comments, loading the topic's tree first if
// it was evicted. The caller calls the page's Done once it is written.
func (p *Projection) TopicComments(ctx context.Context, q TopicQuery) (TopicPage, error) {
	// The common case, a resident topic, takes the read lock once.
	p.mu.RLock()
	t := p.topics[q.Topic]
	if t != nil && t.tree != nil {
		t.lastRead.Store(time.Now().UnixNano())
		page, err := p.renderPage(ctx, t, q)
		p.mu.RUnlock()
		return page, err
	}
	p.mu.RUnlock()
	if t == nil {
		return TopicPage{}, errTopicNotFound
	}
	var page TopicPage
	err := p.withTree(ctx, t, func() (err error) {
		page, err = p.renderPage(ctx, t, q)
		return err
	})
	return page, err
}

// List is the answer of a list endpoint.
type List struct {
	Body []byte
	Pos  int64   // the position it shows
	More bool    // it holds as many items as asked for: more may follow
	Next *Cursor // its last item's place, when More: the next page is after it
}

// entriesList is the list of entries, a page of at most limit.
func entriesList(body []byte, pos int64, entries []userEntry, limit int) List {
	l := List{Body: body, Pos: pos, More: len(entries) > 0 && len(entries) >= limit}
	if l.More {
		l.Next = entries[len(entries)-1].cursor()
	}
	return l
}

// UserComments answers /last_user_comments: the user's live comments w
// selects by update time, newest first.
func (p *Projection) UserComments(ctx context.Context, user string, w Window) (List, error) {
	p.mu.RLock()
	pos := p.Applied()
	var entries []userEntry
	if l := p.users[user]; l != nil {
		entries = l.page(w)
	}
	body, err := p.renderEntries(ctx, entries, func(b []byte, n *topictree.Node, e userEntry) []byte {
		return n.AppendJSON(b, topictree.UserItem, e.topic.id)
	})
	return entriesList(body, pos, entries, w.Limit), err
}

// renderEntries renders the comments entries name as a JSON array, each
// item by item. Called with the read lock held, which it lets go.
// Comments in evicted trees are rendered right after their tree is
// loaded, one topic at a time, so a memory bound smaller than the topics
// of one answer still answers (those comments may then show a slightly
// later state than the position the answer shows).
func (p *Projection) renderEntries(ctx context.Context, entries []userEntry, item func([]byte, *topictree.Node, userEntry) []byte) ([]byte, error) {
	parts := make([][]byte, len(entries))
	var cold []*topic
	for i, e := range entries {
		if e.topic.tree != nil {
			parts[i] = item(nil, e.topic.tree.Node(e.id), e)
			e.topic.lastRead.Store(time.Now().UnixNano())
		} else if !slices.Contains(cold, e.topic) {
			cold = append(cold, e.topic)
		}
	}
	p.mu.RUnlock()
	for _, t := range cold {
		err := p.withTree(ctx, t, func() error {
			for i, e := range entries {
				if e.topic == t {
					parts[i] = item(nil, t.tree.Node(e.id), e)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	size := 2
	for _, part := range parts {
		size += len(part) + 1
	}
	b := make([]byte, 0, size)
	b = append(b, '[')
	for i, part := range parts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, part...)
	}
	return append(b, ']'), nil
}

// LastTopics answers /last_topics: the topics w selects by last activity,
// newest first.
func (p *Projection) LastTopics(w Window) List {
	p.mu.RLock()
	defer p.mu.RUnlock()
	b := make([]byte, 0, 512*w.Limit)
	b = append(b, '[')
	n := 0
	var last *topic
	p.ranks.latest(w, func(t *topic) bool {
		if n > 0 {
			b = append(b, ',')
		}
		b = appendSummary(b, t)
		b = append(b, '}')
		n++
		last = t
		return n < w.Limit
	})
	l := List{Body: append(b, ']'), Pos: p.Applied(), More: n >= w.Limit}
	if l.More {
		l.Next = &Cursor{At: last.lastAct, Topic: last.id}
	}
	return l
}

// Topic answers /v1/topics/{topic_id}: the topic's /last_topics item.
func (p *Projection) Topic(id comment.TopicID) ([]byte, int64, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	t := p.topics[id]
	if t == nil {
		return nil, p.Applied(), errTopicNotFound
	}
	return append(appendSummary(nil, t), '}'), p.Applied(), nil
}

// appendSummary appends a topic's last_topics fields, leaving the object open.
func appendSummary(b []byte, t *topic) []byte {
	b = t.root().AppendFields(b, topictree.SummaryItem, t.id)
	b = append(b, `,"key":`...)
	if t.keyJSON == "" {
		b = append(b, "null"...)
	} else {
		b = append(b, t.keyJSON...)
	}
	b = append(b, `,"comment_count":`...)
	b = strconv.AppendInt(b, int64(t.count), 10)
	b = append(b, `,"update_time":"`...)
	b = comment.AppendTime(b, time.UnixMilli(t.lastAct))
	return append(b, '"')
}

// HotTopics answers /hot_topics: the topics with the highest decayed
// activity at now, with their scores.
func (p *Projection) HotTopics(limit int, now time.Time) ([]byte, int64) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	b := make([]byte, 0, 512*limit)
	b = append(b, '[')
	n := 0
	p.ranks.hottest(func(t *topic) bool {
		if n > 0 {
			b = append(b, ',')
		}
		b = appendSummary(b, t)
		b = append(b, `,"score":`...)
		b = strconv.AppendFloat(b, p.ranks.hot.score(t.heat.key, now), 'g', -1, 64)
		b = append(b, '}')
		n++
		return n < limit
	})
	return append(b, ']'), p.Applied()
}

// Bans answers /bans: the bans in force at now, newest first.
func (p *Projection) Bans(now time.Time) ([]byte, int64) {
	p.mu.RLock()
	pos := p.Applied()
	var live []store.BanRow
	for _, b := range p.bans {
		if b.Until == nil || b.Until.After(now) {
			live = append(live, b)
		}
	}
	p.mu.RUnlock()
	slices.SortFunc(live, func(a, b store.BanRow) int {
		return cmp.Or(b.At.Compare(a.At), strings.Compare(a.User, b.User))
	})
	type ban struct {
		User   string  `json:"user_id"`
		Until  *string `json:"until"`
		Reason string  `json:"reason"`
		By     string  `json:"by"`
		At     string  `json:"at"`
	}
	out := make([]ban, len(live))
	for i, b := range live {
		out[i] = ban{User: b.User, Reason: b.Reason, By: b.By, At: string(comment.AppendTime(nil, b.At))}
		if b.Until != nil {
			u := string(comment.AppendTime(nil, *b.Until))
			out[i].Until = &u
		}
	}
	body, _ := json.Marshal(out)
	return body, pos
}
