package reader

import (
	"context"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
)

// TopicQuery asks for a subtree of a topic, whole or one page of it.
type TopicQuery struct {
	Topic  comment.TopicID
	Parent comment.Path // the subtree's root; RootPath for the whole topic
	After  comment.Path // nil: from the subtree's root; else the comments after it
	Limit  int          // 0: no limit
}

// appendKey appends what identifies the query's page within its topic.
func (q TopicQuery) appendKey(b []byte) []byte {
	b = q.Parent.AppendText(b)
	b = append(b, '|')
	b = q.After.AppendText(b)
	b = append(b, '|')
	return strconv.AppendInt(b, int64(q.Limit), 10)
}

// TopicPage is an answer to a TopicQuery, encoded.
type TopicPage struct {
	Body    []byte
	Version int64  // position of the topic's last change: the same for the same content on any reader
	Next    []byte // when more comments follow, the path to continue after
	View    View   // the comments the page returned, to be counted as viewed
	ETag    string // "v<Version>"
	hits    *pageHits
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
	view   View
	n      atomic.Int64
	listed atomic.Bool // in the ViewCounter's list since its last flush
}

type rendered struct {
	version int64
	key     string
	page    TopicPage
}

// maxRetries bounds how often a request loads trees that the memory bound
// evicts again before it can use them.
const maxRetries = 3

// TopicComments answers /topic_comments, loading the topic's tree first if
// it was evicted.
func (p *Projection) TopicComments(ctx context.Context, q TopicQuery) (TopicPage, error) {
	// The common case, a resident topic, takes the read lock once.
	p.mu.RLock()
	t := p.topics[q.Topic]
	if t != nil && t.tree != nil {
		t.lastRead.Store(time.Now().UnixNano())
		page, err := p.renderPage(t, q)
		p.mu.RUnlock()
		return page, err
	}
	p.mu.RUnlock()
	if t == nil {
		return TopicPage{}, errs.NotFound.New("topic not found")
	}
	var page TopicPage
	err := p.withTree(ctx, t, func() (err error) {
		page, err = p.renderPage(t, q)
		return err
	})
	return page, err
}

// withTree runs fn under the read lock with t's tree in memory, loading
// it first if it was evicted (and again, a few times, if the memory bound
// evicts it before fn gets the lock).
func (p *Projection) withTree(ctx context.Context, t *topic, fn func() error) error {
	for range maxRetries {
		if err := p.ensureResident(ctx, t); err != nil {
			return err
		}
		p.mu.RLock()
		if t.tree == nil {
			p.mu.RUnlock()
			continue
		}
		err := fn()
		p.mu.RUnlock()
		return err
	}
	return errs.Unavailable.Wrap("topic evicted while loading; the reader's cache bound is too small", nil)
}

// renderPage runs under the read lock. A page stays valid, and is reused,
// until the topic changes.
func (p *Projection) renderPage(t *topic, q TopicQuery) (TopicPage, error) {
	var kb [64]byte
	key := q.appendKey(kb[:0])
	if c := t.cache.Load(); c != nil && c.version == t.version && c.key == string(key) {
		return c.page, nil
	}
	top := t.tree.find(q.Parent)
	if top == nil {
		return TopicPage{}, errs.NotFound.New("no comment at parent_path in this topic")
	}
	start := top
	if q.After != nil {
		a := t.tree.find(q.After)
		if a == nil || !q.After.Within(q.Parent) {
			return TopicPage{}, errs.Invalid.New("after must be a comment in the requested subtree")
		}
		start = next(a, top)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = math.MaxInt
	}
	size := 2
	n := 0
	x := start
	for ; x != nil && n < limit; x = next(x, top) {
		size += len(x.buf) + jsonItemOverhead
		n++
	}
	b := make([]byte, 0, size)
	b = append(b, '[')
	page := TopicPage{Version: t.version, ETag: `"v` + strconv.FormatInt(t.version, 10) + `"`}
	var first, last *node
	n = 0
	x = start
	for ; x != nil && n < limit; x = next(x, top) {
		if n > 0 {
			b = append(b, ',')
		} else {
			first = x
		}
		b = x.appendJSON(b)
		last = x
		n++
	}
	page.Body = append(b, ']')
	if first != nil {
		page.View = View{Topic: t.id, First: string(first.pathText()), Last: string(last.pathText()), MaxID: int32(len(t.tree.nodes) - 1)}
		page.hits = &pageHits{view: page.View}
		if x != nil {
			page.Next = []byte(page.View.Last)
		}
	}
	t.cache.Store(&rendered{version: t.version, key: string(key), page: page})
	return page, nil
}

