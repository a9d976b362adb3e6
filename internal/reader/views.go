package reader

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/platform"
)

// ViewCounter counts the views a reader serves and flushes them to the
// writer in batches. Identical responses (same topic, same first and last
// comment, same newest id) share one counter, so a batch is as large as the
// number of distinct responses, not the number of GETs or of comments.
//
// A batch holds at most comment.MaxViewRanges ranges and its body at most
// comment.MaxViewBatchBytes bytes, the writer's limits. Each batch has its
// own Idempotency-Key and its own fate (SPEC §9): one the writer refuses (a
// 4xx other than 401, 403, 408 and 429) is dropped and counted; one that
// fails otherwise is sent again, with the same key and a growing backoff,
// while the others go on, so a lost answer never counts a view twice and no
// batch holds up another. A batch older than maxBatchAge is dropped instead
// of being sent. Unconfirmed batches are kept up to maxPending ranges; past
// that the oldest are dropped (and counted in the log). At stop, what cannot
// be delivered within the grace period goes to the spool directory, if
// there is one, for the next reader started with it.
type ViewCounter struct {
	url        string
	token      string
	client     *http.Client
	log        *zap.Logger
	instance   string
	maxPending int
	spool      string // VIEW_SPOOL_DIR; "" for none
	now        func() time.Time
	syncDir    func(dir string) error // fsync of the spool directory; a test watches it

	mu      sync.Mutex
	pages   []*pageHits // pages with hits since the last flush
	seq     int64
	pending []*viewBatch // unconfirmed, oldest first
	nranges int          // ranges in pending

	sendMu     sync.Mutex // one flush at a time
	tokenAlarm time.Time  // when a 401/403 was last logged as an error; under sendMu
	dropped    atomic.Int64
	flushes    atomic.Int64 // Flush calls that returned
	failed     atomic.Int64 // of those, the ones that returned an error
	batches    batchCounts  // for metrics
}

// batchCounts counts view batches by fate.
type batchCounts struct {
	sent    atomic.Int64 // the writer took them
	failed  atomic.Int64 // attempts that failed, to be made again
	dropped atomic.Int64 // given up: refused by the writer, too old, or beyond VIEW_PENDING_MAX
}

// Batches counts the batches sent, the attempts that failed, and the
// batches dropped so far.
func (v *ViewCounter) Batches() (sent, failed, dropped int64) {
	return v.batches.sent.Load(), v.batches.failed.Load(), v.batches.dropped.Load()
}

// viewBatch is one request to the writer, as it is sent and as it is
// spooled.
type viewBatch struct {
	Key     string          `json:"key"`
	Body    json.RawMessage `json:"body"` // a comment.Views
	Ranges  int             `json:"ranges"`
	Views   int64           `json:"views"`
	Created time.Time       `json:"created"`

	attempts int
	next     time.Time // no attempt before
	file     string    // the spool file it came from, removed once settled
}

// maxBatchAge is how long a batch is retried: well within the writer's
// IDEMPOTENCY_TTL (at least 24h), so that its key still guards against a
// double count when it finally goes through. An older batch, spooled ones
// included, is dropped without being sent.
const maxBatchAge = 12 * time.Hour

// tokenAlarmEvery is how often a writer refusing INTERNAL_TOKEN (401, 403)
// is logged as an error while it lasts.
const tokenAlarmEvery = time.Minute

// retryBase and retryMax bound the backoff between attempts at one batch.
const (
	retryBase = 200 * time.Millisecond
	retryMax  = 30 * time.Second
)

// ViewCounterConfig is what a ViewCounter needs from the reader's Config.
type ViewCounterConfig struct {
	WriterURL  string
	Token      string // INTERNAL_TOKEN
	MaxPending int    // VIEW_PENDING_MAX
	SpoolDir   string // VIEW_SPOOL_DIR
}

