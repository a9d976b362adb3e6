package reader_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/parley/parley/internal/pgtest"
	"github.com/parley/parley/internal/procs"
	"github.com/parley/parley/internal/reader"
	"github.com/parley/parley/internal/stacktest"
)

// listenBackends counts the readers' LISTEN connections.
func listenBackends(t *testing.T, e env) int {
	t.Helper()
	var n int
	err := pgtest.Pool(t, e.db).QueryRow(context.Background(),
		`SELECT count(*) FROM pg_stat_activity WHERE application_name = 'parley-reader-listen' AND datname = current_database()`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestNotifyWakesAndListenReconnects: with polling all but off, writes
// arrive through notifications; when the listening connection is killed,
// the reader reconnects, catches up what it missed, and listens again.
func TestNotifyWakesAndListenReconnects(t *testing.T) {
	e := newEnv(t)
	r := e.reader(t, func(c *reader.Config) { c.RefreshInterval = time.Hour })
	r.WaitReady(t, 0)
	stacktest.Eventually(t, 10*time.Second, func() bool { return listenBackends(t, e) == 1 })

	c := stacktest.PostComment(t, e.writer, "", "", "ann", "one")
	r.WaitReady(t, c.Position)

	pool := pgtest.Pool(t, e.db)
	_, err := pool.Exec(context.Background(),
		`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'parley-reader-listen' AND datname = current_database()`)
	if err != nil {
		t.Fatal(err)
	}
	// Written while the listener is down or reconnecting: the reconnect's
	// catch-up brings it; the hourly poll never would.
	c2 := stacktest.PostComment(t, e.writer, c.Topic, "0", "bob", "two")
	r.WaitReady(t, c2.Position)
	stacktest.Eventually(t, 10*time.Second, func() bool { return listenBackends(t, e) == 1 })
	c3 := stacktest.PostComment(t, e.writer, c.Topic, "0", "bob", "three")
	r.WaitReady(t, c3.Position)
}

// TestPollingWithoutNotify: REFRESH_NOTIFY=false opens no LISTEN
// connection, and the poll alone brings writes.
func TestPollingWithoutNotify(t *testing.T) {
	e := newEnv(t)
	r := e.reader(t, func(c *reader.Config) {
		c.RefreshNotify = false
		c.RefreshInterval = 50 * time.Millisecond
	})
	c := stacktest.PostComment(t, e.writer, "", "", "ann", "one")
	r.WaitReady(t, c.Position)
	if n := listenBackends(t, e); n != 0 {
		t.Fatalf("%d LISTEN connections with REFRESH_NOTIFY=false", n)
	}
}

// TestReadinessAndStorageLoss: a reader that cannot reach Postgres is not
// ready and answers 503 until it has loaded; once loaded it keeps serving
// from memory when Postgres goes away, and /readyz turns 503 after
// MAX_STALENESS, then 200 again when Postgres is back.
func TestReadinessAndStorageLoss(t *testing.T) {
	e := newEnv(t)
	c := stacktest.PostComment(t, e.writer, "", "", "ann", "one")
	proxy := pgtest.NewProxy(t, e.db)
	proxy.Set(pgtest.ProxyDown)
	cfg := stacktest.ReaderConfig(t, proxy.URL("parley"), e.writer)
	cfg.Store.ConnectTimeout = 200 * time.Millisecond
	cfg.Store.StatementTimeout = 200 * time.Millisecond
	cfg.MaxStaleness = 500 * time.Millisecond
	cfg.RefreshInterval = 50 * time.Millisecond
	r := stacktest.StartReader(t, cfg)

	for _, u := range []string{"/readyz", "/last_topics", "/topic_comments?topic_id=" + c.Topic} {
		res := stacktest.Get(t, r.Base+u)
		if res.Status != http.StatusServiceUnavailable || !strings.Contains(string(res.Body), "loading") {
			t.Fatalf("%s before the snapshot: %d %s", u, res.Status, res.Body)
		}
	}
	if res := stacktest.Get(t, r.Base+"/healthz"); res.Status != 200 {
		t.Fatalf("healthz: %d", res.Status)
	}
	proxy.Set(pgtest.ProxyUp)
	stacktest.Eventually(t, 20*time.Second, func() bool { return stacktest.Get(t, r.Base+"/readyz").Status == 200 })

	proxy.Set(pgtest.ProxyDown)
	stacktest.Eventually(t, 10*time.Second, func() bool {
		res := stacktest.Get(t, r.Base+"/readyz")
		return res.Status == http.StatusServiceUnavailable && strings.Contains(string(res.Body), "stale")
	})
	if items, _ := getItems(t, r.Base+"/topic_comments?topic_id="+c.Topic); len(items) != 1 {
		t.Fatalf("serving from memory while Postgres is away: %+v", items)
	}
	proxy.Set(pgtest.ProxyUp)
	stacktest.Eventually(t, 20*time.Second, func() bool { return stacktest.Get(t, r.Base+"/readyz").Status == 200 })
	c2 := stacktest.PostComment(t, e.writer, c.Topic, "0", "bob", "two")
	r.WaitReady(t, c2.Position)
}

// flaky stands between a reader and the writer. While failing, it answers
// 503 without forwarding; while losing, it forwards to the writer and then
// answers 502, so the writer commits a batch whose answer is lost.
type flaky struct {
	failing, losing atomic.Bool
	forwarded       atomic.Int64 // requests forwarded whose answer was lost
	mu              sync.Mutex
	keys            map[string]int // Idempotency-Key → times it reached the writer
}

func (f *flaky) reached(r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.keys == nil {
		f.keys = map[string]int{}
	}
	f.keys[r.Header.Get("Idempotency-Key")]++
}

func (f *flaky) handler(t *testing.T, writer string) http.Handler {
	target, _ := url.Parse(writer)
	proxy := httputil.NewSingleHostReverseProxy(target)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case f.failing.Load():
			http.Error(w, `{"error":"writer away"}`, http.StatusServiceUnavailable)
		case f.losing.Load():
			f.reached(r)
			rec := httptest.NewRecorder()
			proxy.ServeHTTP(rec, r)
			f.forwarded.Add(1)
			_, _ = io.Copy(io.Discard, rec.Body)
			http.Error(w, `{"error":"answer lost"}`, http.StatusBadGateway)
		default:
			f.reached(r)
			proxy.ServeHTTP(w, r)
		}
	})
}

