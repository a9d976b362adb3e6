package reader

import (
	"context"
	"strconv"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
	"github.com/parley/parley/internal/reader/topictree"
)

// renderChunk and renderChunkBytes bound what a render does at a time under
// the read lock: 250 comments or 256 KiB, about a tenth of a millisecond of
// CPU for ordinary comments (BenchmarkRenderPage over 50,000 comments ÷ 200
// chunks), which is as long as a render holds up applying the log. A page
// of one chunk is "small" and rendered at once.
const (
	renderChunk      = 250
	renderChunkBytes = 256 << 10
)

// errRenderBusy answers a large page while RENDER_MAX_BYTES of other
// renderings are under way, for longer than RENDER_WAIT.
var errRenderBusy = errs.Unavailable.New("too many large pages are being rendered; retry shortly")

// renderPage answers a query. It is called, and returns, with the read lock
// held; a large render lets go of it between chunks, so that events are
// applied meanwhile.
//
//   - The topic's last answer, if it is the same query at the same version.
//   - Else a slice of the topic's whole rendering (a Full), if there is one
//     at this version: any page of every depth is a contiguous run of it.
//   - Else a small page (one chunk) is rendered directly.
//   - Else a large page of the whole topic, or of a large share of it, at
//     every depth: the whole topic is rendered once, a chunk at a time, by
//     one request while the others that want a large page of it wait and
//     share the result, and the page is a slice of it.
//   - Else (a large page of a small share: a subtree, a limit well below
//     the topic's size, or a depth bound) the page alone, a chunk at a time.
//
// Renderings reserve their size under RENDER_MAX_BYTES before they start,
// all of it or nothing. A rendering during which the topic changed is
// served to the requests that waited for it, and neither cached nor given
// an ETag.
func (p *Projection) renderPage(ctx context.Context, t *topic, q TopicQuery) (TopicPage, error) {
	if q.ParentID != nil {
		n := t.tree.Node(*q.ParentID)
		if n == nil {
			return TopicPage{}, errCommentNotFound
		}
		parent, err := comment.ParsePath(n.Path())
		if err != nil {
			return TopicPage{}, err
		}
		q.Parent, q.ParentID = parent, nil
	}
	var kb [64]byte
	key := q.appendKey(kb[:0])
	ss := &t.sorts[q.Sort]
	if c := ss.cache.Load(); c != nil && c.version == t.version && c.key == string(key) {
		return c.page, nil
	}
	tr := t.tree
	whole := q.Depth == nil // a depth-bounded page is not a stretch of a Full
	if f := ss.full.Load(); whole && f != nil && f.version == t.version {
		if page, ok, err := p.fromFull(t, tr, f, q, key); ok || err != nil {
			return page, err
		}
	}
	version := t.version
	pg, err := tr.PagerWithin(t.order(q.Sort), q.Parent, q.After, q.Limit, q.depth())
	if err != nil {
		return TopicPage{}, err
	}
	if pg.Next(renderChunk, renderChunkBytes) {
		page := pageOf(t.id, pg.Page(), version, pg.MaxID(), true)
		ss.cache.Store(&rendered{version: version, key: string(key), page: page})
		return page, nil
	}
	if whole && q.Parent.Equal(comment.RootPath) && (q.Limit <= 0 || q.Limit*4 >= tr.Len()) {
		f, err := p.fullOf(ctx, t, tr, q.Sort)
		if err != nil {
			return TopicPage{}, err
		}
		if page, ok, err := p.fromFull(t, tr, f, q, key); ok || err != nil {
			return page, err
		}
		// The page starts at a comment newer than the rendering (created
		// while it was made): render it on its own.
	}
	return p.renderDirect(ctx, t, tr, q)
}

