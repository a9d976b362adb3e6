package writer

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/parley/parley/internal/errs"
	"github.com/parley/parley/internal/store"
)

// Appender is the storage a Batcher appends through.
type Appender interface {
	Append(ctx context.Context, lk store.Lookup, decide func(store.State) (store.Changes, error)) (int64, error)
}

// Batcher runs commands in batches, one transaction per batch (group
// commit). Each of its workers takes whatever commands are queued for it
// when it is free, up to a maximum, so batches grow with load and a lone
// request waits for nobody. Positions come in commit order from one row
// (see docs/event-log.md), so a transaction per command would cost one
// commit latency each; a batch pays it once.
//
// Commands go to workers by topic: two workers never lock the same topic
// row, so their transactions overlap until the last statements (the log
// head) instead of queueing on each other's topic locks.
type Batcher struct {
	app      Appender
	log      *zap.Logger
	queues   []chan *pending // one per worker
	next     atomic.Uint32   // round robin for commands without a topic
	maxBatch int
	now      func() time.Time // the clock that dates events: comment.Now, or a test's
	stopping chan struct{}
	wg       sync.WaitGroup
}

// pending is a request waiting for its batch, and then its outcome.
type pending struct {
	req  *Request
	done chan struct{}
	out  Outcome
	err  error
}

// NewBatcher returns a stopped Batcher; Start starts its workers.
func NewBatcher(app Appender, log *zap.Logger, workers, maxBatch int, now func() time.Time) *Batcher {
	b := &Batcher{app: app, log: log, maxBatch: maxBatch, now: now, stopping: make(chan struct{})}
	for range workers {
		b.queues = append(b.queues, make(chan *pending, maxBatch))
	}
	return b
}

// Start starts the workers.
func (b *Batcher) Start() {
	for _, q := range b.queues {
		b.wg.Add(1)
		go b.work(q)
	}
}

// Stop lets the workers finish what is queued and waits for them. Callers
// must have stopped sending (the HTTP server is shut down first).
func (b *Batcher) Stop(ctx context.Context) error {
	close(b.stopping)
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// errStopping answers commands sent while the writer shuts down.
var errStopping = errs.Unavailable.Wrap("writer is shutting down", nil)

// Do runs one command and returns its outcome. If ctx ends first, Do
// returns, but the command may still be committed; a client that must know
// retries with the same Idempotency-Key.
func (b *Batcher) Do(ctx context.Context, req *Request) (Outcome, error) {
	r := &pending{req: req, done: make(chan struct{})}
	select {
	case b.queues[b.lane(req.Cmd)] <- r:
	case <-b.stopping:
		return Outcome{}, errStopping
	case <-ctx.Done():
		return Outcome{}, errs.Unavailable.Wrap("request ended before the write was queued", ctx.Err())
	}
	select {
	case <-r.done:
		return r.out, r.err
	case <-ctx.Done():
		return Outcome{}, errs.Unavailable.Wrap("request ended before the write finished", ctx.Err())
	}
}

// lane picks the worker for a command: by topic, so that one topic's
// commands always meet in the same worker.
func (b *Batcher) lane(cmd Command) int {
	topic, ok := cmd.Topic()
	if !ok {
		return int(b.next.Add(1) % uint32(len(b.queues)))
	}
	return int(binary.LittleEndian.Uint32(topic[:4]) % uint32(len(b.queues)))
}

func (b *Batcher) work(queue chan *pending) {
	defer b.wg.Done()
	reqs := make([]*pending, 0, b.maxBatch)
	for {
		reqs = reqs[:0]
		select {
		case r := <-queue:
			reqs = append(reqs, r)
		case <-b.stopping:
			// Drain: senders may still be handing over commands they
			// queued just before the stop.
			select {
			case r := <-queue:
				reqs = append(reqs, r)
			default:
				return
			}
		}
	fill:
		for len(reqs) < b.maxBatch {
			select {
			case r := <-queue:
				reqs = append(reqs, r)
			default:
				break fill
			}
		}
		b.run(reqs)
	}
}

func (b *Batcher) run(reqs []*pending) {
	batch := make([]*Request, len(reqs))
	for i, r := range reqs {
		batch[i] = r.req
	}
	var decided []decision
	// The batch is not cut short when one request's client goes away: the
	// others still wait for it. Append bounds it with the query timeout.
	first, err := b.app.Append(context.Background(), lookup(batch), func(st store.State) (store.Changes, error) {
		var ch store.Changes
		ch, decided = decide(batch, st, b.now())
		return ch, nil
	})
	for i, r := range reqs {
		if err != nil {
			r.err = err
		} else {
			r.out, r.err = outcome(r.req.Cmd, decided[i], first)
		}
		close(r.done)
	}
	if _, ok := errs.Classified(err); err != nil && !ok {
		b.log.Error("append failed", zap.Int("batch", len(reqs)), zap.Error(err))
	}
}

// outcome renders a decided request's response, now that the batch's
// first position is known. A replay is the stored response, decoded into
// the command's result and encoded again: the same bytes as the first time.
func outcome(cmd Command, d decision, first int64) (Outcome, error) {
	res, pos := d.result, first+int64(d.event)
	switch {
	case d.err != nil:
		return Outcome{}, d.err
	case d.replay != nil:
		res, pos = cmd.NewResult(), d.replay.Position
		if err := json.Unmarshal(d.replay.Result, res); err != nil {
			return Outcome{}, err
		}
	}
	res.setPosition(pos)
	body, err := json.Marshal(res)
	return Outcome{Body: body, Position: pos, Result: res}, err
}
