package writer

import (
	"context"
	"encoding/json"
	"errors"
	"sync"

	"go.uber.org/zap"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/store"
)

// Appender is the storage a Batcher appends through.
type Appender interface {
	Append(ctx context.Context, lk store.Lookup, decide func(store.State) (store.Changes, error)) (int64, error)
}

// Batcher runs commands in batches, one transaction per batch (group
// commit). Each of its workers takes whatever commands are queued when it is
// free, up to a maximum, so batches grow with load and a lone request waits
// for nobody. Positions come in commit order from one row (see
// docs/event-log.md), so a transaction per command would cost one commit
// latency each; a batch pays it once.
type Batcher struct {
	app      Appender
	log      *zap.Logger
	queue    chan *request
	maxBatch int
	workers  int
	stopping chan struct{}
	wg       sync.WaitGroup
}

type request struct {
	cmd  *Command
	done chan struct{}
	out  Outcome
	err  error
}

// NewBatcher returns a stopped Batcher; Start starts its workers.
func NewBatcher(app Appender, log *zap.Logger, workers, maxBatch int) *Batcher {
	return &Batcher{
		app:      app,
		log:      log,
		queue:    make(chan *request, workers*maxBatch),
		maxBatch: maxBatch,
		workers:  workers,
		stopping: make(chan struct{}),
	}
}

// Start starts the workers.
func (b *Batcher) Start() {
	for range b.workers {
		b.wg.Add(1)
		go b.work()
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
var errStopping = comment.Unavailable("writer is shutting down", nil)

// Do runs one command and returns its outcome. If ctx ends first, Do
// returns, but the command may still be committed; a client that must know
// retries with the same Idempotency-Key.
func (b *Batcher) Do(ctx context.Context, cmd *Command) (Outcome, error) {
	r := &request{cmd: cmd, done: make(chan struct{})}
	select {
	case b.queue <- r:
	case <-b.stopping:
		return Outcome{}, errStopping
	case <-ctx.Done():
		return Outcome{}, comment.Unavailable("request ended before the write was queued", ctx.Err())
	}
	select {
	case <-r.done:
		return r.out, r.err
	case <-ctx.Done():
		return Outcome{}, comment.Unavailable("request ended before the write finished", ctx.Err())
	}
}

func (b *Batcher) work() {
	defer b.wg.Done()
	reqs := make([]*request, 0, b.maxBatch)
	for {
		reqs = reqs[:0]
		select {
		case r := <-b.queue:
			reqs = append(reqs, r)
		case <-b.stopping:
			// Drain: senders may still be handing over commands they
			// queued just before the stop.
			select {
			case r := <-b.queue:
				reqs = append(reqs, r)
			default:
				return
			}
		}
	fill:
		for len(reqs) < b.maxBatch {
			select {
			case r := <-b.queue:
				reqs = append(reqs, r)
			default:
				break fill
			}
		}
		b.run(reqs)
	}
}

func (b *Batcher) run(reqs []*request) {
	cmds := make([]*Command, len(reqs))
	for i, r := range reqs {
		cmds[i] = r.cmd
	}
	// The batch is not cut short when one request's client goes away: the
	// others still wait for it. Append bounds it with the query timeout.
	first, err := b.app.Append(context.Background(), lookup(cmds), func(st store.State) (store.Changes, error) {
		return decide(cmds, st, comment.Now()), nil
	})
	for _, r := range reqs {
		if err != nil {
			r.err = err
		} else {
			r.out, r.err = outcome(r.cmd, first)
		}
		close(r.done)
	}
	if err != nil && !errors.As(err, new(*comment.Error)) {
		b.log.Error("append failed", zap.Int("batch", len(reqs)), zap.Error(err))
	}
}

// outcome renders a decided command's response, now that the batch's first
// position is known.
func outcome(c *Command, first int64) (Outcome, error) {
	switch {
	case c.err != nil:
		return Outcome{}, c.err
	case c.replay != nil:
		return render(c.replay.Status, c.replay.Result, c.Op, c.replay.Position)
	}
	pos := first + int64(c.event)
	switch res := c.result.(type) {
	case *PostResult:
		r := *res
		r.Position = pos
		body, err := json.Marshal(r)
		return Outcome{Status: c.status, Body: body, Position: pos}, err
	case *PositionResult:
		body, err := json.Marshal(PositionResult{Position: pos})
		return Outcome{Status: c.status, Body: body, Position: pos}, err
	}
	return Outcome{}, errors.New("writer: command without result")
}

// render rebuilds a stored response: decoding into the same type and
// encoding again gives the same bytes as the first time.
func render(status int, stored []byte, op any, pos int64) (Outcome, error) {
	var body []byte
	var err error
	if _, ok := op.(Post); ok && status == 201 {
		var r PostResult
		if err = json.Unmarshal(stored, &r); err == nil {
			r.Position = pos
			body, err = json.Marshal(r)
		}
	} else {
		body, err = json.Marshal(PositionResult{Position: pos})
	}
	return Outcome{Status: status, Body: body, Position: pos}, err
}
