package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley/parley/client"
	"github.com/parley/parley/internal/apitest"
	"github.com/parley/parley/internal/pgtest"
	"github.com/parley/parley/internal/stacktest"
	"github.com/parley/parley/internal/store"
)

// The phases of TestDrillPostgresStopped.
const (
	pgUp       int32 = iota // before the outage
	pgStopping              // pg_ctl stop -m fast is running
	pgDown                  // Postgres is stopped
	pgStarting              // pg_ctl start is running
	pgBack                  // Postgres is up again
)

// outage is how long TestDrillPostgresStopped keeps Postgres stopped.
const outage = 10 * time.Second

// TestDrillPostgresStopped (issue 11): Postgres is stopped (fast shutdown)
// for 10 s in the middle of a mixed load through nginx, then started again
// on the same socket. Meanwhile every GET is answered 200 from the readers'
// memory and every write attempt is answered 503 within 1 s; once Postgres
// is back the writer recovers by itself (nothing is restarted), and every
// comment acknowledged before, during or after the outage is on nginx and
// on each reader exactly once (parley verify).
//
// The cluster is the test's own (scripts/pg.sh): the shared one serves the
// other packages' tests meanwhile. MAX_STALENESS is 3 s so that the readers
// call themselves stale (/readyz 503) well within the outage: nginx does
// not look at readiness, and GETs must go on regardless.
func TestDrillPostgresStopped(t *testing.T) {
	pg := newPrivatePostgres(t)
	s := newStack(t, stackOpts{db: pg.url, env: []string{"MAX_STALENESS=3s"}})
	var phase atomic.Int32

	// Writes: 8 workers, each posting to 4 topics of its own at most every
	// 20 ms, through the Go client, which retries 503s under one
	// Idempotency-Key per comment for far longer than the outage.
	const workers, topicsPerWorker = 8, 4
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 64
	rec := &writeRecorder{next: apitest.Transport(t, transport), phase: &phase, statuses: map[int]int{}}
	c := client.New(s.nginx, client.WithHTTPClient(&http.Client{Transport: rec}),
		client.WithRetries(200, 50*time.Millisecond, 500*time.Millisecond), client.WithAttemptTimeout(5*time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var (
		mu       sync.Mutex
		acked    [pgBack + 1]int // by the phase the answer came in
		failed   int
		failures []string
		topics   = make([]ackedTopic, workers*topicsPerWorker)
		ids      []string  // topics every reader has, for the GETs
		firstAck time.Time // the first acknowledgement once Postgres is back
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopLoad()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				i := w*topicsPerWorker + n%topicsPerWorker
				content := fmt.Sprintf("pg drill topic %d comment %d", i, n/topicsPerWorker)
				nc := client.NewComment{TopicID: topics[i].TopicID, Content: content, User: "driller"}
				if nc.TopicID != "" {
					nc.ParentPath = "0"
				}
				posted, err := c.PostComment(ctx, nc)
				p := phase.Load()
				mu.Lock()
				if err != nil {
					failed++
					if len(failures) < 5 {
						failures = append(failures, err.Error())
					}
				} else {
					acked[p]++
					if p == pgBack && firstAck.IsZero() {
						firstAck = time.Now()
					}
					if topics[i].TopicID == "" {
						topics[i].TopicID = posted.TopicID
					}
					topics[i].Comments = append(topics[i].Comments, content)
				}
				mu.Unlock()
			}
		}()
	}

	// Reads: 4 loops of GETs through nginx, without retries, every one of
	// which must be 200.
	var gets getTally
	var getsDown atomic.Int64
	getter := &http.Client{Timeout: 5 * time.Second, Transport: apitest.Transport(t, transport)}
	probe := &http.Client{Timeout: 5 * time.Second, Transport: transport} // /readyz is not the public API
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			for n := g; ; n++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				u := []string{"/last_topics", "/hot_topics"}[n%2]
				mu.Lock()
				if len(ids) > 0 && n%3 != 0 {
					u = "/topic_comments?topic_id=" + ids[n%len(ids)]
				}
				mu.Unlock()
				p := phase.Load()
				gets.get(getter, s.nginx+u)
				if p >= pgStopping && p <= pgStarting {
					getsDown.Add(1)
				}
			}
		}()
	}

	// Readiness: each reader's own /readyz (nginx does not ask it), from
	// the stop on: when it turned 503, and when it turned 200 again.
	unready := make([]time.Time, len(s.readers))
	readyAgain := make([]time.Time, len(s.readers))
	stopWatch := make(chan struct{})
	var watch sync.WaitGroup
	watch.Add(1)
	go func() {
		defer watch.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopWatch:
				return
			case <-tick.C:
			}
			p := phase.Load()
			if p < pgStopping {
				continue
			}
			for i, addr := range s.readers {
				ok := isReady(probe, addr)
				mu.Lock()
				switch {
				case !ok && unready[i].IsZero():
					unready[i] = time.Now()
				case ok && p == pgBack && !unready[i].IsZero() && readyAgain[i].IsZero():
					readyAgain[i] = time.Now()
				}
				mu.Unlock()
			}
		}
	}()
	stopWatching := sync.OnceFunc(func() { close(stopWatch); watch.Wait() })
	defer stopWatching()
	count := func(p int32) int { mu.Lock(); defer mu.Unlock(); return acked[p] }

	stacktest.Eventually(t, 15*time.Second, func() bool { return count(pgUp) >= 300 })
	// The GETs read the topics once every reader has them: readers are
	// eventually consistent, and a topic a reader has not applied yet is 404.
	var known []string
	mu.Lock()
	for _, tp := range topics {
		if tp.TopicID != "" {
			known = append(known, tp.TopicID)
		}
	}
	mu.Unlock()
	for _, addr := range s.readers {
		if res := s.api.Get(t, fmt.Sprintf("http://%s/last_topics?min_position=%d", addr, c.Position())); res.Status != http.StatusOK {
			t.Fatalf("reader %s at the load's position: %d %s", addr, res.Status, res.Body)
		}
	}
	mu.Lock()
	ids = known
	mu.Unlock()
	atKnown := gets.sent()
	stacktest.Eventually(t, 15*time.Second, func() bool { return gets.sent() >= atKnown+200 })
	stopping := time.Now()
	phase.Store(pgStopping)
	pg.stop(t)
	down := time.Now()
	phase.Store(pgDown)
	if conn, err := pgx.Connect(ctx, pg.url); err == nil {
		conn.Close(ctx)
		t.Fatal("Postgres still answers after pg_ctl stop")
	}
	time.Sleep(outage) // the outage itself: a deliberate duration
	phase.Store(pgStarting)
	starting := time.Now()
	pg.start(t)
	back := time.Now()
	phase.Store(pgBack)

	// The writer recovers alone: the load's writes are acknowledged again,
	// and a write without any retry is 201.
	stacktest.Eventually(t, 20*time.Second, func() bool { return count(pgBack) >= 300 })
	plain := s.api.PostComment(t, s.nginx, "", "", "driller", "pg drill: a write without retries after the outage")
	stopLoad()
	for name, p := range s.procs {
		if p.Exited() {
			t.Fatalf("%s exited during the drill", name)
		}
	}
	stacktest.Eventually(t, 20*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for i := range s.readers {
			if !unready[i].IsZero() && readyAgain[i].IsZero() {
				return false
			}
		}
		return true
	})
	stopWatching()

	mu.Lock()
	verified := append(topics, ackedTopic{TopicID: plain.Topic, Comments: []string{"pg drill: a write without retries after the outage"}})
	total := acked[pgUp] + acked[pgStopping] + acked[pgDown] + acked[pgStarting] + acked[pgBack] + 1
	mu.Unlock()
	reports := verifyAcked(t, s, max(c.Position(), plain.Position), verified)
	lost, dup := 0, 0
	for _, r := range reports {
		lost, dup = max(lost, r.Missing), max(dup, r.Duplicated)
	}
	rec.mu.Lock()
	statuses, slowest, attempts, firstErr := fmt.Sprint(rec.statuses), rec.slowest, rec.attempts, rec.firstErr
	all503 := rec.statuses[http.StatusServiceUnavailable] == attempts
	rec.mu.Unlock()
	var readers []string
	for i := range s.readers {
		r := "never 503"
		if !unready[i].IsZero() {
			r = fmt.Sprintf("503 after %.1fs, 200 again %.1fs after the start", unready[i].Sub(stopping).Seconds(), readyAgain[i].Sub(back).Seconds())
		}
		readers = append(readers, fmt.Sprintf("reader%d %s", i+1, r))
	}
	t.Logf("postgres stopped %.1fs: acknowledged %d (before %d, during %d, after %d), retried %d, failed %d, lost %d, duplicated %d (on nginx and %d readers); GETs %d, failed GETs %d",
		back.Sub(stopping).Seconds(), total, acked[pgUp], acked[pgStopping]+acked[pgDown]+acked[pgStarting], acked[pgBack]+1,
		c.Stats().Retries.Load(), failed, lost, dup, len(s.readers), gets.sent(), gets.failed.Load())
	t.Logf("while postgres was down: %d write attempts, answers %s, slowest %dms; %d GETs; writer writing again %dms after postgres started (stop took %dms, start %dms); "+
		"readers' /readyz (MAX_STALENESS=3s): %s",
		attempts, statuses, slowest.Milliseconds(), getsDown.Load(), firstAck.Sub(back).Milliseconds(),
		down.Sub(stopping).Milliseconds(), back.Sub(starting).Milliseconds(), strings.Join(readers, ", "))

	for _, r := range reports {
		if r.Acknowledged != total || r.Present != total || r.Missing != 0 || r.Duplicated != 0 {
			t.Errorf("verify %+v, want all %d acknowledged present once", r, total)
		}
	}
	if gets.failed.Load() != 0 {
		t.Errorf("%d of %d GETs failed; first: %q", gets.failed.Load(), gets.sent(), gets.reasons())
	}
	if failed != 0 {
		t.Errorf("%d writes failed after every retry; first: %q", failed, failures)
	}
	// Every write attempt made while Postgres was down was answered, 503,
	// within 1 s.
	if attempts < 50 || firstErr != "" || !all503 {
		t.Errorf("write attempts while Postgres was down: %d (want at least 50), answers %s (want all 503), first without an answer: %q", attempts, statuses, firstErr)
	}
	if slowest > time.Second {
		t.Errorf("the slowest write answer while Postgres was down took %s, over 1 s", slowest)
	}
}

