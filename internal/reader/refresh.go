package reader

import (
	"context"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/platform"
	"github.com/parley/parley/internal/store"
)

// eventSource reads the log after a position.
type eventSource interface {
	Events(ctx context.Context, after int64, limit int) ([]comment.Event, error)
}

// Refresher loads the start-up snapshot, then keeps the projection up to
// date: it applies the log every interval, and at once when woken (by a
// notification from the writer, or by a request that waits for a position).
type Refresher struct {
	proj     *Projection
	snaps    snapshotSource
	events   eventSource
	interval time.Duration
	gap      time.Duration // the least time from one refresh's start to the next's (REFRESH_COALESCE)
	batch    int
	log      *zap.Logger
	wake     chan struct{}
	lastOK   atomic.Int64 // unix nanoseconds of the last successful refresh
	// For metrics (Lag): the newest log position known to exist, and the
	// start (unix nanoseconds) of the last read that reached the log's end.
	head     atomic.Int64
	caughtUp atomic.Int64
	// observe, when set, is told each refresh's duration and error.
	observe func(took time.Duration, err error)
	// notified holds the events notifications carried, in the order they
	// came, for the next refresh to apply without reading the log; nil
	// when the reader tails a replica (UseNotified).
	notified *notifiedEvents
}

// notifiedEvents are events that notifications carried and no refresh has
// taken yet.
type notifiedEvents struct {
	mu     sync.Mutex
	events []comment.Event
}

// maxNotified bounds the events held for the next refresh: beyond it
// they are dropped, and that refresh reads the log instead.
const maxNotified = 10000

// headSource reads the log's newest position. The store's Reader is one;
// Lag uses it while the refresher is more than a batch behind.
type headSource interface {
	Head(ctx context.Context) (int64, error)
}

// NewRefresher returns a refresher; run it with Run. Wake-ups sooner than
// gap after the start of the last refresh wait for the rest of it.
func NewRefresher(proj *Projection, snaps snapshotSource, events eventSource, interval, gap time.Duration, batch int, log *zap.Logger) *Refresher {
	r := &Refresher{proj: proj, snaps: snaps, events: events, interval: interval, gap: gap, batch: batch, log: log, wake: make(chan struct{}, 1)}
	r.caughtUp.Store(time.Now().UnixNano()) // lag counts from the start until the log is first read to its end
	return r
}

// UseNotified lets refreshes apply the events that notifications carry
// instead of reading them from the log. Only for a reader that tails the
// database it LISTENs on: one that tails a replica must not get ahead of
// what the replica has replayed. Call it before Run.
func (r *Refresher) UseNotified() { r.notified = &notifiedEvents{} }

// Notified is a notification from the primary: the log reaches n.Head (0:
// unknown), so refresh now, unless a refresh already read that far (the
// notifications of a burst of commits arrive after the refresh that the
// first of them started has read the others' events). The events it
// carries wait for that refresh.
func (r *Refresher) Notified(n store.Notification) {
	r.knowHead(n.Head)
	if n.Head > 0 && n.Head <= r.proj.Applied() {
		return
	}
	if q := r.notified; q != nil && len(n.Events) > 0 {
		q.mu.Lock()
		if len(q.events)+len(n.Events) <= maxNotified {
			q.events = append(q.events, n.Events...)
		}
		q.mu.Unlock()
	}
	r.Wake()
}