// TestViewsSurviveWriterTrouble: views are kept while the writer cannot be
// reached and sent when it is back; a batch whose answer was lost is sent
// again with the same Idempotency-Key and counted once.
func TestViewsSurviveWriterTrouble(t *testing.T) {
	e := newEnv(t)
	f := &flaky{}
	front := httptest.NewServer(f.handler(t, e.writer))
	defer front.Close()
	cfg := stacktest.ReaderConfig(t, e.db, front.URL)
	r := stacktest.StartReader(t, cfg)
	c := stacktest.PostComment(t, e.writer, "", "", "ann", "one")
	r.WaitReady(t, c.Position)

	f.failing.Store(true)
	for range 5 {
		getItems(t, topicURL(r.Base, c.Topic))
	}
	// Several failed flushes, the last two of them begun after the GETs, so
	// with every view sealed into a batch.
	failed := r.Views.Flushes().Failed
	stacktest.Eventually(t, 10*time.Second, func() bool { return r.Views.Flushes().Failed >= failed+3 })
	if n := r.Views.Pending(); n == 0 {
		t.Fatal("the reader dropped its views while the writer was away")
	}
	if head := e.head(t); head != c.Position {
		t.Fatalf("views reached the log while the writer was away: head %d, want %d", head, c.Position)
	}
	if r.Proj.Stats().Applied != c.Position {
		t.Fatal("views reached the log while the writer was away")
	}
	f.failing.Store(false)
	f.losing.Store(true)
	stacktest.Eventually(t, 10*time.Second, func() bool { return f.forwarded.Load() >= 2 })
	f.losing.Store(false)

	want := int64(5)
	stacktest.Eventually(t, 10*time.Second, func() bool {
		items, _ := getItems(t, r.Base+"/last_user_comments?user=ann")
		return items[0].Views == want
	})
	// Every batch confirmed (none left to send again), then all that reached
	// the log applied: the count is final.
	stacktest.Eventually(t, 10*time.Second, func() bool { return r.Views.Pending() == 0 })
	r.WaitReady(t, e.head(t))
	if items, _ := getItems(t, r.Base+"/last_user_comments?user=ann"); items[0].Views != want {
		t.Fatalf("views %d after retries, want %d: a retried batch counted twice", items[0].Views, want)
	}
	// The reader may have sealed the five views into one batch or, if a
	// flush fell between the GETs, into several; each batch, however often
	// it reached the writer, is one event.
	var batches int
	_ = pgtest.Pool(t, e.db).QueryRow(context.Background(), `SELECT count(*) FROM events WHERE kind = 'views'`).Scan(&batches)
	f.mu.Lock()
	defer f.mu.Unlock()
	resent := false
	for _, n := range f.keys {
		resent = resent || n > 1
	}
	if batches != len(f.keys) || !resent {
		t.Fatalf("%d view events for %d batches %v (a batch must have been sent again)", batches, len(f.keys), f.keys)
	}
}

