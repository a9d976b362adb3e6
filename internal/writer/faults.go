package writer

import (
	"context"
	"math/rand/v2"
	"time"

	"go.uber.org/zap"

	"github.com/parley/parley/internal/errs"
)

// FaultDraw draws a number uniformly in [0, 1) for FAULT_RATE; tests
// replace it (fx.Replace) to choose the faults.
type FaultDraw func() float64

func newFaultDraw() FaultDraw { return rand.Float64 }

// faults makes FAULT_RATE of the public writes fail on purpose, for drills
// of clients and of the whole stack (SPEC §11): a third of them before the
// write, a third after it committed, a third after a delay.
type faults struct {
	rate  float64
	delay time.Duration
	draw  FaultDraw
}

// fault is one way a write fails on purpose.
type fault int

const (
	noFault     fault = iota
	faultBefore       // 503 before the write: nothing is written
	faultAfter        // 503 after the write committed: a retry with the key gets the first answer
	faultDelay        // the write waits FAULT_DELAY first, then runs: a client with a shorter timeout gives up and retries
)

func newFaults(cfg Config, draw FaultDraw, log *zap.Logger) *faults {
	if cfg.FaultRate > 0 {
		log.Warn("FAULT_RATE is set: writes fail on purpose (before the write, after it committed, or after FAULT_DELAY); for drills only, never in production",
			zap.Float64("fault_rate", cfg.FaultRate), zap.Duration("fault_delay", cfg.FaultDelay))
	}
	return &faults{rate: cfg.FaultRate, delay: cfg.FaultDelay, draw: draw}
}

// pick decides the fate of one write.
func (f *faults) pick() fault {
	if f.rate <= 0 {
		return noFault
	}
	x := f.draw()
	if x >= f.rate {
		return noFault
	}
	return faultBefore + fault(min(2, int(x/f.rate*3)))
}

var (
	errFaultBefore = errs.Unavailable.New("FAULT_RATE: this write failed on purpose before it was written")
	errFaultAfter  = errs.Unavailable.New("FAULT_RATE: this write was committed, then its answer failed on purpose; retry with the same Idempotency-Key")
)

// wait holds a delayed write for FAULT_DELAY, or until its request ends.
func (f *faults) wait(ctx context.Context) error {
	t := time.NewTimer(f.delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return errs.Unavailable.Wrap("request ended during FAULT_DELAY", ctx.Err())
	}
}