// writeRecorder is the write load's transport: it records the answers to
// the write attempts begun while Postgres is down, and how long the
// slowest took.
type writeRecorder struct {
	next  http.RoundTripper
	phase *atomic.Int32

	mu       sync.Mutex
	attempts int
	statuses map[int]int // by status
	slowest  time.Duration
	firstErr string // of an attempt that got no answer
}

func (r *writeRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	began, p := time.Now(), r.phase.Load()
	res, err := r.next.RoundTrip(req)
	// An attempt begun while Postgres was down counts, however long it
	// took: one still running when Postgres came back was slow.
	if req.Method != http.MethodPost || p != pgDown {
		return res, err
	}
	took := time.Since(began)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.slowest = max(r.slowest, took)
	if err != nil {
		if r.firstErr == "" {
			r.firstErr = err.Error()
		}
		return res, err
	}
	if r.phase.Load() != pgDown && res.StatusCode != http.StatusServiceUnavailable {
		return res, err // answered after Postgres came back: not an outage answer
	}
	r.attempts++
	r.statuses[res.StatusCode]++
	return res, err
}

func isReady(c *http.Client, addr string) bool {
	res, err := c.Get("http://" + addr + "/readyz")
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// ackedTopic is a topic and the contents acknowledged in it, in the form
// `parley load` keeps for `parley verify`.
type ackedTopic struct {
	TopicID  string   `json:"topic_id"`
	Comments []string `json:"comments"`
}

// verifyReport is what `parley verify -o json` found on one target.
type verifyReport struct {
	Target                                     string
	Acknowledged, Present, Missing, Duplicated int
	Unacknowledged                             int
}

// verifyAcked runs `parley verify` for the writes acknowledged in topics
// (the highest at position), on nginx and on each reader directly, and
// returns what it found on each.
func verifyAcked(t *testing.T, s *stack, position int64, topics []ackedTopic) []verifyReport {
	t.Helper()
	state := filepath.Join(t.TempDir(), "acknowledged.json")
	raw, err := json.Marshal(map[string]any{"site": s.nginx, "position": position, "topics": topics})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(state, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := s.parley(t, "-url", s.nginx, "-o", "json", "verify", "-state", state,
		"-readers", strings.Join(prefixed(s.readers), ","))
	var reports []verifyReport
	if err := json.Unmarshal([]byte(out), &reports); err != nil || len(reports) != 1+len(s.readers) {
		t.Fatalf("verify: exit %d, %s (%v)", code, out, err)
	}
	return reports
}

// privatePostgres is a Postgres cluster of the test's own (scripts/pg.sh),
// for a drill that stops and starts it.
type privatePostgres struct {
	script, dir, url string
}

// newPrivatePostgres creates and starts a cluster, with the schema
// applied; it is stopped and removed when the test ends. Without Postgres
// the test is skipped, or fails under PARLEY_REQUIRE_DB, as every database
// test.
func newPrivatePostgres(t *testing.T) *privatePostgres {
	t.Helper()
	pgtest.URL(t)
	script, err := filepath.Abs(filepath.Join("..", "..", "scripts", "pg.sh"))
	if err != nil {
		t.Fatal(err)
	}
	pg := &privatePostgres{script: script}
	pg.dir = pg.clusterDir(t, "parley-drill-pg")
	pg.url = pg.start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool := pgtest.Pool(t, pg.url)
	defer pool.Close()
	if _, err := store.Migrate(ctx, pool); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return pg
}

// start starts the cluster, creating it the first time, on the same
// socket every time, and returns its URL.
func (pg *privatePostgres) start(t *testing.T) string {
	t.Helper()
	return pg.run(t, "start", pg.dir)
}

// clusterDir makes a directory for a cluster, whose cluster is stopped and
// removed when the test ends. Not t.TempDir, which is 0700: as root, pg.sh
// runs the cluster as the postgres user, who must reach the directory.
func (pg *privatePostgres) clusterDir(t *testing.T, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = exec.Command("bash", pg.script, "stop", dir).CombinedOutput()
		// pg.sh keeps the cluster elsewhere when the postgres user cannot
		// reach dir, and says where in LOCATION.
		if loc, err := os.ReadFile(filepath.Join(dir, "LOCATION")); err == nil {
			_ = os.RemoveAll(strings.TrimSpace(string(loc)))
		}
		_ = os.RemoveAll(dir)
	})
	return dir
}

// run runs pg.sh with args and returns what it printed: a cluster's URL.
func (pg *privatePostgres) run(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("bash", append([]string{pg.script}, args...)...)
	// fsync=off: the machine does not crash here, and a fast shutdown
	// writes every commit out (synchronous_commit stays on).
	cmd.Env = append(os.Environ(), "PG_EXTRA_OPTS=-c fsync=off -c shared_buffers=32MB")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pg.sh %s: %v\n%s", args[0], err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// stop stops the cluster: pg_ctl stop -m fast, waiting until it is down.
func (pg *privatePostgres) stop(t *testing.T) {
	t.Helper()
	if out, err := exec.Command("bash", pg.script, "stop", pg.dir).CombinedOutput(); err != nil {
		t.Fatalf("pg.sh stop: %v\n%s", err, out)
	}
}

// standby makes and starts a hot standby of the cluster (scripts/pg.sh
// standby: pg_basebackup -R, streaming replication), stopped and removed
// when the test ends, and returns its URL.
func (pg *privatePostgres) standby(t *testing.T) string {
	t.Helper()
	return pg.run(t, "standby", pg.dir, pg.clusterDir(t, "parley-drill-standby"))
}
