package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// busyKind is one thing a Postgres backend can be found doing.
type busyKind int

const (
	busyAutovacuum busyKind = iota // an autovacuum worker at work
	busyCompaction                 // a statement of the writer's view-range compaction
	busyCheckpoint                 // the checkpointer writing or syncing (not waiting for its next)
	busyActive                     // client backends running a statement, compaction's included
	busyLock                       // of them, waiting on a heavyweight lock (rows, advisory locks)
	busyLWLock                     // of them, waiting on a lightweight lock (WAL insertion, buffers)
	busyIO                         // of them, waiting on I/O (a WAL sync, a page read)
	busyKinds
)

var busyNames = [busyKinds]string{"autovacuum", "compaction", "checkpoint", "active", "lock", "lwlock", "io"}

// compactionQueries open the statements of store.CompactViews.
var compactionQueries = []string{
	"SELECT r.topic_id FROM view_ranges",
	"DELETE FROM view_ranges",
	"SELECT comment_id, path FROM comments",
	"UPDATE comments c SET views",
}

// backendRow is the part of a pg_stat_activity row busyOf reads.
type backendRow struct {
	backendType, state, waitType, wait, query string
}

// busyOf adds what one backend is doing to n.
func busyOf(r backendRow, n *[busyKinds]int) {
	switch r.backendType {
	case "autovacuum worker":
		n[busyAutovacuum]++
	case "checkpointer":
		if r.wait != "CheckpointerMain" {
			n[busyCheckpoint]++
		}
	case "client backend":
		if r.state != "active" {
			return
		}
		n[busyActive]++
		for _, q := range compactionQueries {
			if strings.HasPrefix(r.query, q) {
				n[busyCompaction]++
				break
			}
		}
		switch r.waitType {
		case "Lock":
			n[busyLock]++
		case "LWLock":
			n[busyLWLock]++
		case "IO":
			n[busyIO]++
		}
	}
}

// pgBusy samples pg_stat_activity ten times a second while a long run goes
// on, and tells what Postgres's backends were doing in a stretch of it: how
// many on average were autovacuum workers, the writer's compaction, the
// checkpointer at work, client backends running a statement and what
// those waited on. A diagnosis of slow stretches, beside the speed probe:
// its own cost is one small query every 100 ms.
type pgBusy struct {
	start   time.Time
	stop    chan struct{}
	done    sync.WaitGroup
	mu      sync.Mutex
	samples []busySample
	err     error // the first failed sample's; sampling ends there
}

type busySample struct {
	at time.Duration // since start
	n  [busyKinds]int
}

const qActivity = `SELECT backend_type, coalesce(state, ''), coalesce(wait_event_type, ''), coalesce(wait_event, ''), left(query, 64)
	FROM pg_stat_activity WHERE pid <> pg_backend_pid()`

// startPgBusy connects to Postgres as admin and starts sampling; Stop ends it.
func startPgBusy(ctx context.Context, admin string) (*pgBusy, error) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return nil, err
	}
	b := &pgBusy{start: time.Now(), stop: make(chan struct{})}
	b.done.Add(1)
	go b.loop(ctx, conn)
	return b, nil
}

func (b *pgBusy) loop(ctx context.Context, conn *pgx.Conn) {
	defer b.done.Done()
	defer conn.Close(context.Background())
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s := busySample{at: time.Since(b.start)}
		var r backendRow
		rows, _ := conn.Query(ctx, qActivity)
		_, err := pgx.ForEachRow(rows, []any{&r.backendType, &r.state, &r.waitType, &r.wait, &r.query}, func() error {
			busyOf(r, &s.n)
			return nil
		})
		b.mu.Lock()
		if err != nil {
			b.err = err
			b.mu.Unlock()
			return
		}
		b.samples = append(b.samples, s)
		b.mu.Unlock()
	}
}

// Stop ends the sampling and waits for its goroutine; it returns the error
// that ended it early, if one did.
func (b *pgBusy) Stop() error {
	close(b.stop)
	b.done.Wait()
	return b.err
}

// mean is how many backends on average did each kind of thing in the
// samples between from and to (since the start), and how many samples
// there were.
func (b *pgBusy) mean(from, to time.Duration) (m [busyKinds]float64, n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.samples {
		if s.at < from || s.at >= to {
			continue
		}
		for k := range m {
			m[k] += float64(s.n[k])
		}
		n++
	}
	for k := range m {
		m[k] /= float64(max(n, 1))
	}
	return m, n
}

// busyCell is a table cell of means: "0.93 / 0.00 / 0.41 / 2.10 (0.00, 0.52, 0.31)"
// in busyNames's order, the waits in brackets.
func busyCell(m [busyKinds]float64, n int) string {
	if n == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f / %.2f / %.2f / %.2f (%.2f, %.2f, %.2f)", m[busyAutovacuum], m[busyCompaction], m[busyCheckpoint],
		m[busyActive], m[busyLock], m[busyLWLock], m[busyIO])
}
