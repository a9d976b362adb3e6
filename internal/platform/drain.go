package platform

import (
	"context"
	"sync/atomic"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"
)

// Drain is a service on its way down (SIGTERM, SPEC §12): it fails its
// readiness first, keeps serving for DRAIN_DELAY so that whatever routes to
// it (a load balancer polling /readyz) sees that and stops, and only then
// does its server stop taking requests and finish those in flight.
type Drain struct {
	delay    time.Duration
	draining atomic.Bool
}

// NewDrain returns the drain of a service with DRAIN_DELAY delay.
func NewDrain(delay time.Duration) *Drain { return &Drain{delay: delay} }

// Draining tells whether the service is on its way down.
func (d *Drain) Draining() bool { return d.draining.Load() }

// Hook registers the drain's stop hook. fx runs stop hooks in the reverse
// order of their registration: invoked after the service's servers are
// registered, it runs before they stop.
func (d *Drain) Hook(lc fx.Lifecycle, log *zap.Logger) {
	lc.Append(fx.StopHook(func(ctx context.Context) {
		d.draining.Store(true)
		log.Info("draining: /readyz fails from now on; the server stops after the delay, finishing what is in flight",
			zap.Duration("delay", d.delay))
		t := time.NewTimer(d.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}))
}
