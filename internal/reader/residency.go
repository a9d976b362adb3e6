package reader

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
	"github.com/parley/parley/internal/reader/topictree"
	"github.com/parley/parley/internal/store"
)

// topicSource loads one topic's tree as of a snapshot.
type topicSource interface {
	LoadTopic(ctx context.Context, id comment.TopicID, rows func(*store.TreeRow) error, ranges func(*store.RangeRow) error) (int64, error)
}

// residency keeps the resident trees within the memory bound: it evicts
// the least recently read ones, and loads an evicted tree again when a
// request needs it. The projection's lock guards bytes and loading.
type residency struct {
	bytes     int64               // of resident trees
	loading   map[*topic]struct{} // topics with a pendingLoad
	maxBytes  int64
	src       topicSource
	ctx       context.Context // ends at close: loads in flight stop
	stop      context.CancelFunc
	loads     sync.WaitGroup
	evictions atomic.Int64
	reloads   atomic.Int64
	oversized atomic.Int64 // trees dropped right after use: each alone larger than the bound
}

// cacheCounts is what the metrics read of the residency.
type cacheCounts struct {
	bytes, maxBytes int64 // of resident trees; CACHE_MAX_BYTES
	topics          int   // summaries held, their trees resident or not
}

// cacheCounts reads the bytes and topics under a brief read lock, at each
// scrape only (Stats, for /internal/stats, also counts the resident trees,
// at a cost that grows with the topics). The evictions and reloads are
// atomics, read without it.
func (p *Projection) cacheCounts() cacheCounts {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return cacheCounts{bytes: p.res.bytes, maxBytes: p.res.maxBytes, topics: len(p.topics)}
}

func newResidency(maxBytes int64, src topicSource) residency {
	ctx, cancel := context.WithCancel(context.Background())
	return residency{loading: map[*topic]struct{}{}, maxBytes: maxBytes, src: src, ctx: ctx, stop: cancel}
}

func (r *residency) close() {
	r.stop()
	r.loads.Wait()
}

// pendingLoad is a tree being loaded from Postgres. Events for the topic that
// arrive before the load returns are kept; those after the load's snapshot
// are applied to the loaded tree, so nothing is skipped or applied twice.
type pendingLoad struct {
	done   chan struct{} // closed when installed or failed
	err    error
	loaded *topictree.Tree
	at     int64 // the snapshot's position
	buf    []pendingEvent
}

type pendingEvent struct {
	e *comment.Event
	r comment.ViewRange
}

// add takes an event of the topic applied while the load is in flight.
func (pl *pendingLoad) add(e *comment.Event, r *comment.ViewRange) {
	pe := pendingEvent{e: e}
	if r != nil {
		pe.r = *r
	}
	if pl.loaded == nil {
		pl.buf = append(pl.buf, pe)
	} else if e.Position > pl.at {
		_ = pl.loaded.Apply(pe.e, &pe.r)
	}
}

// installReady installs loaded trees whose snapshot the log has reached.
// It looks only at the topics being loaded, so a refresh costs the same
// whatever the number of topics.
func (p *Projection) installReady() {
	for t := range p.res.loading {
		if pl := t.pending; pl != nil && pl.loaded != nil && pl.at <= p.Applied() {
			p.install(t, pl)
		}
	}
}

func (p *Projection) install(t *topic, pl *pendingLoad) {
	t.tree, t.cold = pl.loaded, nil
	t.pending = nil
	delete(p.res.loading, t)
	t.version = max(t.version, pl.at)
	t.forget(false)
	p.res.bytes += t.tree.Bytes()
	p.res.reloads.Add(1)
	close(pl.done)
}

// evict drops the least recently read trees until the resident ones fit
// in 90% of the bound, sparing keep and the trees requests are using. A
// tree larger than the whole bound, being served, does not count against
// it meanwhile: it must not empty the cache of every other tree (it is
// dropped itself when its last request is done). Summaries stay.
func (p *Projection) evict(keep *topic) {
	if p.res.bytes <= p.res.maxBytes {
		return
	}
	var cands []*topic
	var inUse int64
	for _, t := range p.topics {
		switch {
		case t.tree == nil:
		case t == keep || t.users.Load() > 0:
			if b := t.tree.Bytes(); b > p.res.maxBytes {
				inUse += b
			}
		default:
			cands = append(cands, t)
		}
	}
	slices.SortFunc(cands, func(a, b *topic) int { return cmp.Compare(a.lastRead.Load(), b.lastRead.Load()) })
	target := p.res.maxBytes / 10 * 9
	for _, t := range cands {
		if p.res.bytes-inUse <= target {
			break
		}
		p.drop(t)
		p.res.evictions.Add(1)
	}
}