// reserve takes n bytes of RENDER_MAX_BYTES (all of the bound for a larger
// n, so that such a rendering runs alone rather than never), waiting up to
// RENDER_WAIT without holding any. It returns what it took. Called with the
// read lock held, which it lets go while it waits.
func (p *Projection) reserve(ctx context.Context, n int64) (int64, error) {
	n = min(n, p.renderMax)
	if p.renderMem.TryAcquire(n) {
		return n, nil
	}
	p.mu.RUnlock()
	defer p.mu.RLock()
	wctx, cancel := context.WithTimeout(ctx, p.renderWait)
	defer cancel()
	if err := p.renderMem.Acquire(wctx, n); err != nil {
		return 0, errRenderBusy
	}
	return n, nil
}

// chunked renders the rest of pg's page a chunk at a time, letting go of
// the read lock between chunks.
func (p *Projection) chunked(pg *topictree.Pager) {
	for done := pg.Next(renderChunk, renderChunkBytes); !done; done = pg.Next(renderChunk, renderChunkBytes) {
		p.mu.RUnlock()
		p.betweenChunks()
		p.mu.RLock()
	}
}

// renderDirect renders q's page on its own: it measures it, reserves its
// bytes, and renders it a chunk at a time; the bytes stay reserved until
// the page's Done.
func (p *Projection) renderDirect(ctx context.Context, t *topic, tr *topictree.Tree, q TopicQuery) (TopicPage, error) {
	version := t.version
	pg, err := tr.PagerWithin(t.order(q.Sort), q.Parent, q.After, q.Limit, q.depth())
	if err != nil {
		return TopicPage{}, err
	}
	size, m := int64(2), pg
	for done := false; !done; {
		var n int
		n, done = m.Measure(renderChunk * 4)
		size += int64(n)
		if !done {
			p.mu.RUnlock()
			p.mu.RLock()
		}
	}
	held, err := p.reserve(ctx, size)
	if err != nil {
		return TopicPage{}, err
	}
	p.chunked(&pg)
	page := pageOf(t.id, pg.Page(), version, pg.MaxID(), false)
	page.done = func() { p.renderMem.Release(held) }
	return page, nil
}

// pageOf makes the answer of a rendered page. Its views are its runs: one
// for a page in old order or a whole subtree, and one for every stretch
// of a sorted page that follows old order.
func pageOf(topic comment.TopicID, tp topictree.Page, version int64, maxID int32, stable bool) TopicPage {
	page := TopicPage{Chunks: tp.Chunks, Version: version}
	if stable {
		page.ETag = `"v` + strconv.FormatInt(version, 10) + `"`
	}
	if tp.First != nil {
		page.Views = make([]View, len(tp.Runs))
		for i, r := range tp.Runs {
			page.Views[i] = View{Topic: topic, First: r.First.Path(), Last: r.Last.Path(), MaxID: maxID}
		}
		page.hits = &pageHits{views: page.Views}
		if tp.More {
			page.Next = []byte(tp.Last.Path())
			page.link = new(linkMemo)
		}
	}
	return page
}

// fullPage is a topic's whole rendering and the version it shows.
type fullPage struct {
	*topictree.Full
	version int64
	stable  bool // the topic did not change while it was rendered
}

// fromFull answers q with a slice of f; ok is false when f cannot (see
// topictree.Full.Page). A page of a current, stable rendering is cached as
// the topic's last answer.
func (p *Projection) fromFull(t *topic, tr *topictree.Tree, f *fullPage, q TopicQuery, key []byte) (TopicPage, bool, error) {
	tp, ok, err := f.Page(tr, q.Parent, q.After, q.Limit)
	if !ok || err != nil {
		return TopicPage{}, ok, err
	}
	current := f.stable && f.version == t.version
	page := pageOf(t.id, tp, f.version, f.MaxID(), current)
	if current {
		t.sorts[f.Sort()].cache.Store(&rendered{version: f.version, key: string(key), page: page})
	}
	return page, true, nil
}

