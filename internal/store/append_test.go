package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/pgtest"
	"github.com/parley/parley/internal/store"
)

// newTopic is the change set of posting one new topic.
func newTopic(user string) store.Changes {
	id := comment.NewTopicID()
	at := comment.Now()
	return store.Changes{
		Topics:   []store.TopicWrite{{ID: id, New: true, NextID: 1, LastActivity: at}},
		Comments: []store.CommentWrite{{Topic: id, Path: comment.RootPath, New: true, User: user, Content: "hello", Create: at, Update: at}},
		Events: []comment.Event{{Kind: comment.EventCreated, Topic: id, At: at,
			Created: &comment.Created{Path: comment.RootPath, User: user, Content: "hello"}}},
	}
}

func appendChanges(ctx context.Context, a *store.Appender, ch store.Changes) (int64, error) {
	return a.Append(ctx, store.Lookup{}, func(store.State) (store.Changes, error) { return ch, nil })
}

// committedPositions is what a tailing reader sees: committed events after
// a position, in position order.
func committedPositions(t *testing.T, pool *pgxpool.Pool, after int64) []int64 {
	t.Helper()
	rows, _ := pool.Query(context.Background(), `SELECT position FROM events WHERE position > $1 ORDER BY position`, after)
	ps, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func eventUser(t *testing.T, pool *pgxpool.Pool, pos int64) string {
	t.Helper()
	var u string
	if err := pool.QueryRow(context.Background(), `SELECT convert_from(payload, 'UTF8')::json->>'user' FROM events WHERE position = $1`, pos).Scan(&u); err != nil {
		t.Fatal(err)
	}
	return u
}

// waitFor polls cond until it holds; the test fails if it does not hold
// within timeout. It must run on the test's goroutine.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("waited %s for %s", timeout, what)
		case <-tick.C:
		}
	}
}

const (
	// heldApp is the application_name of connections whose batches stop at
	// the gate (see installGate).
	heldApp = "parley_held"
	// gateLock is the advisory lock key the gate waits on.
	gateLock = 731601
	// rollbackUser makes the gate fail a batch with an event by this user.
	rollbackUser = "rollback"
	// rollbackMessage is the error the gate fails it with.
	rollbackMessage = "rolled back by the test gate"
)

// gateSQL installs the gate: a trigger that runs in every batch right after
// it has taken its positions (the events insert comes after the log_head
// update in the write pipeline) and before it commits. A batch on a heldApp
// connection first takes gateLock shared, so while a test holds the lock
// (gate.close) such a batch stops there, with its positions taken and the
// log head locked. Then a batch with an event by rollbackUser fails, which
// rolls it back.
var gateSQL = fmt.Sprintf(`
CREATE FUNCTION test_gate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF current_setting('application_name') = '%s' THEN
		PERFORM pg_advisory_xact_lock_shared(%d);
	END IF;
	IF EXISTS (SELECT 1 FROM new_events WHERE convert_from(payload, 'UTF8')::json->>'user' = '%s') THEN
		RAISE EXCEPTION '%s';
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER test_gate AFTER INSERT ON events REFERENCING NEW TABLE AS new_events
	FOR EACH STATEMENT EXECUTE FUNCTION test_gate();`, heldApp, gateLock, rollbackUser, rollbackMessage)

// gate stops batches of heldApp connections between taking their
// positions and committing, on the test's database.
type gate struct {
	t    *testing.T
	pool *pgxpool.Pool // on the test's database, for looking at locks
	conn *pgx.Conn     // holds gateLock while the gate is closed
}

