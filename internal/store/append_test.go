package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
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

// waitForLockWaiter waits until some backend waits on a lock.
func waitForLockWaiter(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		err := pool.QueryRow(context.Background(),
			`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no transaction ever waited on a lock")
}

// heldAppender returns two appenders on a fresh database. A batch of the
// first stops after taking its positions: it closes taken, waits for release
// to be closed, then commits (or rolls back with finish, when not nil).
func heldAppender(t *testing.T, finish error) (pool *pgxpool.Pool, a, b *store.Appender, taken, release chan struct{}) {
	t.Helper()
	url := pgtest.NewDatabase(t)
	pool = pgtest.Pool(t, url)
	a = store.NewAppender(pool, pgtest.StoreConfig(url))
	b = store.NewAppender(pool, pgtest.StoreConfig(url))
	taken, release = make(chan struct{}), make(chan struct{})
	a.SetAfterWrite(func() error { close(taken); <-release; return finish })
	return pool, a, b, taken, release
}

// TestLowerPositionCommitsLast is the hazard of tailing a log by position:
// transaction A takes a position, B takes the next, B commits first, and a
// reader that saw B skips A for ever. Here A takes its position and holds
// its transaction open; B then asks for a position and must wait, so no
// reader can see B before A, and when A commits, A has the lower position.
func TestLowerPositionCommitsLast(t *testing.T) {
	ctx := context.Background()
	pool, a, b, aHasPositions, releaseA := heldAppender(t, nil)

	var wg sync.WaitGroup
	var posA, posB int64
	var errA, errB error
	wg.Add(1)
	go func() { defer wg.Done(); posA, errA = appendChanges(ctx, a, newTopic("a")) }()
	<-aHasPositions

	bDone := make(chan struct{})
	wg.Add(1)
	go func() { defer wg.Done(); defer close(bDone); posB, errB = appendChanges(ctx, b, newTopic("b")) }()
	waitForLockWaiter(t, pool) // B is blocked on the log head A holds

	select {
	case <-bDone:
		t.Fatal("B committed while A held its positions")
	default:
	}
	if got := committedPositions(t, pool, 0); len(got) != 0 {
		t.Fatalf("a reader sees %v while A is uncommitted and B waits", got)
	}

	close(releaseA)
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

// TestRolledBackAppendLeavesNoGap: a transaction that took positions and
// rolled back gives them back, so the next commit fills them and a reader
// never waits on a hole.
func TestRolledBackAppendLeavesNoGap(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("boom")
	pool, a, b, aHasPositions, releaseA := heldAppender(t, boom)

	var wg sync.WaitGroup
	var errA, errB error
	var posB int64
	wg.Add(2)
	go func() { defer wg.Done(); _, errA = appendChanges(ctx, a, newTopic("a")) }()
	<-aHasPositions
	go func() { defer wg.Done(); posB, errB = appendChanges(ctx, b, newTopic("b")) }()
	waitForLockWaiter(t, pool)
	close(releaseA)
	wg.Wait()

	if !errors.Is(errA, boom) {
		t.Fatalf("A: %v, want boom", errA)
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
// exactly once.
func TestConcurrentAppendsTailAsPrefix(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	pool := pgtest.Pool(t, url)

	const appenders, each = 8, 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	committed := 0
	for i := range appenders {
		app := store.NewAppender(pool, pgtest.StoreConfig(url))
		n := 0
		app.SetAfterWrite(func() error {
			n++
			if n%5 == 0 { // every fifth batch of this appender rolls back
				return errors.New("rollback")
			}
			time.Sleep(time.Duration(n%3) * time.Millisecond)
			return nil
		})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if _, err := appendChanges(ctx, app, newTopic(string(rune('a'+i)))); err == nil {
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
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		for _, p := range committedPositions(t, pool, last) {
			if p != last+1 {
				t.Fatalf("after %d the reader saw %d: a hole", last, p)
			}
			last = p
			seen++
		}
	}
	if seen != committed || committed != appenders*each*4/5 {
		t.Fatalf("reader saw %d events, %d committed (want %d)", seen, committed, appenders*each*4/5)
	}
}