// TestViewsSpooledAtStop: a reader stopped gracefully while the writer is
// away keeps trying within its grace period, then spools its views; the
// next reader started on the spool delivers them, each once (SPEC §9).
func TestViewsSpooledAtStop(t *testing.T) {
	e := newEnv(t)
	f := &flaky{}
	front := httptest.NewServer(f.handler(t, e.writer))
	defer front.Close()
	cfg := stacktest.ReaderConfig(t, e.db, front.URL)
	cfg.ViewSpoolDir = t.TempDir()
	r := stacktest.StartReader(t, cfg, fx.StopTimeout(time.Second))
	c := stacktest.PostComment(t, e.writer, "", "", "ann", "one")
	r.WaitReady(t, c.Position)

	f.failing.Store(true)
	const gets = 40
	for range gets {
		getItems(t, topicURL(r.Base, c.Topic))
	}
	r.Stop()
	spooled, _ := filepath.Glob(filepath.Join(cfg.ViewSpoolDir, "*"))
	if len(spooled) == 0 {
		t.Fatal("a reader stopped with the writer away spooled nothing")
	}
	if head := e.head(t); head != c.Position {
		t.Fatalf("views reached the log while the writer was away: head %d", head)
	}

	f.failing.Store(false)
	next := stacktest.StartReader(t, cfg)
	stacktest.Eventually(t, 10*time.Second, func() bool {
		left, _ := filepath.Glob(filepath.Join(cfg.ViewSpoolDir, "*"))
		return len(left) == 0
	})
	next.WaitReady(t, e.head(t))
	if items, _ := getItems(t, next.Base+"/last_user_comments?user=ann"); items[0].Views != gets {
		t.Fatalf("after the spool was delivered the root has %d views, want %d", items[0].Views, gets)
	}
}

// TestNotificationsCoalesce: a burst of commits, each notifying, costs a
// reader one read of the log per REFRESH_COALESCE, not one per commit, and
// the reader still ends up with every write.
func TestNotificationsCoalesce(t *testing.T) {
	e := newEnv(t)
	const gap = 100 * time.Millisecond
	metrics, err := procs.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	r := e.reader(t, func(c *reader.Config) {
		c.RefreshInterval = time.Hour
		c.RefreshCoalesce = gap
		c.MetricsAddr = metrics
	})
	r.WaitReady(t, 0)
	stacktest.Eventually(t, 10*time.Second, func() bool { return listenBackends(t, e) == 1 })
	before := refreshes(t, metrics)
	start := time.Now()
	c := stacktest.PostComment(t, e.writer, "", "", "ann", "root")
	var last int64
	const posts = 40
	for i := range posts { // one at a time: each its own commit and notification
		last = stacktest.PostComment(t, e.writer, c.Topic, "0", "bob", fmt.Sprint("reply ", i)).Position
	}
	r.WaitReady(t, last)
	elapsed := time.Since(start)
	n := refreshes(t, metrics) - before
	// Each refresh starts at least gap after the one before it.
	if limit := int(elapsed/gap) + 2; n > limit {
		t.Fatalf("%d refreshes for %d commits in %s, want at most %d", n, posts+1, elapsed, limit)
	}
	items, _ := getItems(t, topicURL(r.Base, c.Topic))
	if len(items) != posts+1 {
		t.Fatalf("%d comments shown, want %d", len(items), posts+1)
	}
}

// refreshes is how many refreshes a reader has timed, from its metrics.
func refreshes(t *testing.T, addr string) int {
	t.Helper()
	const name = "parley_reader_refresh_duration_seconds"
	fams := stacktest.Scrape(t, addr)
	if fams[name] == nil {
		t.Fatalf("no %s in the reader's metrics", name)
	}
	return int(stacktest.MetricValue(fams, name))
}
