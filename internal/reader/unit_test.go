package reader

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/parley/parley/internal/clocktest"
	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
)

func TestParseTime(t *testing.T) {
	cases := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-11-22T23:19:36.123Z", time.Date(2026, 11, 22, 23, 19, 36, 123e6, time.UTC), true},
		{"2026-11-22T23:19:36Z", time.Date(2026, 11, 22, 23, 19, 36, 0, time.UTC), true},
		{"2026-11-23T00:19:36+01:00", time.Date(2026, 11, 22, 23, 19, 36, 0, time.UTC), true},
		{"1700000000", time.Unix(1700000000, 0), true},
		{"1700000000.25", time.Unix(1700000000, 25e7), true},
		{"0", time.Unix(0, 0), true},
		{"-1.5", time.Unix(-1, -5e8), true},
		{"", time.Time{}, false},
		{"1e9", time.Time{}, false},
		{"1700000000.", time.Time{}, false},
		{".5", time.Time{}, false},
		{"12345678901234", time.Time{}, false},
		{"2026-11-22", time.Time{}, false},
		{"2026-11-22 23:19:36Z", time.Time{}, false},
		{"NaN", time.Time{}, false},
		{"+5", time.Time{}, false},
	}
	for _, tc := range cases {
		got, err := ParseTime(tc.in)
		if (err == nil) != tc.ok || (tc.ok && !got.Equal(tc.want)) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2026-11-22T23:19:36.123Z", "1700000000.25", "-1", "x", "1.0000000001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseTime(s)
		if err != nil {
			if !errors.Is(err, errs.Invalid) {
				t.Fatalf("%q: error of kind %v", s, err)
			}
			return
		}
		// Millisecond bounds are consistent: floor ≤ t ≤ ceil, one apart at most.
		lo, hi := floorMilli(tm), ceilMilli(tm)
		if lo > hi || hi-lo > 1 || time.UnixMilli(lo).After(tm) || time.UnixMilli(hi).Before(tm) {
			t.Fatalf("%q = %v: floor %d ceil %d", s, tm, lo, hi)
		}
	})
}

// TestViewCounterBound: while the writer refuses, batches pile up to the
// bound, the oldest go first, and the rest are sent once it is back.
func TestViewCounterBound(t *testing.T) {
	var up atomic.Bool
	var got atomic.Int64
	keys := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var body comment.Views
		_ = json.NewDecoder(r.Body).Decode(&body)
		keys[r.Header.Get("Idempotency-Key")] = true
		for _, rg := range body.Ranges {
			got.Add(rg.Count)
		}
	}))
	defer srv.Close()
	v := newTestCounter(t, ViewCounterConfig{WriterURL: srv.URL, MaxPending: 3})
	clk := clocktest.New(t0)
	v.now = clk.Now
	topic := comment.NewTopicID()
	ctx := context.Background()
	for i := range 5 { // five flushes of one range each; room for three
		page := TopicPage{hits: &pageHits{views: []View{{Topic: topic, First: "0", Last: "0", MaxID: int32(i)}}}}
		v.Record(page)
		v.Record(page)
		if err := v.Flush(ctx); err == nil {
			t.Fatal("flush to a refusing writer succeeded")
		}
	}
	if p := v.Pending(); p != 3 {
		t.Fatalf("%d ranges pending, want the bound of 3", p)
	}
	up.Store(true)
	clk.Advance(retryMax) // past every batch's backoff
	if err := v.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got.Load() != 6 || len(keys) != 3 || v.Pending() != 0 {
		t.Fatalf("writer got %d views in %d batches, %d pending; want 6 in 3, 0", got.Load(), len(keys), v.Pending())
	}
	if v.dropped.Load() != 2 {
		t.Fatalf("dropped %d ranges, want 2", v.dropped.Load())
	}
	if !strings.HasPrefix(v.url, srv.URL) {
		t.Fatal(v.url)
	}
}