// UserComments answers /last_user_comments: the user's live comments with
// from < update_time < before (unix ms), newest first. It returns the body
// and the position it shows. Comments in evicted trees are rendered right
// after their tree is loaded, one topic at a time, so a memory bound smaller
// than the topics of one answer still answers (those comments may then show
// a slightly later state than the position).
func (p *Projection) UserComments(ctx context.Context, user string, from, before int64, limit int) ([]byte, int64, error) {
	p.mu.RLock()
	pos := p.applied.Load()
	l := p.users[user]
	if l == nil {
		p.mu.RUnlock()
		return []byte("[]"), pos, nil
	}
	entries := l.page(from, before, limit)
	parts := make([][]byte, len(entries))
	var cold []*topic
	for i, e := range entries {
		if e.topic.tree != nil {
			parts[i] = appendUserComment(nil, e.topic, e.topic.tree.nodes[e.id])
			e.topic.lastRead.Store(time.Now().UnixNano())
		} else if !containsTopic(cold, e.topic) {
			cold = append(cold, e.topic)
		}
	}
	p.mu.RUnlock()
	for _, t := range cold {
		if err := p.renderCold(ctx, t, entries, parts); err != nil {
			return nil, 0, err
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
	return append(b, ']'), pos, nil
}

// renderCold loads t's tree and renders the entries that are t's.
func (p *Projection) renderCold(ctx context.Context, t *topic, entries []userEntry, parts [][]byte) error {
	return p.withTree(ctx, t, func() error {
		for i, e := range entries {
			if e.topic == t {
				parts[i] = appendUserComment(nil, t, t.tree.nodes[e.id])
			}
		}
		return nil
	})
}

func containsTopic(ts []*topic, t *topic) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

func appendUserComment(b []byte, t *topic, n *node) []byte {
	b = append(b, `{"comment_id":`...)
	b = strconv.AppendInt(b, int64(n.id), 10)
	b = append(b, `,"topic_id":"`...)
	b = t.id.AppendText(b)
	b = append(b, `","parent_path":"`...)
	b = append(b, n.pathText()...)
	b = append(b, `","user":`...)
	b = append(b, n.userJSON()...)
	b = append(b, `,"content":`...)
	b = append(b, n.contentJSON()...)
	b = append(b, `,"view_count":`...)
	b = strconv.AppendInt(b, n.views, 10)
	b = append(b, `,"update_time":"`...)
	b = append(b, n.updatedText()...)
	return append(b, `"}`...)
}

// LastTopics answers /last_topics: topics with from < last activity < before
// (unix ms), newest first. It returns the body and the position it shows.
func (p *Projection) LastTopics(from, before int64, limit int) ([]byte, int64) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	b := make([]byte, 0, 512*limit)
	b = append(b, '[')
	n := 0
	hi := actItem{at: before - 1, id: maxTopicID}
	lo := actItem{at: from, id: maxTopicID}
	p.byActivity.DescendRange(hi, lo, func(it actItem) bool {
		if n > 0 {
			b = append(b, ',')
		}
		b = appendSummary(b, it.t)
		b = append(b, '}')
		n++
		return n < limit
	})
	return append(b, ']'), p.applied.Load()
}

var maxTopicID = comment.TopicID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// appendSummary appends a topic's last_topics fields, leaving the object open.
func appendSummary(b []byte, t *topic) []byte {
	b = append(b, `{"topic_id":"`...)
	b = t.id.AppendText(b)
	b = append(b, `","user":`...)
	b = append(b, t.root.userJSON()...)
	b = append(b, `,"content":`...)
	b = append(b, t.root.contentJSON()...)
	b = append(b, `,"view_count":`...)
	b = strconv.AppendInt(b, t.root.views, 10)
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
	p.byHot.Descend(func(it hotItem) bool {
		if n > 0 {
			b = append(b, ',')
		}
		b = appendSummary(b, it.t)
		b = append(b, `,"score":`...)
		b = strconv.AppendFloat(b, p.hot.score(it.t.heat.key, now), 'g', -1, 64)
		b = append(b, '}')
		n++
		return n < limit
	})
	return append(b, ']'), p.applied.Load()
}
