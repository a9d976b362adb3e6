package reader

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/semaphore"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/reader/topictree"
	"github.com/parley/parley/internal/store"
)

// topic is everything a reader holds about one topic. The summary (count,
// activity, hot key, root) is always in memory; the tree may be evicted and
// loaded again on demand (residency.go).
type topic struct {
	id       comment.TopicID
	keyJSON  string // the site's own key (SPEC §13) as a JSON string; "" for none
	count    int32  // comments ever posted, deleted ones included
	lastAct  int64  // unix ms of the newest create or edit
	heat     heat
	tree     *topictree.Tree // nil while evicted
	cold     *topictree.Root // the root while the tree is evicted
	pending  *pendingLoad
	version  int64 // position of the last event that changed what the tree renders
	lastRead atomic.Int64
	users    atomic.Int32                  // requests that loaded the tree and use it (residency.go)
	sorts    [topictree.NumSorts]sortState // per sort of /topic_comments (render.go)
	sortMu   sync.Mutex                    // guards each sortState's run, and building orders
}

// sortState is what a topic keeps for one sort of its pages.
type sortState struct {
	order atomic.Pointer[topictree.Order] // the sibling order, while the tree is resident; none for old
	cache atomic.Pointer[rendered]        // the last answer (query.go)
	full  atomic.Pointer[fullPage]        // the whole tree rendered, while current
	run   *fullRun                        // a rendering of the whole tree under way
}

// forget drops the topic's renderings, and with keepOrders false its
// orders too (the tree they follow is gone).
func (t *topic) forget(keepOrders bool) {
	for i := range t.sorts {
		s := &t.sorts[i]
		s.cache.Store(nil)
		s.full.Store(nil)
		if !keepOrders {
			s.order.Store(nil)
		}
	}
}

// root is the topic's root comment, resident or not.
func (t *topic) root() *topictree.Node {
	if t.tree != nil {
		return t.tree.Root()
	}
	return t.cold.Node()
}

// Projection is the reader's in-memory state: every topic's summary, trees
// of the recently read topics within a memory bound, users' lists, and the
// activity and hot rankings. One goroutine applies the log to it
// (apply.go); requests read it under a read lock (query.go) and never touch
// the database, except to load an evicted tree (residency.go).
type Projection struct {
	mu       sync.RWMutex
	topics   map[comment.TopicID]*topic
	users    map[string]*userList
	bans     map[string]store.BanRow // by user, lifted and expired ones included
	voters   map[string]*userList    // votes in force by voter id, oldest first
	top      topComments
	ranks    rankings
	res      residency
	prog     *progress
	log      *zap.Logger
	lastLoad []phase // the start-up load's steps, for its log line

	applyWaitMax atomic.Int64 // the longest Apply waited for the lock, in nanoseconds

	renderMem  renderBudget  // bytes of large pages being rendered and sent
	renderMax  int64         // the budget's size
	renderWait time.Duration // how long a large page waits for its share
	// betweenChunks runs between two chunks of a render, with the lock
	// free: runtime.Gosched, so that a waiting Apply gets the lock (a test
	// pauses the render there instead).
	betweenChunks func()
}

// renderBudget bounds the bytes of large pages in flight: a
// semaphore.Weighted, or a test's gate.
type renderBudget interface {
	Acquire(ctx context.Context, n int64) error
	TryAcquire(n int64) bool
	Release(n int64)
}

// Render bounds unless SetRenderBound says otherwise.
const (
	defaultRenderBytes = 256 << 20
	defaultRenderWait  = 2 * time.Second
)

// SetRenderBound bounds the bytes of large pages rendered and being sent at
// once (RENDER_MAX_BYTES) and how long a page waits for room (RENDER_WAIT)
// before it is refused. Call it before serving.
func (p *Projection) SetRenderBound(maxBytes int64, wait time.Duration) {
	p.renderMem, p.renderMax, p.renderWait = semaphore.NewWeighted(maxBytes), maxBytes, wait
}