// newTestCounter is a ViewCounter for unit tests.
func newTestCounter(t *testing.T, cfg ViewCounterConfig) *ViewCounter {
	t.Helper()
	v, err := NewViewCounter(cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// viewWriter is a fake writer's /internal/views: it answers each batch by
// the first range's max_id (status[maxID], 200 when absent) and records the
// keys of the batches it took (with their views, once per key) and how
// often each batch was tried.
type viewWriter struct {
	mu     sync.Mutex
	status map[int32]int
	took   map[string]int64 // key → views, of the batches answered 200
	tries  map[int32]int
	auth   []string
}

func (w *viewWriter) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	var body comment.Views
	_ = json.NewDecoder(r.Body).Decode(&body)
	w.mu.Lock()
	defer w.mu.Unlock()
	id := body.Ranges[0].MaxID
	w.tries[id]++
	w.auth = append(w.auth, r.Header.Get("Authorization"))
	code := w.status[id]
	if code == 0 {
		code = http.StatusOK
	}
	if code == http.StatusOK {
		// As the writer does, a key seen before is answered again and counts
		// nothing more.
		var n int64
		for _, rg := range body.Ranges {
			n += rg.Count
		}
		w.took[r.Header.Get("Idempotency-Key")] = n
	}
	rw.WriteHeader(code)
}

func newViewWriter(status map[int32]int) *viewWriter {
	return &viewWriter{status: status, took: map[string]int64{}, tries: map[int32]int{}}
}

// record counts n responses of the page of topic with newest id maxID,
// then seals them into a batch of its own.
func record(v *ViewCounter, topic comment.TopicID, maxID int32, n int) {
	page := TopicPage{hits: &pageHits{views: []View{{Topic: topic, First: "0", Last: "0", MaxID: maxID}}}}
	for range n {
		v.Record(page)
	}
	v.seal()
}

// TestViewBatchesIndependent: a batch the writer refuses is dropped and
// counted, one that fails is retried with backoff under its own key, and
// neither holds up the others (SPEC §9).
func TestViewBatchesIndependent(t *testing.T) {
	w := newViewWriter(map[int32]int{1: http.StatusBadRequest, 2: http.StatusInternalServerError})
	srv := httptest.NewServer(w)
	defer srv.Close()
	v := newTestCounter(t, ViewCounterConfig{WriterURL: srv.URL, Token: "secret-token-0123456789", MaxPending: 100})
	clk := clocktest.New(t0)
	v.now = clk.Now
	topic := comment.NewTopicID()
	ctx := context.Background()
	record(v, topic, 1, 3) // refused: dropped
	record(v, topic, 2, 5) // fails: retried
	record(v, topic, 3, 7) // taken, although behind both
	if err := v.Flush(ctx); err == nil {
		t.Fatal("a flush with a failing batch reported no error")
	}
	if len(w.took) != 1 || v.Dropped() != 1 || v.Pending() != 1 {
		t.Fatalf("after one flush: writer took %v, %d ranges dropped, %d pending; want the third batch taken, the first dropped, the second pending",
			w.took, v.Dropped(), v.Pending())
	}
	// Within its backoff the failing batch is not tried again; new batches
	// still go.
	record(v, topic, 4, 1)
	_ = v.Flush(ctx)
	if w.tries[2] != 1 || w.tries[4] != 1 {
		t.Fatalf("tries %v: the failing batch was retried within its backoff, or the new one not sent", w.tries)
	}
	// Past it, it is tried again under the same key; once the writer takes
	// it, it is counted once.
	w.mu.Lock()
	w.status[2] = http.StatusOK
	w.mu.Unlock()
	clk.Advance(retryMax)
	if err := v.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, n := range w.took {
		total += n
	}
	if w.tries[2] != 2 || len(w.took) != 3 || total != 5+7+1 || v.Pending() != 0 || w.tries[1] != 1 {
		t.Fatalf("tries %v, took %v (%d views), %d pending", w.tries, w.took, total, v.Pending())
	}
	for _, a := range w.auth {
		if a != "Bearer secret-token-0123456789" {
			t.Fatalf("a batch went with Authorization %q", a)
		}
	}
	// A batch older than the writer keeps its key for is given up.
	w.mu.Lock()
	w.status[5] = http.StatusServiceUnavailable
	w.mu.Unlock()
	record(v, topic, 5, 1)
	_ = v.Flush(ctx)
	clk.Advance(maxBatchAge + time.Minute)
	_ = v.Flush(ctx)
	if v.Pending() != 0 || v.Dropped() != 2 {
		t.Fatalf("an undeliverable old batch: %d pending, %d dropped", v.Pending(), v.Dropped())
	}
}

// TestViewSpool: what a stopping reader cannot deliver goes to the spool
// directory, and the next reader started with it delivers it, under the
// same keys, exactly once.
func TestViewSpool(t *testing.T) {
	dir := t.TempDir()
	down := newViewWriter(map[int32]int{1: http.StatusServiceUnavailable, 2: http.StatusServiceUnavailable, 3: http.StatusServiceUnavailable})
	srvDown := httptest.NewServer(down)
	defer srvDown.Close()
	v := newTestCounter(t, ViewCounterConfig{WriterURL: srvDown.URL, MaxPending: 100, SpoolDir: dir})
	topic := comment.NewTopicID()
	record(v, topic, 1, 40)
	record(v, topic, 2, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	v.Close(ctx)
	cancel()
	files, _ := filepath.Glob(filepath.Join(dir, "*"+spoolSuffix))
	if len(files) != 2 || down.tries[1] < 2 {
		t.Fatalf("%d spool files after %d attempts at the first batch; want 2 files, and attempts within the grace period", len(files), down.tries[1])
	}

	up := newViewWriter(nil)
	srvUp := httptest.NewServer(up)
	defer srvUp.Close()
	// Two readers start on the spool at once: each takes both batches, the
	// keys let the writer count each once.
	next := newTestCounter(t, ViewCounterConfig{WriterURL: srvUp.URL, MaxPending: 100, SpoolDir: dir})
	other := newTestCounter(t, ViewCounterConfig{WriterURL: srvUp.URL, MaxPending: 100, SpoolDir: dir})
	if next.Pending() != 2 || other.Pending() != 2 {
		t.Fatalf("pending after start: %d and %d, want the 2 spooled ranges each", next.Pending(), other.Pending())
	}
	for _, c := range []*ViewCounter{next, other} {
		if err := c.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(up.took) != 2 || up.took[keyOf(t, files, 0)]+up.took[keyOf(t, files, 1)] != 42 {
		t.Fatalf("writer took %v; want the two spooled batches, 42 views, by their keys", up.took)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Fatalf("spool files left after delivery: %v", left)
	}
	// Without a spool directory the loss is logged, with how many views.
	core, logs := observer.New(zap.InfoLevel)
	lost, err := NewViewCounter(ViewCounterConfig{WriterURL: srvDown.URL, MaxPending: 100}, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	record(lost, topic, 3, 7)
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	lost.Close(ctx)
	cancel()
	lines := logs.FilterMessageSnippet("views lost at shutdown").All()
	if len(lines) != 1 || lines[0].ContextMap()["views"] != int64(7) || lines[0].ContextMap()["ranges"] != int64(1) {
		t.Fatalf("log of the loss: %+v; want one line saying 7 views in 1 range", lines)
	}
}

// keyOf is the key of the i-th spool file.
func keyOf(t *testing.T, files []string, i int) string {
	t.Helper()
	return strings.TrimSuffix(filepath.Base(files[i]), spoolSuffix)
}

// TestViewCounterConcurrentExact: hits racing with flushes are each counted
// exactly once.
func TestViewCounterConcurrentExact(t *testing.T) {
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body comment.Views
		_ = json.NewDecoder(r.Body).Decode(&body)
		for _, rg := range body.Ranges {
			got.Add(rg.Count)
		}
	}))
	defer srv.Close()
	v := newTestCounter(t, ViewCounterConfig{WriterURL: srv.URL, MaxPending: 1 << 20})
	pages := make([]TopicPage, 5)
	for i := range pages {
		pages[i] = TopicPage{hits: &pageHits{views: []View{{Topic: comment.NewTopicID(), First: "0", Last: "0", MaxID: int32(i)}}}}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 20 {
			_ = v.Flush(context.Background())
		}
	}()
	const workers, each = 8, 5000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				v.Record(pages[(w+i)%len(pages)])
			}
		}()
	}
	wg.Wait()
	<-done
	if err := v.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got.Load() != workers*each {
		t.Fatalf("counted %d views of %d", got.Load(), workers*each)
	}
}