// NewViewCounter returns a counter that flushes to the writer. Batches
// spooled by an earlier reader are taken from the spool directory.
func NewViewCounter(cfg ViewCounterConfig, log *zap.Logger) (*ViewCounter, error) {
	var id [6]byte
	_, _ = crand.Read(id[:])
	v := &ViewCounter{
		url:        cfg.WriterURL + "/internal/views",
		token:      cfg.Token,
		client:     &http.Client{Timeout: 5 * time.Second},
		log:        log,
		instance:   hex.EncodeToString(id[:]),
		maxPending: cfg.MaxPending,
		spool:      cfg.SpoolDir,
		now:        time.Now,
		syncDir:    syncDir,
	}
	if v.spool == "" {
		return v, nil
	}
	if err := os.MkdirAll(v.spool, 0o700); err != nil {
		return nil, fmt.Errorf("VIEW_SPOOL_DIR: %w", err)
	}
	return v, v.unspool()
}

// Record counts one response of page.
func (v *ViewCounter) Record(page TopicPage) {
	h := page.hits
	if h == nil {
		return // an empty page shows no comment
	}
	h.n.Add(1)
	if !h.listed.Load() && h.listed.CompareAndSwap(false, true) {
		v.mu.Lock()
		v.pages = append(v.pages, h)
		v.mu.Unlock()
	}
}

// Pending is how many ranges are waiting to be flushed or confirmed.
func (v *ViewCounter) Pending() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.pages) + v.nranges
}

// Dropped is how many ranges were given up: refused by the writer, too
// old, or beyond VIEW_PENDING_MAX.
func (v *ViewCounter) Dropped() int64 { return v.dropped.Load() }

// FlushCounts is how many flushes a ViewCounter has done.
type FlushCounts struct {
	Flushes int64 // Flush calls that returned, whatever their outcome
	Failed  int64 // of those, the ones that returned an error (their batches are kept)
}

// Flushes counts the flushes that have returned so far. Flushes run one at
// a time, so once Flushes has grown by two since some moment, a whole flush
// ran after that moment.
func (v *ViewCounter) Flushes() FlushCounts {
	return FlushCounts{Flushes: v.flushes.Load(), Failed: v.failed.Load()}
}

// Flush turns the counts into batches and sends every unconfirmed batch
// whose backoff has passed. It returns the first error of a batch kept for
// another attempt, after trying all of them.
func (v *ViewCounter) Flush(ctx context.Context) error {
	v.sendMu.Lock()
	defer v.sendMu.Unlock()
	err := v.flush(ctx, false)
	if err != nil {
		v.failed.Add(1)
	}
	v.flushes.Add(1)
	return err
}

// flush is Flush, under sendMu; all ignores the backoff.
func (v *ViewCounter) flush(ctx context.Context, all bool) error {
	v.seal()
	v.mu.Lock()
	batches := append([]*viewBatch(nil), v.pending...)
	v.mu.Unlock()
	var first error
	now := v.now()
	for _, b := range batches {
		if ctx.Err() != nil {
			return errors.Join(first, ctx.Err())
		}
		if now.Sub(b.Created) > maxBatchAge {
			// Sending it now could count it twice: the writer may have
			// pruned its key.
			v.log.Error("view batch undelivered for too long; dropping it unsent",
				zap.Int("ranges", b.Ranges), zap.Int64("views", b.Views), zap.Time("created", b.Created),
				zap.Int("attempts", b.attempts), zap.Bool("spooled", b.file != ""))
			v.dropped.Add(int64(b.Ranges))
			v.batches.dropped.Add(1)
			v.settle(b)
			continue
		}
		if !all && now.Before(b.next) {
			continue
		}
		err := v.send(ctx, b)
		var status *statusError
		isStatus := errors.As(err, &status)
		switch {
		case err == nil:
			v.batches.sent.Add(1)
			v.settle(b)
		case isStatus && status.refused():
			v.log.Error("writer refused a view batch; dropping it", zap.Int("status", status.status),
				zap.String("body", status.body), zap.Int("ranges", b.Ranges), zap.Int64("views", b.Views))
			v.dropped.Add(int64(b.Ranges))
			v.batches.dropped.Add(1)
			v.settle(b)
		default:
			v.batches.failed.Add(1)
			if isStatus && status.token() && (v.tokenAlarm.IsZero() || now.Sub(v.tokenAlarm) >= tokenAlarmEvery) {
				v.tokenAlarm = now
				v.log.Error("writer refused this reader's INTERNAL_TOKEN: reader and writer must share one; keeping the views to retry",
					zap.Int("status", status.status), zap.String("body", status.body), zap.Bool("token_set", v.token != ""))
			}
			b.attempts++
			// Full jitter keeps readers that lost the writer together from
			// coming back in step.
			wait := min(retryMax, retryBase<<min(b.attempts, 16))
			b.next = now.Add(time.Duration(rand.Int64N(int64(wait)) + 1))
			if first == nil {
				first = err
			}
		}
	}
	return first
}

