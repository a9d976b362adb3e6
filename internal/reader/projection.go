package reader

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/btree"
	"go.uber.org/zap"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
	"github.com/parley/parley/internal/store"
)

// topic is everything a reader holds about one topic. The summary (count,
// activity, hot key, root) is always in memory; the tree may be evicted and
// loaded again on demand.
type topic struct {
	id       comment.TopicID
	count    int32 // comments ever posted, deleted ones included
	lastAct  int64 // unix ms of the newest create or edit
	heat     heat
	root     *node // the root comment, also when the tree is evicted
	tree     *tree // nil while evicted
	pending  *pendingLoad
	version  int64 // position of the last event that changed what the tree renders
	lastRead atomic.Int64
	cache    atomic.Pointer[rendered]
}

// pendingLoad is a tree being loaded from Postgres. Events for the topic that
// arrive before the load returns are kept; those after the load's snapshot
// are applied to the loaded tree, so nothing is skipped or applied twice.
type pendingLoad struct {
	done   chan struct{} // closed when installed or failed
	err    error
	loaded *tree
	at     int64 // the snapshot's position
	buf    []pendingEvent
}

type pendingEvent struct {
	e *comment.Event
	r comment.ViewRange
}

type actItem struct {
	at int64
	id comment.TopicID
	t  *topic
}

func lessAct(a, b actItem) bool {
	return cmp.Or(cmp.Compare(a.at, b.at), bytes.Compare(a.id[:], b.id[:])) < 0
}

type hotItem struct {
	key float64
	id  comment.TopicID
	t   *topic
}

func lessHot(a, b hotItem) bool {
	return cmp.Or(cmp.Compare(a.key, b.key), bytes.Compare(a.id[:], b.id[:])) < 0
}

// topicSource loads one topic's tree as of a snapshot.
type topicSource interface {
	LoadTopic(ctx context.Context, id comment.TopicID, rows func(*store.TreeRow) error, ranges func(*store.RangeRow) error) (int64, error)
}

// Projection is the reader's in-memory state: every topic's summary, trees
// of the recently read topics within a memory bound, users' lists, and the
// activity and hot rankings. One goroutine applies the log to it; requests
// read it under a read lock and never touch the database, except to load an
// evicted tree.
type Projection struct {
	mu         sync.RWMutex
	topics     map[comment.TopicID]*topic
	byActivity *btree.BTreeG[actItem]
	byHot      *btree.BTreeG[hotItem]
	users      map[string]*userList
	resident   int64               // bytes of resident trees
	loading    map[*topic]struct{} // topics with a pendingLoad
	maxBytes   int64
	hot        hotParams
	src        topicSource
	log        *zap.Logger

	applied   atomic.Int64
	ready     atomic.Bool
	waitMu    sync.Mutex
	advanced  chan struct{} // closed and replaced whenever applied moves
	loadCtx   context.Context
	loadStop  context.CancelFunc
	loads     sync.WaitGroup
	evictions atomic.Int64
	reloads   atomic.Int64
	lastLoad  []phase // the start-up load's steps, for its log line
}

// NewProjection returns an empty projection. Loads of evicted trees run on
// goroutines it owns until Close.
func NewProjection(maxBytes int64, hot hotParams, src topicSource, log *zap.Logger) *Projection {
	ctx, cancel := context.WithCancel(context.Background())
	return &Projection{
		topics:     map[comment.TopicID]*topic{},
		byActivity: btree.NewG(32, lessAct),
		byHot:      btree.NewG(32, lessHot),
		users:      map[string]*userList{},
		loading:    map[*topic]struct{}{},
		maxBytes:   maxBytes,
		hot:        hot,
		src:        src,
		log:        log,
		advanced:   make(chan struct{}),
		loadCtx:    ctx,
		loadStop:   cancel,
	}
}

// Close stops loads in flight and waits for them.
func (p *Projection) Close() {
	p.loadStop()
	p.loads.Wait()
}

// Applied is the position of the last event applied.
func (p *Projection) Applied() int64 { return p.applied.Load() }

// Ready tells whether the start-up snapshot is loaded.
func (p *Projection) Ready() bool { return p.ready.Load() }

// Stats is what /internal/stats reports.
type Stats struct {
	Applied       int64 `json:"applied"`
	Topics        int   `json:"topics"`
	ResidentTrees int   `json:"resident_trees"`
	ResidentBytes int64 `json:"resident_bytes"`
	Evictions     int64 `json:"evictions"`
	Reloads       int64 `json:"reloads"`
}

// Stats counts what is in memory.
func (p *Projection) Stats() Stats {
	p.mu.RLock()
	defer p.mu.RUnlock()
	s := Stats{Applied: p.Applied(), Topics: len(p.topics), ResidentBytes: p.resident,
		Evictions: p.evictions.Load(), Reloads: p.reloads.Load()}
	for _, t := range p.topics {
		if t.tree != nil {
			s.ResidentTrees++
		}
	}
	return s
}