// deepView is a page view whose paths are long, so that its range takes a
// few hundred bytes in a batch.
func deepView(topic comment.TopicID, maxID int32) View {
	var b strings.Builder
	b.WriteString("0")
	for i := range 20 {
		b.WriteString("/" + strconv.Itoa(1_000_000_000+i))
	}
	return View{Topic: topic, First: b.String(), Last: b.String(), MaxID: maxID}
}

// TestViewBatchesSplitBySize: a flush of many ranges is split into batches
// whose bodies fit the writer's /internal/views limit
// (comment.MaxViewBatchBytes), although each holds fewer than
// comment.MaxViewRanges ranges; every view is delivered, none dropped.
func TestViewBatchesSplitBySize(t *testing.T) {
	var mu sync.Mutex
	var got int64
	var batches int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		if len(raw) > comment.MaxViewBatchBytes {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		var body comment.Views
		if err := json.Unmarshal(raw, &body); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		batches++
		for _, rg := range body.Ranges {
			got += rg.Count
		}
	}))
	defer srv.Close()
	v := newTestCounter(t, ViewCounterConfig{WriterURL: srv.URL, MaxPending: 1 << 20})
	topic := comment.NewTopicID()
	const n = 6000 // ~300 bytes each: ~1.8 MB, well under MaxViewRanges
	for i := range n {
		v.Record(TopicPage{hits: &pageHits{views: []View{deepView(topic, int32(1000+i))}}})
	}
	v.seal()
	v.mu.Lock()
	for _, b := range v.pending {
		var body comment.Views
		if len(b.Body) > comment.MaxViewBatchBytes || json.Unmarshal(b.Body, &body) != nil || len(body.Ranges) != b.Ranges {
			t.Errorf("a batch of %d ranges takes %d bytes (limit %d)", b.Ranges, len(b.Body), comment.MaxViewBatchBytes)
		}
	}
	v.mu.Unlock()
	if err := v.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got != n || v.Dropped() != 0 || v.Pending() != 0 || batches < 2 {
		t.Fatalf("writer got %d views in %d batches, %d dropped, %d pending; want %d in at least 2, none dropped",
			got, batches, v.Dropped(), v.Pending(), n)
	}
}