// installGate installs the gate in the database at url and returns it,
// open, with a pool whose batches stop at it.
func installGate(t *testing.T, url string, pool *pgxpool.Pool) (g *gate, held *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	if _, err := pool.Exec(ctx, gateSQL); err != nil {
		t.Fatalf("install gate: %v", err)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = heldApp
	held, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(held.Close)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	// Closed before held (cleanups run last first), which opens the gate
	// for a batch of held a failed test left stopped there.
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return &gate{t: t, pool: pool, conn: conn}, held
}

// close makes batches of heldApp connections stop at the gate. It waits
// for a batch already past the gate to end.
func (g *gate) close() {
	g.t.Helper()
	if _, err := g.conn.Exec(context.Background(), `SELECT pg_advisory_lock($1::bigint)`, gateLock); err != nil {
		g.t.Fatal(err)
	}
}

// open lets the batch stopped at the gate, if any, go on.
func (g *gate) open() {
	g.t.Helper()
	var ok bool
	if err := g.conn.QueryRow(context.Background(), `SELECT pg_advisory_unlock($1::bigint)`, gateLock).Scan(&ok); err != nil || !ok {
		g.t.Fatalf("open gate: %v, %v", ok, err)
	}
}

// stopped returns the backend pid of a batch stopped at the gate, or 0.
func (g *gate) stopped() int32 {
	g.t.Helper()
	var pid int32
	err := g.pool.QueryRow(context.Background(), `SELECT coalesce(min(pid), 0) FROM pg_locks
		WHERE locktype = 'advisory' AND NOT granted AND classid = 0 AND objid = $1 AND objsubid = 1
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`, gateLock).Scan(&pid)
	if err != nil {
		g.t.Fatal(err)
	}
	return pid
}

// waitStopped waits until a batch is stopped at the gate and returns its
// backend pid.
func (g *gate) waitStopped() int32 {
	g.t.Helper()
	var pid int32
	waitFor(g.t, 10*time.Second, "a batch to stop at the gate", func() bool { pid = g.stopped(); return pid != 0 })
	return pid
}

// blockedBy counts the backends that wait for a lock pid holds.
func blockedBy(t *testing.T, pool *pgxpool.Pool, pid int32) int {
	t.Helper()
	var n int
	err := pool.QueryRow(context.Background(),
		`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND $1::integer = ANY(pg_blocking_pids(pid))`, pid).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// heldAppender returns two appenders on a fresh database with the gate
// closed: a batch of the first stops at it after taking its positions, and
// goes on (committing, or rolling back if it has an event by rollbackUser)
// when the gate opens. The second, and pool, never stop at the gate.
func heldAppender(t *testing.T) (pool *pgxpool.Pool, a, b *store.Appender, g *gate) {
	t.Helper()
	url := pgtest.NewDatabase(t)
	pool = pgtest.Pool(t, url)
	g, held := installGate(t, url, pool)
	a = store.NewAppender(held, pgtest.StoreConfig(url))
	b = store.NewAppender(pool, pgtest.StoreConfig(url))
	g.close()
	return pool, a, b, g
}

// TestLowerPositionCommitsLast is the hazard of tailing a log by position:
// transaction A takes a position, B takes the next, B commits first, and a
// reader that saw B skips A for ever. Here A takes its position and holds
// its transaction open; B then asks for a position and must wait, so no
// reader can see B before A, and when A commits, A has the lower position.
func TestLowerPositionCommitsLast(t *testing.T) {
	ctx := context.Background()
	pool, a, b, g := heldAppender(t)

	var wg sync.WaitGroup
	var posA, posB int64
	var errA, errB error
	wg.Add(1)
	go func() { defer wg.Done(); posA, errA = appendChanges(ctx, a, newTopic("a")) }()
	pidA := g.waitStopped() // A has taken its positions and not committed

	bDone := make(chan struct{})
	wg.Add(1)
	go func() { defer wg.Done(); defer close(bDone); posB, errB = appendChanges(ctx, b, newTopic("b")) }()
	// B is blocked on the log head A holds (or, if the log were broken, done).
	waitBlocked(t, pool, pidA, bDone)

	select {
	case <-bDone:
		t.Fatal("B committed while A held its positions")
	default:
	}
	if got := committedPositions(t, pool, 0); len(got) != 0 {
		t.Fatalf("a reader sees %v while A is uncommitted and B waits", got)
	}

	g.open()
	wg.Wait()
	if errA != nil || errB != nil {
		t.Fatalf("append: %v, %v", errA, errB)
	}
	if posA != 1 || posB != 2 {
		t.Fatalf("positions A=%d B=%d, want 1 and 2", posA, posB)
	}
	if got := committedPositions(t, pool, 0); len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("reader sees %v, want [1 2]", got)
	}
	if eventUser(t, pool, 1) != "a" || eventUser(t, pool, 2) != "b" {
		t.Fatal("events are not A's then B's")
	}
}

// waitBlocked waits until a batch is blocked by the backend pidA, or has
// finished (bDone closed), which the caller then tells apart.
func waitBlocked(t *testing.T, pool *pgxpool.Pool, pidA int32, bDone <-chan struct{}) {
	t.Helper()
	waitFor(t, 10*time.Second, "B to wait for A", func() bool {
		select {
		case <-bDone:
			return true
		default:
			return blockedBy(t, pool, pidA) > 0
		}
	})
}

// TestRolledBackAppendLeavesNoGap: a transaction that took positions and
// rolled back gives them back, so the next commit fills them and a reader
// never waits on a hole.
func TestRolledBackAppendLeavesNoGap(t *testing.T) {
	ctx := context.Background()
	pool, a, b, g := heldAppender(t)

	var wg sync.WaitGroup
	var errA, errB error
	var posB int64
	wg.Add(2)
	go func() { defer wg.Done(); _, errA = appendChanges(ctx, a, newTopic(rollbackUser)) }()
	pidA := g.waitStopped()
	bDone := make(chan struct{})
	go func() { defer wg.Done(); defer close(bDone); posB, errB = appendChanges(ctx, b, newTopic("b")) }()
	waitBlocked(t, pool, pidA, bDone)
	g.open()
	wg.Wait()

	if pgErr := (*pgconn.PgError)(nil); !errors.As(errA, &pgErr) || pgErr.Message != rollbackMessage {
		t.Fatalf("A: %v, want %q", errA, rollbackMessage)
	}
	if errB != nil || posB != 1 {
		t.Fatalf("B: position %d, %v; want 1", posB, errB)
	}
	if got := committedPositions(t, pool, 0); len(got) != 1 || got[0] != 1 {
		t.Fatalf("reader sees %v, want [1]", got)
	}
	var topics int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM topics`).Scan(&topics)
	if topics != 1 {
		t.Fatalf("%d topics, want only B's", topics)
	}
}

// TestConcurrentAppendsTailAsPrefix: many appenders, some rolling back,
// while a reader tails by position. Every poll must see exactly the next
// positions (never one beyond a hole), and in the end every committed event
// exactly once. Every other round, the reader closes the gate, waits until
// a batch of a held appender has stopped at it with its positions taken
// and another batch waits behind it, and polls while they are uncommitted.
func TestConcurrentAppendsTailAsPrefix(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	pool := pgtest.Pool(t, url)
	g, held := installGate(t, url, pool)
	free := pgtest.Pool(t, url) // appenders do not starve the reader of connections

	const appenders, each = 8, 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	committed := 0
	var running, heldRunning atomic.Int32
	for i := range appenders {
		p, isHeld := free, i%2 == 0 // half the appenders stop at the gate when it is closed
		if isHeld {
			p = held
			heldRunning.Add(1)
		}
		running.Add(1)
		app := store.NewAppender(p, pgtest.StoreConfig(url))
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer running.Add(-1)
			if isHeld {
				defer heldRunning.Add(-1)
			}
			for n := 1; n <= each; n++ {
				user := string(rune('a' + i))
				if n%5 == 0 { // every fifth batch of each appender rolls back
					user = rollbackUser
				}
				if _, err := appendChanges(ctx, app, newTopic(user)); err == nil {
					mu.Lock()
					committed++
					mu.Unlock()
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	var last int64
	seen := 0
	tail := func() {
		for _, p := range committedPositions(t, pool, last) {
			if p != last+1 {
				t.Fatalf("after %d the reader saw %d: a hole", last, p)
			}
			last = p
			seen++
		}
	}
	stops, queued := 0, 0
	for round, finished := 0, false; !finished; round++ {
		select {
		case <-done:
			finished = true
		default:
		}
		if round%2 == 1 && !finished {
			g.close()
			var pid int32
			waitFor(t, 10*time.Second, "a held batch to stop at the gate", func() bool {
				tail()
				pid = g.stopped()
				return pid != 0 || heldRunning.Load() == 0
			})
			if pid != 0 {
				stops++
				// Another appender comes for positions: it must queue behind
				// the stopped batch, not pass it (the stopped batch's appender
				// is one of the running ones). The reader polls meanwhile.
				waitFor(t, 10*time.Second, "a batch to wait behind the stopped one", func() bool {
					tail()
					if blockedBy(t, pool, pid) > 0 {
						queued++
						return true
					}
					return running.Load() <= 1
				})
			}
			tail()
			g.open()
		}
		tail()
	}
	if seen != committed || committed != appenders*each*4/5 {
		t.Fatalf("reader saw %d events, %d committed (want %d)", seen, committed, appenders*each*4/5)
	}
	if stops == 0 || queued == 0 {
		t.Fatalf("%d batches stopped at the gate, %d with another waiting behind: the hazard was never set up", stops, queued)
	}
	t.Logf("%d batches stopped at the gate, %d with another waiting behind", stops, queued)
}