// fullRun is a rendering of a topic's whole tree under way; requests that
// need it wait for done.
type fullRun struct {
	version int64 // the topic's version when it began
	done    chan struct{}
	page    *fullPage
	err     error
}

// fullOf renders t's whole tree, or waits for the rendering another
// request has under way, and returns it. A rendering that began before the
// topic's present version shows an older state than this request may have
// been promised (min_position): the request waits for it to end, then
// renders anew. Called, and returns, with the read lock held.
func (p *Projection) fullOf(ctx context.Context, t *topic, tr *topictree.Tree, sort topictree.Sort) (*fullPage, error) {
	ss := &t.sorts[sort]
	for {
		t.sortMu.Lock()
		run := ss.run
		if run == nil {
			run = &fullRun{version: t.version, done: make(chan struct{})}
			ss.run = run
			t.sortMu.Unlock()
			return p.runFull(ctx, t, tr, sort, run)
		}
		t.sortMu.Unlock()
		fresh := run.version >= t.version
		p.mu.RUnlock()
		select {
		case <-run.done:
		case <-ctx.Done():
		}
		p.mu.RLock()
		if ctx.Err() != nil {
			return nil, errs.Unavailable.Wrap("request ended while the topic was rendering", ctx.Err())
		}
		if fresh {
			return run.page, run.err
		}
		if f := ss.full.Load(); f != nil && f.version >= t.version {
			return f, nil
		}
	}
}

// runFull makes the rendering of run, whatever happens to it, and hands it
// to the requests that wait for it.
func (p *Projection) runFull(ctx context.Context, t *topic, tr *topictree.Tree, sort topictree.Sort, run *fullRun) (*fullPage, error) {
	defer func() {
		t.sortMu.Lock()
		t.sorts[sort].run = nil
		t.sortMu.Unlock()
		close(run.done)
	}()
	// Others wait for this rendering: it does not stop with this request's
	// client.
	run.page, run.err = p.renderFull(context.WithoutCancel(ctx), t, tr, sort)
	return run.page, run.err
}

// renderFull renders tr whole, a chunk at a time, with its size reserved
// under RENDER_MAX_BYTES while it renders. The rendering is the topic's from
// then on if the topic did not change meanwhile.
func (p *Projection) renderFull(ctx context.Context, t *topic, tr *topictree.Tree, sort topictree.Sort) (*fullPage, error) {
	version := t.version
	held, err := p.reserve(ctx, topictree.EstimateAll(tr))
	if err != nil {
		return nil, err
	}
	defer p.renderMem.Release(held)
	if sort != topictree.SortOld && t.tree != tr { // evicted while this waited: the topic's orders follow another tree
		return nil, errs.Unavailable.New("topic evicted while it waited to render; retry")
	}
	pg := tr.FullPagerIn(t.order(sort))
	p.chunked(&pg)
	f := &fullPage{Full: pg.Full(), version: version, stable: t.version == version}
	if f.stable && t.tree == tr {
		t.sorts[sort].full.Store(f)
		if sort != topictree.SortOld {
			// One sorted rendering besides the old one: a topic read
			// whole in every sort would otherwise hold five.
			for s := range t.sorts {
				if s != int(sort) && s != int(topictree.SortOld) {
					t.sorts[s].full.Store(nil)
				}
			}
		}
	}
	return f, nil
}

// order is the topic's sibling order for sort, built on first use (nil
// for old order). Called with the read lock held and the tree resident:
// the order then follows the tree's events (topic.follow) until the tree
// is dropped.
func (t *topic) order(sort topictree.Sort) *topictree.Order {
	if sort == topictree.SortOld {
		return nil
	}
	ss := &t.sorts[sort]
	if o := ss.order.Load(); o != nil {
		return o
	}
	t.sortMu.Lock()
	defer t.sortMu.Unlock()
	if o := ss.order.Load(); o != nil {
		return o
	}
	o := t.tree.NewOrder(sort)
	ss.order.Store(o)
	return o
}