// drop evicts one topic's tree; its summary stays.
func (p *Projection) drop(t *topic) {
	p.res.bytes -= t.tree.Bytes()
	t.cold, t.tree = t.tree.DetachRoot(), nil
	t.forget(false)
}

// maxRetries bounds how often a request loads trees that the memory bound
// evicts again before it can use them.
const maxRetries = 3

// withTree runs fn under the read lock with t's tree in memory, loading
// it first if it was evicted (and again, a few times, if the memory bound
// evicts it before fn gets the lock). A tree larger than the whole bound is
// served, then dropped as soon as no request uses it: the bound holds
// between requests, and such a topic is loaded for each read.
func (p *Projection) withTree(ctx context.Context, t *topic, fn func() error) error {
	t.users.Add(1)
	defer p.release(t)
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

// release ends a request's use of t's tree, dropping the tree if it is
// larger than the bound and nobody else uses it.
func (p *Projection) release(t *topic) {
	if t.users.Add(-1) > 0 {
		return
	}
	p.mu.RLock()
	over := t.tree != nil && t.tree.Bytes() > p.res.maxBytes
	p.mu.RUnlock()
	if !over {
		return
	}
	p.mu.Lock()
	if t.users.Load() == 0 && t.tree != nil && t.tree.Bytes() > p.res.maxBytes {
		p.drop(t)
		p.res.oversized.Add(1)
	}
	p.mu.Unlock()
}

// ensureResident makes sure the topic's tree is in memory, loading it if needed.
func (p *Projection) ensureResident(ctx context.Context, t *topic) error {
	t.lastRead.Store(time.Now().UnixNano())
	p.mu.RLock()
	ok := t.tree != nil
	p.mu.RUnlock()
	if ok {
		return nil
	}
	p.mu.Lock()
	if t.tree != nil {
		p.mu.Unlock()
		return nil
	}
	pl := t.pending
	if pl == nil {
		pl = &pendingLoad{done: make(chan struct{})}
		t.pending = pl
		p.res.loading[t] = struct{}{}
		p.res.loads.Add(1)
		go p.load(t, pl)
	}
	p.mu.Unlock()
	select {
	case <-pl.done:
		return pl.err
	case <-ctx.Done():
		return errs.Unavailable.Wrap("request ended while the topic was loading", ctx.Err())
	}
}

// load reads one topic's tree as of a fresh snapshot, outside the lock,
// then hands it over (see pendingLoad).
func (p *Projection) load(t *topic, pl *pendingLoad) {
	defer p.res.loads.Done()
	tr, at, err := loadTree(p.res.ctx, p.res.src, t.id)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		t.pending = nil
		delete(p.res.loading, t)
		pl.err = err
		close(pl.done)
		return
	}
	pl.loaded, pl.at = tr, at
	for _, pe := range pl.buf {
		if pe.e.Position > at {
			_ = tr.Apply(pe.e, &pe.r)
		}
	}
	pl.buf = nil
	if at <= p.Applied() {
		p.install(t, pl)
		p.evict(t)
	}
	// Otherwise the log has not reached the snapshot yet; Apply installs it
	// when it has.
}

// loadTree reads one topic's tree and its views from src.
func loadTree(ctx context.Context, src topicSource, id comment.TopicID) (*topictree.Tree, int64, error) {
	b := topictree.NewBuilder(0)
	var ranges []comment.ViewRange
	at, err := src.LoadTopic(ctx, id, func(r *store.TreeRow) error {
		return b.Put(treeRow(r))
	}, func(r *store.RangeRow) error {
		ranges = append(ranges, *r)
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	tr, err := b.Link()
	if err != nil {
		return nil, 0, err
	}
	for i := range ranges {
		tr.AddViews(&ranges[i])
	}
	return tr, at, nil
}