// settle forgets a batch that needs no more attempts.
func (v *ViewCounter) settle(b *viewBatch) {
	v.mu.Lock()
	for i, p := range v.pending {
		if p == b {
			v.pending = append(v.pending[:i:i], v.pending[i+1:]...)
			v.nranges -= b.Ranges
			break
		}
	}
	v.mu.Unlock()
	if b.file != "" {
		if err := os.Remove(b.file); err != nil && !errors.Is(err, os.ErrNotExist) {
			v.log.Warn("could not remove a delivered spool file", zap.String("file", b.file), zap.Error(err))
		}
	}
}

// seal moves the current counts into pending batches. A hit racing with
// it lands either in this flush (the Swap sees it) or in the next (the page
// is listed again); never in both, never in none.
func (v *ViewCounter) seal() {
	v.mu.Lock()
	pages := v.pages
	v.pages = nil
	v.mu.Unlock()
	if len(pages) == 0 {
		return
	}
	counts := make(map[View]int64, len(pages))
	for _, h := range pages {
		h.listed.Store(false)
		if n := h.n.Swap(0); n > 0 {
			for _, view := range h.views {
				counts[view] += n
			}
		}
	}
	ranges := make([]comment.ViewRange, 0, len(counts))
	for view, n := range counts {
		first, err1 := comment.ParsePath(view.First)
		last, err2 := comment.ParsePath(view.Last)
		if err1 != nil || err2 != nil {
			continue // cannot happen: the paths were rendered by us
		}
		// A range counts at most MaxViewCount responses; more (a billion
		// GETs of one page within one flush) take several ranges.
		for n > 0 {
			c := min(n, comment.MaxViewCount)
			ranges = append(ranges, comment.ViewRange{Topic: view.Topic, First: first, Last: last, MaxID: view.MaxID, Count: c})
			n -= c
		}
	}
	batches := splitBatches(ranges)
	now := v.now()
	var files []string // of dropped spooled batches
	v.mu.Lock()
	for _, b := range batches {
		v.seq++
		b.Key = "views-" + v.instance + "-" + strconv.FormatInt(v.seq, 10)
		b.Created = now
		v.pending = append(v.pending, b)
		v.nranges += b.Ranges
	}
	for v.nranges > v.maxPending && len(v.pending) > 1 {
		dropped := v.pending[0]
		v.pending = v.pending[1:]
		v.nranges -= dropped.Ranges
		v.dropped.Add(int64(dropped.Ranges))
		v.batches.dropped.Add(1)
		if dropped.file != "" {
			files = append(files, dropped.file)
		}
		v.log.Warn("view buffer full while the writer is unreachable; dropped the oldest batch",
			zap.Int("ranges", dropped.Ranges), zap.Int64("views", dropped.Views), zap.Int64("dropped_total", v.dropped.Load()),
			zap.Bool("spooled", dropped.file != ""))
	}
	v.mu.Unlock()
	for _, f := range files {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			v.log.Warn("could not remove a dropped batch's spool file", zap.String("file", f), zap.Error(err))
		}
	}
}

