package reader

import (
	"context"
	"runtime/debug"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/platform"
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
	batch    int
	log      *zap.Logger
	wake     chan struct{}
	lastOK   atomic.Int64 // unix nanoseconds of the last successful refresh
}

// NewRefresher returns a refresher; run it with Run.
func NewRefresher(proj *Projection, snaps snapshotSource, events eventSource, interval time.Duration, batch int, log *zap.Logger) *Refresher {
	return &Refresher{proj: proj, snaps: snaps, events: events, interval: interval, batch: batch, log: log, wake: make(chan struct{}, 1)}
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
	trouble := platform.NewTrouble(r.log, "refresh failed; serving what is held", "refresh recovered")
	for {
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
	}
}

// catchUp applies events until the log has no more.
func (r *Refresher) catchUp(ctx context.Context) error {
	for {
		events, err := r.events.Events(ctx, r.proj.Applied(), r.batch)
		if err != nil {
			return err
		}
		if err := r.proj.Apply(events); err != nil {
			return err
		}
		r.lastOK.Store(time.Now().UnixNano())
		if len(events) < r.batch {
			return nil
		}
	}
}
