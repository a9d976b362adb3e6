package writer

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/parley/parley/internal/comment"
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
	queues   []chan *request // one per worker
	next     atomic.Uint32   // round robin for commands without a topic
	maxBatch int
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
	b := &Batcher{app: app, log: log, maxBatch: maxBatch, stopping: make(chan struct{})}
	for range workers {
		b.queues = append(b.queues, make(chan *request, maxBatch))
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
func (b *Batcher) Do(ctx context.Context, cmd *Command) (Outcome, error) {
	r := &request{cmd: cmd, done: make(chan struct{})}
	select {
	case b.queues[b.lane(cmd)] <- r:
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
func (b *Batcher) lane(cmd *Command) int {
	var topic comment.TopicID
	switch op := cmd.Op.(type) {
	case Post:
		topic = op.NewTopic
		if op.Topic != nil {
			topic = *op.Topic
		}
	case Edit:
		topic = op.Topic
	case Delete:
		topic = op.Topic
	default:
		return int(b.next.Add(1) % uint32(len(b.queues)))
	}
	return int(binary.LittleEndian.Uint32(topic[:4]) % uint32(len(b.queues)))
}

func (b *Batcher) work(queue chan *request) {
	defer b.wg.Done()
	reqs := make([]*request, 0, b.maxBatch)
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
	if _, ok := errs.Classified(err); err != nil && !ok {
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
