package reader

import (
	"context"
	"sync"
	"sync/atomic"
)

// progress is how far the projection has got: whether the start-up
// snapshot is loaded and the position of the last event applied, with a
// way to wait for a position.
type progress struct {
	applied  atomic.Int64
	ready    atomic.Bool
	mu       sync.Mutex
	advanced chan struct{} // closed and replaced whenever applied moves
}

func newProgress() *progress { return &progress{advanced: make(chan struct{})} }

// set records that pos is applied and wakes the waiters.
func (g *progress) set(pos int64) {
	g.applied.Store(pos)
	g.mu.Lock()
	close(g.advanced)
	g.advanced = make(chan struct{})
	g.mu.Unlock()
}

// wait waits until the snapshot is loaded and position n applied, or ctx
// ends; it reports whether that happened.
func (g *progress) wait(ctx context.Context, n int64) bool {
	reached := func() bool { return g.ready.Load() && g.applied.Load() >= n }
	for {
		g.mu.Lock()
		ch := g.advanced
		g.mu.Unlock()
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
