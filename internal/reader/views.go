package reader

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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
// Each batch is sent with its own Idempotency-Key; a batch the writer did
// not confirm is sent again, with the same key, so a lost answer never
// counts a view twice. Unconfirmed batches are kept up to maxPending ranges;
// past that the oldest are dropped (and counted in the log).
type ViewCounter struct {
	url        string
	client     *http.Client
	log        *zap.Logger
	instance   string
	maxPending int

	mu      sync.Mutex
	pages   []*pageHits // pages with hits since the last flush
	seq     int64
	pending []viewBatch // unconfirmed, oldest first
	nranges int         // ranges in pending

	sendMu  sync.Mutex // one flush at a time
	dropped atomic.Int64
	flushes atomic.Int64 // Flush calls that returned
	failed  atomic.Int64 // of those, the ones that returned an error
}

type viewBatch struct {
	key    string
	body   []byte
	ranges int
}

// NewViewCounter returns a counter that flushes to writerURL.
func NewViewCounter(writerURL string, maxPending int, log *zap.Logger) *ViewCounter {
	var id [6]byte
	_, _ = rand.Read(id[:])
	return &ViewCounter{
		url:        writerURL + "/internal/views",
		client:     &http.Client{Timeout: 5 * time.Second},
		log:        log,
		instance:   hex.EncodeToString(id[:]),
		maxPending: maxPending,
	}
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

// Flush turns the counts into batches and sends every unconfirmed batch in
// order, stopping at the first failure.
func (v *ViewCounter) Flush(ctx context.Context) error {
	v.sendMu.Lock()
	defer v.sendMu.Unlock()
	err := v.flush(ctx)
	if err != nil {
		v.failed.Add(1)
	}
	v.flushes.Add(1)
	return err
}

// flush is Flush, under sendMu.
func (v *ViewCounter) flush(ctx context.Context) error {
	v.seal()
	for {
		v.mu.Lock()
		if len(v.pending) == 0 {
			v.mu.Unlock()
			return nil
		}
		b := v.pending[0]
		v.mu.Unlock()
		if err := v.send(ctx, b); err != nil {
			return err
		}
		v.mu.Lock()
		v.pending = v.pending[1:]
		v.nranges -= b.ranges
		v.mu.Unlock()
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
			counts[h.view] += n
		}
	}
	ranges := make([]comment.ViewRange, 0, len(counts))
	for view, n := range counts {
		first, err1 := comment.ParsePath(view.First)
		last, err2 := comment.ParsePath(view.Last)
		if err1 != nil || err2 != nil {
			continue // cannot happen: the paths were rendered by us
		}
		ranges = append(ranges, comment.ViewRange{Topic: view.Topic, First: first, Last: last, MaxID: view.MaxID, Count: n})
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for len(ranges) > 0 {
		k := min(len(ranges), comment.MaxViewRanges)
		body, _ := json.Marshal(comment.Views{Ranges: ranges[:k]})
		v.seq++
		v.pending = append(v.pending, viewBatch{key: "views-" + v.instance + "-" + strconv.FormatInt(v.seq, 10), body: body, ranges: k})
		v.nranges += k
		ranges = ranges[k:]
	}
	for v.nranges > v.maxPending && len(v.pending) > 1 {
		dropped := v.pending[0]
		v.pending = v.pending[1:]
		v.nranges -= dropped.ranges
		v.dropped.Add(int64(dropped.ranges))
		v.log.Warn("view buffer full while the writer is unreachable; dropped the oldest batch",
			zap.Int("ranges", dropped.ranges), zap.Int64("dropped_total", v.dropped.Load()))
	}
}

func (v *ViewCounter) send(ctx context.Context, b viewBatch) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.url, bytes.NewReader(b.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", b.key)
	res, err := v.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
	switch {
	case res.StatusCode == http.StatusOK:
		return nil
	case res.StatusCode >= 400 && res.StatusCode < 500 && res.StatusCode != http.StatusTooManyRequests:
		// The writer will never take this batch; keeping it would block
		// every later one.
		v.log.Error("writer refused a view batch; dropping it", zap.Int("status", res.StatusCode),
			zap.ByteString("body", msg), zap.Int("ranges", b.ranges))
		v.dropped.Add(int64(b.ranges))
		return nil
	}
	return fmt.Errorf("writer answered %d: %s", res.StatusCode, msg)
}

// run flushes every interval until ctx ends.
func (v *ViewCounter) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	trouble := platform.NewTrouble(v.log, "view flush failed; keeping the views to retry", "view flush recovered")
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := v.Flush(ctx)
		if ctx.Err() == nil {
			trouble.Report(err, zap.Int("pending_ranges", v.Pending()))
		}
	}
}