// TestViewTransientStatuses: 401, 403, 408 and 429 are kept and retried
// (401/403 logged as an INTERNAL_TOKEN mismatch); other 4xx are dropped.
func TestViewTransientStatuses(t *testing.T) {
	w := newViewWriter(map[int32]int{
		1: http.StatusUnauthorized, 2: http.StatusForbidden, 3: http.StatusRequestTimeout, 4: http.StatusTooManyRequests,
		5: http.StatusBadRequest, 6: http.StatusNotFound, 7: http.StatusRequestEntityTooLarge,
	})
	srv := httptest.NewServer(w)
	defer srv.Close()
	core, logs := observer.New(zap.InfoLevel)
	v, err := NewViewCounter(ViewCounterConfig{WriterURL: srv.URL, MaxPending: 100}, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	clk := clocktest.New(t0)
	v.now = clk.Now
	topic := comment.NewTopicID()
	for id := int32(1); id <= 7; id++ {
		record(v, topic, id, 1)
	}
	if err := v.Flush(context.Background()); err == nil {
		t.Fatal("a flush with transient failures reported no error")
	}
	if v.Pending() != 4 || v.Dropped() != 3 {
		t.Fatalf("%d pending, %d dropped; want the 401, 403, 408 and 429 batches kept, the other three dropped", v.Pending(), v.Dropped())
	}
	token := logs.FilterMessageSnippet("INTERNAL_TOKEN").FilterLevelExact(zap.ErrorLevel).All()
	if len(token) == 0 {
		t.Fatalf("a 401/403 was not logged as an error naming INTERNAL_TOKEN: %v", logs.All())
	}
	// Once the writer takes them, they are delivered under their keys.
	w.mu.Lock()
	for id := int32(1); id <= 4; id++ {
		w.status[id] = http.StatusOK
	}
	w.mu.Unlock()
	clk.Advance(retryMax)
	if err := v.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v.Pending() != 0 || v.Dropped() != 3 || len(w.took) != 4 {
		t.Fatalf("%d pending, %d dropped, writer took %v", v.Pending(), v.Dropped(), w.took)
	}
}

// TestViewOldBatchNotSent: a batch older than maxBatchAge is dropped before
// it is sent (the writer may have pruned its key), whether it was kept in
// memory or spooled by an earlier reader.
func TestViewOldBatchNotSent(t *testing.T) {
	dir := t.TempDir()
	w := newViewWriter(map[int32]int{1: http.StatusServiceUnavailable})
	srv := httptest.NewServer(w)
	defer srv.Close()
	core, logs := observer.New(zap.InfoLevel)
	v, err := NewViewCounter(ViewCounterConfig{WriterURL: srv.URL, MaxPending: 100, SpoolDir: dir}, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	clk := clocktest.New(t0)
	v.now = clk.Now
	topic := comment.NewTopicID()
	record(v, topic, 1, 3) // fails once, then is too old
	_ = v.Flush(context.Background())
	record(v, topic, 2, 4) // never tried until too old
	v.mu.Lock()
	second := v.pending[len(v.pending)-1]
	v.pending = v.pending[:len(v.pending)-1]
	v.nranges -= second.Ranges
	v.mu.Unlock()
	// The second batch goes to the spool, as at a stop, and is taken by the
	// next reader long after it was made.
	if err := v.spoolBatch(second); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	w.status[1] = http.StatusOK
	w.mu.Unlock()
	clk.Advance(maxBatchAge + time.Minute)
	if err := v.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	next, err := NewViewCounter(ViewCounterConfig{WriterURL: srv.URL, MaxPending: 100, SpoolDir: dir}, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	next.now = clk.Now
	if next.Pending() != 1 {
		t.Fatalf("%d ranges taken from the spool, want 1", next.Pending())
	}
	if err := next.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w.tries[1] != 1 || w.tries[2] != 0 || len(w.took) != 0 {
		t.Fatalf("tries %v, writer took %v: a batch older than %v was sent", w.tries, w.took, maxBatchAge)
	}
	if v.Pending() != 0 || v.Dropped() != 1 || next.Pending() != 0 || next.Dropped() != 1 {
		t.Fatalf("pending %d and %d, dropped %d and %d; want each old batch dropped", v.Pending(), next.Pending(), v.Dropped(), next.Dropped())
	}
	if n := logs.FilterMessageSnippet("too long").Len(); n != 2 {
		t.Fatalf("%d log lines about old batches, want 2", n)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Fatalf("the dropped batch's spool file is left: %v", left)
	}
}

// TestViewSpoolHousekeeping: a start removes stale partial files; a spooled
// batch's directory entry is synced after its rename; spooled batches
// dropped beyond VIEW_PENDING_MAX lose their files.
func TestViewSpoolHousekeeping(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, ".partial-123")
	fresh := filepath.Join(dir, ".partial-456")
	for _, f := range []string{stale, fresh} {
		if err := os.WriteFile(f, []byte(`{"key":`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}

	var synced []string
	down := newViewWriter(map[int32]int{1: http.StatusServiceUnavailable, 2: http.StatusServiceUnavailable, 3: http.StatusServiceUnavailable})
	srv := httptest.NewServer(down)
	defer srv.Close()
	v := newTestCounter(t, ViewCounterConfig{WriterURL: srv.URL, MaxPending: 100, SpoolDir: dir})
	v.syncDir = func(d string) error {
		files, _ := filepath.Glob(filepath.Join(d, "*"+spoolSuffix))
		synced = append(synced, fmt.Sprintf("%s:%d", d, len(files)))
		return nil
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("a stale partial file survived the start: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Fatalf("a partial file being written by another reader was removed: %v", err)
	}
	topic := comment.NewTopicID()
	record(v, topic, 1, 1)
	record(v, topic, 2, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	v.Close(ctx)
	cancel()
	if want := []string{dir + ":1", dir + ":2"}; fmt.Sprint(synced) != fmt.Sprint(want) {
		t.Fatalf("spool directory synced as %v, want once after each rename: %v", synced, want)
	}

	// A reader with room for one range takes both files; new views push
	// the spooled batches out, and their files go with them.
	next := newTestCounter(t, ViewCounterConfig{WriterURL: srv.URL, MaxPending: 1, SpoolDir: dir})
	if next.Pending() != 2 {
		t.Fatalf("%d ranges taken from the spool, want 2", next.Pending())
	}
	record(next, topic, 3, 1)
	if next.Pending() != 1 || next.Dropped() != 2 {
		t.Fatalf("%d pending, %d dropped; want the two spooled batches dropped", next.Pending(), next.Dropped())
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*"+spoolSuffix)); len(left) != 0 {
		t.Fatalf("spool files of dropped batches are left: %v", left)
	}
}