// takeNotified returns the held events and holds none.
func (r *Refresher) takeNotified() []comment.Event {
	q := r.notified
	if q == nil {
		return nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	events := q.events
	q.events = nil
	return events
}

// applyNotified applies the held events that continue the projection, and
// tells whether that reached the newest position known: then the refresh
// need not read the log. Events already applied are dropped; from the
// first gap on (a batch too large to carry, a lost connection) the log is
// read instead.
func (r *Refresher) applyNotified() (bool, error) {
	events := r.takeNotified()
	applied := r.proj.Applied()
	i := 0
	for i < len(events) && events[i].Position <= applied {
		i++
	}
	events = events[i:]
	if len(events) == 0 || events[0].Position != applied+1 {
		return false, nil
	}
	n := 1
	for n < len(events) && events[n].Position == events[n-1].Position+1 {
		n++
	}
	if err := r.proj.Apply(events[:n]); err != nil {
		return false, err
	}
	return n == len(events) && r.proj.Applied() >= r.head.Load(), nil
}

// knowHead records that the log reaches at least head.
func (r *Refresher) knowHead(head int64) {
	for {
		old := r.head.Load()
		if head <= old || r.head.CompareAndSwap(old, head) {
			return
		}
	}
}

// Wake asks for a refresh now. It never blocks; wake-ups fold together.
func (r *Refresher) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// LastRefresh is when the log was last read successfully (zero before the
// snapshot is loaded).
func (r *Refresher) LastRefresh() time.Time {
	n := r.lastOK.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Run loads the snapshot (retrying until it succeeds) and refreshes until
// ctx ends.
func (r *Refresher) Run(ctx context.Context) {
	err := platform.Retry(ctx, 5*time.Second, func(ctx context.Context) error {
		start := time.Now()
		if err := r.proj.Load(ctx, r.snaps); err != nil {
			return err
		}
		// The load leaves behind garbage as large as the state (row
		// buffers, decoded strings); give it back to the OS now rather than
		// carry it until the heap next doubles.
		debug.FreeOSMemory()
		r.log.Info("snapshot loaded", zap.Int64("position", r.proj.Applied()),
			zap.Duration("took", time.Since(start)), zap.Any("phases", r.proj.lastLoad), zap.Any("stats", r.proj.Stats()))
		return nil
	}, func(err error, wait time.Duration) {
		if ctx.Err() == nil {
			r.log.Warn("snapshot failed; retrying", zap.Error(err), zap.Duration("in", wait))
		}
	})
	if err != nil {
		return // ctx ended
	}
	r.lastOK.Store(time.Now().UnixNano())

	t := time.NewTicker(r.interval)
	defer t.Stop()
	pause := time.NewTimer(0)
	defer pause.Stop()
	trouble := platform.NewTrouble(r.log, "refresh failed; serving what is held", "refresh recovered")
	for {
		began := time.Now()
		err := r.catchUp(ctx)
		if ctx.Err() == nil {
			trouble.Report(err, zap.Int64("position", r.proj.Applied()))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.wake:
		}
		// Under a burst of writes every commit notifies, and a read of the
		// log per notification cost each reader more than the writes' own
		// HTTP (issue 14): wake-ups within the gap fold into one read at
		// its end. An idle reader, woken long after its last refresh,
		// reads at once.
		if wait := r.gap - time.Since(began); wait > 0 {
			pause.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-pause.C:
			}
		}
	}
}

// Lag is how far behind the log the reader is: in events, the newest
// position it knows of less the applied one; in time, since the start of
// its last read that reached the end of the log with nothing known beyond
// it (every event committed before then is applied). It knows of the head
// from the primary's notifications (a replica that has yet to replay them
// lags by them), from the end of each read that reaches the end of its log,
// and, while it is more than a batch behind, from the log's head read at
// each batch. Idle, the time lag saw-tooths between 0 and
// REFRESH_INTERVAL; before the snapshot is loaded it is the time since the
// reader started.
func (r *Refresher) Lag(now time.Time) (events int64, behind time.Duration) {
	events = max(0, r.head.Load()-r.proj.Applied())
	return events, max(0, now.Sub(time.Unix(0, r.caughtUp.Load())))
}

// catchUp applies events until the log has no more.
func (r *Refresher) catchUp(ctx context.Context) error {
	start := time.Now()
	err := r.applyToEnd(ctx)
	if r.observe != nil {
		r.observe(time.Since(start), err)
	}
	return err
}

func (r *Refresher) applyToEnd(ctx context.Context) error {
	asOf := time.Now()
	switch done, err := r.applyNotified(); {
	case err != nil:
		return err
	case done:
		// Every position a notification told of before asOf is applied:
		// as caught up as a read of the log would say, but for commits
		// whose notifications were still on their way.
		r.lastOK.Store(time.Now().UnixNano())
		r.caughtUp.Store(asOf.UnixNano())
		return nil
	}
	for {
		asOf = time.Now()
		events, err := r.events.Events(ctx, r.proj.Applied(), r.batch)
		if err != nil {
			return err
		}
		if err := r.proj.Apply(events); err != nil {
			return err
		}
		r.lastOK.Store(time.Now().UnixNano())
		if len(events) < r.batch {
			// The log ended here: what was committed before asOf is
			// applied, unless the primary said it goes further (a replica
			// that has not replayed it yet).
			applied := r.proj.Applied()
			r.knowHead(applied)
			if applied >= r.head.Load() {
				r.caughtUp.Store(asOf.UnixNano())
			}
			return nil
		}
		r.readHead(ctx)
	}
}

// readHead learns the log's head while the reader is more than a batch
// behind: one small query per batch of events. Without a headSource, or
// when the query fails, the head is at least what is applied.
func (r *Refresher) readHead(ctx context.Context) {
	head := r.proj.Applied()
	if hs, ok := r.events.(headSource); ok {
		if h, err := hs.Head(ctx); err == nil {
			head = max(head, h)
		}
	}
	r.knowHead(head)
}
