package writer

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/parley/parley/internal/errs"
	"github.com/parley/parley/internal/metrics"
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
// Commands without a topic (a reader's view batch, a ban) have a worker of
// their own: a view batch writes hundreds of ranges, 10-50 ms, and
// comments queued behind it made the writes' p99 (seen: POST p99 45 ms
// under a mixed load, in bursts once a second, with the view batches on
// the topics' workers).
//
// Under a steady trickle of writes from many clients, batches held one to
// three commands, and a batch's fixed cost (its statements, its commit,
// every reader's read of the log) made a comment cost five times what it
// does in a large batch. So a worker whose last batch held several
// commands and ended less than the linger ago waits up to the linger for
// its batch to fill to lingerFill (see WRITE_BATCH_LINGER). A lone
// client's writes, one at a time, make batches of one and never wait.
type Batcher struct {
	app      Appender
	log      *zap.Logger
	queues   []chan *pending // one per worker; the last is for commands without a topic
	maxBatch int
	linger   time.Duration    // WRITE_BATCH_LINGER; 0 never waits
	now      func() time.Time // the clock that dates events: comment.Now, or a test's
	stopping chan struct{}
	wg       sync.WaitGroup
	waiting  atomic.Int64  // commands handed to Do and not yet taken into a batch
	observe  *batchMetrics // nil observes nothing
}

// pending is a request waiting for its batch, and then its outcome.
type pending struct {
	req  *Request
	done chan struct{}
	out  Outcome
	err  error
}

// lingerFill is the batch size a lingering worker waits for: from about
// sixteen commands on, a batch's fixed cost is a small share of what each
// command costs (measured: 1,500 µs of CPU for a comment alone, 260 in
// batches of 32). A batch that reached it runs at once, so closed-loop
// clients that are all in the running batch are never kept waiting for
// arrivals that cannot come.
const lingerFill = 16

// NewBatcher returns a stopped Batcher with workers for topics' commands
// and one more for the others; Start starts them. A worker under load
// waits up to linger for its batch to fill (0: never).
func NewBatcher(app Appender, log *zap.Logger, workers, maxBatch int, linger time.Duration, now func() time.Time) *Batcher {
	b := &Batcher{app: app, log: log, maxBatch: maxBatch, linger: linger, now: now, stopping: make(chan struct{})}
	for range workers + 1 {
		b.queues = append(b.queues, make(chan *pending, maxBatch))
	}
	return b
}