// splitBatches encodes ranges into batch bodies of at most
// comment.MaxViewRanges ranges and comment.MaxViewBatchBytes bytes each, the
// writer's limits on /internal/views. Each range is encoded once; a body is
// exactly what json.Marshal makes of a comment.Views. A range is far smaller
// than the byte limit, but one over it would still go, alone.
func splitBatches(ranges []comment.ViewRange) []*viewBatch {
	const head, tail = `{"ranges":[`, `]}`
	var out []*viewBatch
	var cur *viewBatch
	for _, r := range ranges {
		enc, err := json.Marshal(r)
		if err != nil {
			continue // cannot happen: ids and paths always encode
		}
		if cur != nil && (cur.Ranges == comment.MaxViewRanges || len(cur.Body)+1+len(enc)+len(tail) > comment.MaxViewBatchBytes) {
			cur.Body = append(cur.Body, tail...)
			cur = nil
		}
		if cur == nil {
			cur = &viewBatch{Body: append(make([]byte, 0, 64<<10), head...)}
			out = append(out, cur)
		} else {
			cur.Body = append(cur.Body, ',')
		}
		cur.Body = append(cur.Body, enc...)
		cur.Ranges++
		cur.Views += r.Count
	}
	if cur != nil {
		cur.Body = append(cur.Body, tail...)
	}
	return out
}

// statusError is a writer's answer other than 200.
type statusError struct {
	status int
	body   string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("writer answered %d: %s", e.status, e.body)
}

// refused reports whether the writer will never take the batch: a 4xx
// other than 401 and 403 (INTERNAL_TOKEN disagrees, which an operator
// fixes), 408 (the body was slow) and 429. Retrying it would change
// nothing.
func (e *statusError) refused() bool {
	switch e.status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestTimeout, http.StatusTooManyRequests:
		return false
	}
	return e.status >= 400 && e.status < 500
}

// token reports whether the writer refused the reader's INTERNAL_TOKEN.
func (e *statusError) token() bool {
	return e.status == http.StatusUnauthorized || e.status == http.StatusForbidden
}

func (v *ViewCounter) send(ctx context.Context, b *viewBatch) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.url, bytes.NewReader(b.Body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", b.Key)
	if v.token != "" {
		req.Header.Set("Authorization", "Bearer "+v.token)
	}
	res, err := v.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
	if res.StatusCode == http.StatusOK {
		return nil
	}
	return &statusError{status: res.StatusCode, body: string(msg)}
}

// run flushes every interval until ctx ends.
func (v *ViewCounter) run(ctx context.Context, interval time.Duration) {
	trouble := platform.NewTrouble(v.log, "view flush failed; keeping the views to retry", "view flush recovered")
	platform.Every(ctx, interval, func() {
		err := v.Flush(ctx)
		if ctx.Err() == nil {
			trouble.Report(err, zap.Int("pending_ranges", v.Pending()))
		}
	})
}

// Close delivers what is buffered at a graceful stop: it keeps sending
// until everything is settled or ctx (the stop's grace period) is nearly
// over, then spools what is left, or, without a spool directory, says in
// the log how much is lost.
func (v *ViewCounter) Close(ctx context.Context) {
	v.sendMu.Lock()
	defer v.sendMu.Unlock()
	// Keep a share of the grace period for writing the spool.
	sendCtx := ctx
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		sendCtx, cancel = context.WithDeadline(ctx, deadline.Add(-time.Until(deadline)/4))
		defer cancel()
	}
	err := v.flush(sendCtx, true)
	for err != nil && sendCtx.Err() == nil {
		// Wait a little between rounds, or the grace period is spent in a
		// tight loop against a writer that is down.
		select {
		case <-sendCtx.Done():
		case <-time.After(retryBase):
		}
		err = v.flush(sendCtx, true)
	}
	v.mu.Lock()
	left := v.pending
	v.mu.Unlock()
	if len(left) == 0 {
		return
	}
	var ranges int
	var views int64
	for _, b := range left {
		ranges += b.Ranges
		views += b.Views
	}
	if v.spool == "" {
		v.log.Error("views lost at shutdown: the writer could not be reached and VIEW_SPOOL_DIR is not set",
			zap.Int("batches", len(left)), zap.Int("ranges", ranges), zap.Int64("views", views), zap.Error(err))
		return
	}
	spooled := 0
	for _, b := range left {
		if werr := v.spoolBatch(b); werr != nil {
			v.log.Error("views lost at shutdown: could not spool a batch", zap.Int("ranges", b.Ranges),
				zap.Int64("views", b.Views), zap.Error(werr))
			continue
		}
		spooled++
	}
	v.log.Warn("views spooled at shutdown for the next reader", zap.String("dir", v.spool),
		zap.Int("batches", spooled), zap.Int("ranges", ranges), zap.Int64("views", views))
}