// WaitApplied waits until the projection is loaded and has applied
// position n, or ctx ends; it reports whether that happened.
func (p *Projection) WaitApplied(ctx context.Context, n int64) bool {
	reached := func() bool { return p.ready.Load() && p.applied.Load() >= n }
	for {
		p.waitMu.Lock()
		ch := p.advanced
		p.waitMu.Unlock()
		if reached() {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return reached()
		}
	}
}

func (p *Projection) setApplied(pos int64) {
	p.applied.Store(pos)
	p.waitMu.Lock()
	close(p.advanced)
	p.advanced = make(chan struct{})
	p.waitMu.Unlock()
}

// Apply applies events, which must follow the last applied position
// without a gap.
func (p *Projection) Apply(events []comment.Event) error {
	if len(events) == 0 {
		return nil
	}
	p.mu.Lock()
	want := p.applied.Load() + 1
	for i := range events {
		e := &events[i]
		if e.Position != want {
			p.mu.Unlock()
			return errors.New("reader: events out of sequence")
		}
		p.apply(e)
		want++
	}
	p.applied.Store(events[len(events)-1].Position)
	p.installReady()
	p.evict(nil)
	p.mu.Unlock()
	p.setApplied(events[len(events)-1].Position)
	return nil
}

func (p *Projection) apply(e *comment.Event) {
	switch e.Kind {
	case comment.EventCreated:
		p.applyCreated(e)
	case comment.EventEdited:
		p.applyEdited(e)
	case comment.EventDeleted:
		p.applyDeleted(e)
	case comment.EventViews:
		p.applyViews(e)
	}
}

func (p *Projection) user(name string) *userList {
	l, ok := p.users[name]
	if !ok {
		l = &userList{name: name}
		p.users[name] = l
	}
	return l
}

func (p *Projection) setActivity(t *topic, at int64) {
	if at <= t.lastAct {
		return
	}
	p.byActivity.Delete(actItem{at: t.lastAct, id: t.id})
	t.lastAct = at
	p.byActivity.ReplaceOrInsert(actItem{at: at, id: t.id, t: t})
}

func (p *Projection) addHeat(t *topic, at time.Time, comments, views int64) {
	p.byHot.Delete(hotItem{key: t.heat.key, id: t.id})
	p.hot.add(&t.heat, at, comments, views)
	p.byHot.ReplaceOrInsert(hotItem{key: t.heat.key, id: t.id, t: t})
}

func (p *Projection) addTopic(t *topic) {
	p.topics[t.id] = t
	p.byActivity.ReplaceOrInsert(actItem{at: t.lastAct, id: t.id, t: t})
	p.byHot.ReplaceOrInsert(hotItem{key: t.heat.key, id: t.id, t: t})
}

func (p *Projection) corrupt(e *comment.Event, err error) {
	p.log.Error("skipping an event that does not fit the state", zap.Int64("position", e.Position),
		zap.String("kind", string(e.Kind)), zap.Stringer("topic", e.Topic), zap.Error(err))
}

func (p *Projection) applyCreated(e *comment.Event) {
	c := e.Created
	name := p.user(c.User).name
	var t *topic
	if len(c.Path) == 1 {
		if _, dup := p.topics[e.Topic]; dup {
			p.corrupt(e, errCorrupt("topic created twice"))
			return
		}
		tr := &tree{}
		root, err := tr.add(c.Path, c.User, c.Content, false, e.At, e.At)
		if err != nil {
			p.corrupt(e, err)
			return
		}
		t = &topic{id: e.Topic, count: 1, lastAct: e.At.UnixMilli(), heat: newHeat(), root: root, tree: tr, version: e.Position}
		t.lastRead.Store(time.Now().UnixNano())
		p.addTopic(t)
		p.resident += tr.bytes
	} else {
		t = p.topics[e.Topic]
		if t == nil {
			p.corrupt(e, errCorrupt("reply in an unknown topic"))
			return
		}
		if err := p.applyTree(t, e, nil); err != nil {
			p.corrupt(e, err)
			return
		}
		t.count++
		p.setActivity(t, e.At.UnixMilli())
	}
	p.addHeat(t, e.At, 1, 0)
	p.users[name].insert(userEntry{update: e.At.UnixMilli(), topic: t, id: c.Path.ID()})
}

func (p *Projection) applyEdited(e *comment.Event) {
	t := p.topics[e.Topic]
	if t == nil {
		p.corrupt(e, errCorrupt("edit in an unknown topic"))
		return
	}
	ed := e.Edited
	if t.tree == nil && len(ed.Path) == 1 {
		t.root.withContent(ed.Content, e.At)
	}
	if err := p.applyTree(t, e, nil); err != nil {
		p.corrupt(e, err)
		return
	}
	p.setActivity(t, e.At.UnixMilli())
	l := p.user(ed.User)
	l.remove(userEntry{update: ed.Was.UnixMilli(), topic: t, id: ed.Path.ID()})
	l.insert(userEntry{update: e.At.UnixMilli(), topic: t, id: ed.Path.ID()})
}