// Start starts the workers.
func (b *Batcher) Start() {
	for i, q := range b.queues {
		b.wg.Add(1)
		go b.work(q, laneName(i == len(b.queues)-1))
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
	b.waiting.Add(1)
	select {
	case b.queues[b.lane(req.Cmd)] <- r:
	case <-b.stopping:
		b.waiting.Add(-1)
		return Outcome{}, errStopping
	case <-ctx.Done():
		b.waiting.Add(-1)
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
// commands always meet in the same worker, or the last one.
func (b *Batcher) lane(cmd Command) int {
	topics := len(b.queues) - 1
	topic, ok := cmd.Topic()
	if !ok {
		return topics
	}
	return int(binary.LittleEndian.Uint32(topic[:4]) % uint32(topics))
}

// laneName is the lane label of a worker's batches: "topics" for the
// workers of comments and votes, "other" for the one of view batches and
// bans, whose transactions are of another size.
func laneName(other bool) string {
	if other {
		return "other"
	}
	return "topics"
}

func (b *Batcher) work(queue chan *pending, lane string) {
	defer b.wg.Done()
	reqs := make([]*pending, 0, b.maxBatch)
	var ended time.Time // when the last batch ended
	last := 0           // how many commands it held
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
		fillTo := min(lingerFill, b.maxBatch)
		if b.linger > 0 && len(reqs) < fillTo && last > 1 && time.Since(ended) < b.linger {
			reqs = b.gather(queue, reqs, fillTo)
		}
		b.waiting.Add(-int64(len(reqs)))
		b.run(reqs, lane)
		ended, last = time.Now(), len(reqs)
	}
}

// gather adds commands from queue to reqs until it holds n, the linger
// has passed, or the batcher stops.
func (b *Batcher) gather(queue chan *pending, reqs []*pending, n int) []*pending {
	timer := time.NewTimer(b.linger)
	defer timer.Stop()
	for len(reqs) < n {
		select {
		case r := <-queue:
			reqs = append(reqs, r)
		case <-timer.C:
			return reqs
		case <-b.stopping:
			return reqs
		}
	}
	return reqs
}

func (b *Batcher) run(reqs []*pending, lane string) {
	batch := make([]*Request, len(reqs))
	for i, r := range reqs {
		batch[i] = r.req
	}
	var decided []decision
	// The batch is not cut short when one request's client goes away: the
	// others still wait for it. Append bounds it with the query timeout.
	start := time.Now()
	first, err := b.app.Append(context.Background(), lookup(batch), func(st store.State) (store.Changes, error) {
		var ch store.Changes
		ch, decided = decide(batch, st, b.now())
		return ch, nil
	})
	b.observe.batch(lane, len(reqs), time.Since(start))
	for i, r := range reqs {
		replay := false
		if err != nil {
			r.err = err
		} else {
			r.out, r.err = outcome(r.req.Cmd, decided[i], first)
			replay = decided[i].replay != nil
		}
		b.observe.command(r.req.Cmd, replay, r.err)
		close(r.done)
	}
	// A failure is logged once per request it failed, by the HTTP error
	// handler, with the request's id: not here a second time.
}

// Waiting is how many commands wait for a batch: queued for a worker, or
// blocked on its full queue.
func (b *Batcher) Waiting() int64 { return b.waiting.Load() }

// Instrument registers the batcher's families on reg:
// parley_writer_batch_size{lane}, parley_writer_transaction_duration_seconds{lane},
// parley_writer_queue_depth and parley_writer_commands_total{kind,outcome}.
// Call it before Start.
func (b *Batcher) Instrument(reg prometheus.Registerer) error {
	m := &batchMetrics{
		size: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metrics.Namespace, Subsystem: "writer", Name: "batch_size",
			Help:    "Commands per batch transaction (the _count is the number of batches), by lane: topics (comments and votes) or other (view batches and bans).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 14), // 1 … 8192; WRITE_BATCH_MAX is at most 10000
		}, []string{"lane"}),
		txTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metrics.Namespace, Subsystem: "writer", Name: "transaction_duration_seconds",
			Help: "Time of a batch's transaction, from its start to its commit or failure, retries included, by lane: topics (comments and votes) or other (view batches and bans).",
			// 0.5 ms … 8 s, each bound √2 times the last: a p99 read from
			// doubling buckets could not tell 17 ms from 32.
			Buckets: prometheus.ExponentialBucketsRange(0.0005, 8, 29),
		}, []string{"lane"}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metrics.Namespace, Subsystem: "writer", Name: "commands_total",
			Help: "Commands run in batches, by kind (post, edit, delete, vote, ban_user, record_views) and outcome (ok, replay, or the error's kind: invalid, not_found, conflict, forbidden, unavailable, timeout, …; error when unclassified).",
		}, []string{"kind", "outcome"}),
	}
	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: metrics.Namespace, Subsystem: "writer", Name: "queue_depth",
		Help: "Commands waiting for a batch: queued for a worker, or blocked on its full queue.",
	}, func() float64 { return float64(b.Waiting()) })
	for _, lane := range []string{laneName(false), laneName(true)} { // both series from the start, at zero
		m.size.WithLabelValues(lane)
		m.txTime.WithLabelValues(lane)
	}
	if err := metrics.Register(reg, m.size, m.txTime, m.commands, depth); err != nil {
		return err
	}
	b.observe = m
	return nil
}

// batchMetrics are the batcher's own families; a nil one observes nothing.
type batchMetrics struct {
	size     *prometheus.HistogramVec // by lane
	txTime   *prometheus.HistogramVec // by lane
	commands *prometheus.CounterVec
	// series caches each command type's and outcome's counter: reflection
	// and label hashing once per series, not once per command.
	series sync.Map // seriesKey → prometheus.Counter
}

type seriesKey struct {
	cmd     reflect.Type
	outcome string
}

func (m *batchMetrics) batch(lane string, n int, took time.Duration) {
	if m == nil {
		return
	}
	m.size.WithLabelValues(lane).Observe(float64(n))
	m.txTime.WithLabelValues(lane).Observe(took.Seconds())
}

func (m *batchMetrics) command(cmd Command, replay bool, err error) {
	if m == nil {
		return
	}
	outcome := "ok"
	switch e, ok := errs.Classified(err); {
	case ok:
		outcome = strings.ReplaceAll(e.Kind.Error(), " ", "_")
	case err != nil:
		outcome = "error"
	case replay:
		outcome = "replay"
	}
	k := seriesKey{reflect.TypeOf(cmd), outcome}
	c, ok := m.series.Load(k)
	if !ok {
		c, _ = m.series.LoadOrStore(k, m.commands.WithLabelValues(kindOf(cmd), outcome))
	}
	c.(prometheus.Counter).Inc()
}

// kindOf names a command's kind after its type: Post is post, BanUser
// ban_user.
func kindOf(cmd Command) string {
	t := reflect.TypeOf(cmd)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []byte
	for i, c := range []byte(t.Name()) {
		if 'A' <= c && c <= 'Z' {
			if i > 0 {
				out = append(out, '_')
			}
			c += 'a' - 'A'
		}
		out = append(out, c)
	}
	return string(out)
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