// NewProjection returns an empty projection. Loads of evicted trees run on
// goroutines it owns until Close.
func NewProjection(maxBytes int64, hot hotParams, src topicSource, log *zap.Logger) *Projection {
	return &Projection{
		topics: map[comment.TopicID]*topic{},
		users:  map[string]*userList{},
		bans:   map[string]store.BanRow{},
		voters: map[string]*userList{},
		top:    newTopComments(),
		ranks:  newRankings(hot),
		res:    newResidency(maxBytes, src),
		prog:   newProgress(),
		log:    log,

		renderMem: semaphore.NewWeighted(defaultRenderBytes),
		renderMax: defaultRenderBytes,

		betweenChunks: runtime.Gosched,
		renderWait:    defaultRenderWait,
	}
}

// Close stops loads in flight and waits for them.
func (p *Projection) Close() { p.res.close() }

// Applied is the position of the last event applied.
func (p *Projection) Applied() int64 { return p.prog.applied.Load() }

// Ready tells whether the start-up snapshot is loaded.
func (p *Projection) Ready() bool { return p.prog.ready.Load() }

// WaitApplied waits until the projection is loaded and has applied
// position n, or ctx ends; it reports whether that happened.
func (p *Projection) WaitApplied(ctx context.Context, n int64) bool { return p.prog.wait(ctx, n) }

// Stats is what /internal/stats reports.
type Stats struct {
	Applied       int64 `json:"applied"`
	Topics        int   `json:"topics"`
	ResidentTrees int   `json:"resident_trees"`
	ResidentBytes int64 `json:"resident_bytes"`
	MaxBytes      int64 `json:"max_bytes"` // CACHE_MAX_BYTES
	Evictions     int64 `json:"evictions"`
	Reloads       int64 `json:"reloads"`
	// OversizedDrops counts trees dropped right after the request that
	// loaded them, because each alone is larger than MaxBytes.
	OversizedDrops int64 `json:"oversized_drops"`
	// ApplyWaitMaxMicros is the longest applying events waited for readers
	// (renders, lists) to let go of the state, since start.
	ApplyWaitMaxMicros int64 `json:"apply_wait_max_us"`
}

// Stats counts what is in memory.
func (p *Projection) Stats() Stats {
	p.mu.RLock()
	defer p.mu.RUnlock()
	s := Stats{Applied: p.Applied(), Topics: len(p.topics), ResidentBytes: p.res.bytes, MaxBytes: p.res.maxBytes,
		Evictions: p.res.evictions.Load(), Reloads: p.res.reloads.Load(), OversizedDrops: p.res.oversized.Load(),
		ApplyWaitMaxMicros: p.applyWaitMax.Load() / 1e3}
	for _, t := range p.topics {
		if t.tree != nil {
			s.ResidentTrees++
		}
	}
	return s
}

// Apply applies events, which must follow the last applied position
// without a gap.
func (p *Projection) Apply(events []comment.Event) error {
	if len(events) == 0 {
		return nil
	}
	asked := time.Now()
	p.mu.Lock()
	if wait := time.Since(asked).Nanoseconds(); wait > p.applyWaitMax.Load() {
		p.applyWaitMax.Store(wait) // only Apply's one goroutine writes it
	}
	want := p.Applied() + 1
	for i := range events {
		e := &events[i]
		if e.Position != want {
			p.mu.Unlock()
			return errors.New("reader: events out of sequence")
		}
		p.apply(e)
		want++
	}
	last := events[len(events)-1].Position
	p.prog.applied.Store(last)
	p.installReady()
	p.evict(nil)
	p.mu.Unlock()
	p.prog.set(last)
	return nil
}

func (p *Projection) user(name string) *userList { return listOf(p.users, name) }

// listOf is name's list in lists, made if it is new.
func listOf(lists map[string]*userList, name string) *userList {
	l, ok := lists[name]
	if !ok {
		l = &userList{name: name}
		lists[name] = l
	}
	return l
}