func (p *Projection) applyDeleted(e *comment.Event) {
	t := p.topics[e.Topic]
	if t == nil {
		p.corrupt(e, errCorrupt("delete in an unknown topic"))
		return
	}
	d := e.Deleted
	if t.tree == nil && len(d.Path) == 1 && !t.root.deleted {
		deleteNode(t.root)
	}
	if err := p.applyTree(t, e, nil); err != nil {
		p.corrupt(e, err)
		return
	}
	p.user(d.User).remove(userEntry{update: d.Was.UnixMilli(), topic: t, id: d.Path.ID()})
}

func (p *Projection) applyViews(e *comment.Event) {
	for i := range e.Views.Ranges {
		r := &e.Views.Ranges[i]
		t := p.topics[r.Topic]
		if t == nil {
			continue // a range from a buggy reader; nothing to count
		}
		if t.tree == nil && len(r.First) == 1 {
			t.root.views += r.Count // the root is in every range that starts at it
		}
		_ = p.applyTree(t, e, r)
		p.addHeat(t, e.At, 0, r.Count)
	}
}

// applyTree applies an event to the topic's tree: directly when resident,
// kept for later while a load is in flight, not at all while evicted (the
// next load reads the state that includes it).
func (p *Projection) applyTree(t *topic, e *comment.Event, r *comment.ViewRange) error {
	switch {
	case t.tree != nil:
		before := t.tree.bytes
		if err := t.tree.apply(e, r); err != nil {
			return err
		}
		p.resident += t.tree.bytes - before
	case t.pending != nil:
		pe := pendingEvent{e: e}
		if r != nil {
			pe.r = *r
		}
		if pl := t.pending; pl.loaded == nil {
			pl.buf = append(pl.buf, pe)
		} else if e.Position > pl.at {
			_ = pl.loaded.apply(pe.e, &pe.r)
		}
	}
	t.version = e.Position
	return nil
}

// installReady installs loaded trees whose snapshot the log has reached.
// It looks only at the topics being loaded, so a refresh costs the same
// whatever the number of topics.
func (p *Projection) installReady() {
	for t := range p.loading {
		if pl := t.pending; pl != nil && pl.loaded != nil && pl.at <= p.applied.Load() {
			p.install(t, pl)
		}
	}
}

func (p *Projection) install(t *topic, pl *pendingLoad) {
	t.tree = pl.loaded
	t.root = t.tree.nodes[0]
	t.pending = nil
	delete(p.loading, t)
	t.version = max(t.version, pl.at)
	t.cache.Store(nil)
	p.resident += t.tree.bytes
	p.reloads.Add(1)
	close(pl.done)
}

// evict drops the least recently read trees until the resident ones fit
// in 90% of the bound, sparing keep. Summaries stay.
func (p *Projection) evict(keep *topic) {
	if p.resident <= p.maxBytes {
		return
	}
	var cands []*topic
	for _, t := range p.topics {
		if t.tree != nil && t != keep {
			cands = append(cands, t)
		}
	}
	slices.SortFunc(cands, func(a, b *topic) int { return cmp.Compare(a.lastRead.Load(), b.lastRead.Load()) })
	target := p.maxBytes / 10 * 9
	for _, t := range cands {
		if p.resident <= target {
			break
		}
		p.resident -= t.tree.bytes
		// The root stays for the summary; a fresh copy keeps the tree's other
		// nodes from being reachable through its children.
		root := *t.root
		root.firstChild, root.lastChild = nil, nil
		t.root = &root
		t.tree = nil
		t.cache.Store(nil)
		p.evictions.Add(1)
	}
}

// resident makes sure the topic's tree is in memory, loading it if needed.
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
		p.loading[t] = struct{}{}
		p.loads.Add(1)
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
	defer p.loads.Done()
	tr, at, err := p.loadTree(p.loadCtx, t.id)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		t.pending = nil
		delete(p.loading, t)
		pl.err = err
		close(pl.done)
		return
	}
	pl.loaded, pl.at = tr, at
	for _, pe := range pl.buf {
		if pe.e.Position > at {
			_ = tr.apply(pe.e, &pe.r)
		}
	}
	pl.buf = nil
	if at <= p.applied.Load() {
		p.install(t, pl)
		p.evict(t)
	}
	// Otherwise the log has not reached the snapshot yet; Apply installs it
	// when it has.
}

func (p *Projection) loadTree(ctx context.Context, id comment.TopicID) (*tree, int64, error) {
	b := newTreeBuilder(0)
	var ranges []comment.ViewRange
	var buildErr error
	at, err := p.src.LoadTopic(ctx, id, func(r *store.TreeRow) error {
		if err := b.put(r.ID, r.Parent, bytesString(r.Path), bytesString(r.User), bytesString(r.Content), r.Deleted, r.Create, r.Update); err != nil {
			buildErr = err
			return err
		}
		return nil
	}, func(r *store.RangeRow) error {
		ranges = append(ranges, *r)
		return nil
	})
	if err == nil && buildErr != nil {
		err = buildErr
	}
	if err != nil {
		return nil, 0, err
	}
	tr, err := b.link()
	if err == nil && len(tr.nodes) == 0 {
		err = errCorrupt("topic without comments")
	}
	if err != nil {
		return nil, 0, err
	}
	for i := range ranges {
		tr.addViews(&ranges[i])
	}
	return tr, at, nil
}
