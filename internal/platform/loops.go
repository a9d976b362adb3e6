package platform

import (
	"context"
	"sync"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"
)

// Loops owns goroutines that run until Stop: Stop cancels their context
// and waits for them to return.
type Loops struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewLoops returns an owner with no goroutines yet.
func NewLoops() *Loops {
	ctx, cancel := context.WithCancel(context.Background())
	return &Loops{ctx: ctx, cancel: cancel}
}

// Go runs fn on a goroutine until Stop.
func (l *Loops) Go(fn func(context.Context)) {
	l.wg.Add(1)
	go func() { defer l.wg.Done(); fn(l.ctx) }()
}

// Stop ends the goroutines and waits for them.
func (l *Loops) Stop() {
	l.cancel()
	l.wg.Wait()
}

// RunLoops runs fns from the app's start until its stop.
func RunLoops(lc fx.Lifecycle, fns ...func(context.Context)) {
	l := NewLoops()
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			for _, fn := range fns {
				l.Go(fn)
			}
			return nil
		},
		OnStop: func(context.Context) error { l.Stop(); return nil },
	})
}

// Trouble logs the failures of an operation that repeats (a poll, a
// flush) once when it starts failing and once when it recovers, rather
// than at every attempt.
type Trouble struct {
	log                *zap.Logger
	failing, recovered string
	down               bool
}

// NewTrouble returns a Trouble that logs failing (a warning) and recovered.
func NewTrouble(log *zap.Logger, failing, recovered string) *Trouble {
	return &Trouble{log: log, failing: failing, recovered: recovered}
}

// Report tells the outcome of one attempt; fields go on the log line.
func (t *Trouble) Report(err error, fields ...zap.Field) {
	switch {
	case err != nil && !t.down:
		t.log.Warn(t.failing, append(fields, zap.Error(err))...)
		t.down = true
	case err == nil && t.down:
		t.log.Info(t.recovered, fields...)
		t.down = false
	}
}

// Every calls fn every interval until ctx ends.
func Every(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}
