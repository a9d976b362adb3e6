package store_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/pgtest"
	"github.com/parley/parley/internal/platform"
)

// BenchmarkLogHeads measures what the single log_head row costs
// (docs/scaling.md): writers committing one event each, as the writer's
// transaction does (state row, event row, then the head, then COMMIT), with
// every topic on one head (today) or hashed over P heads (the design that
// removes it). Each transaction touches its own topic, so the heads are
// the only rows they share. It reports commits per second and the share
// of sampled backends that waited on a lock. Run it on a cluster with
// fsync on (scripts/pg.sh start without PG_EXTRA_OPTS): the head's lock is
// held through the commit's WAL flush, which is what serializes.
//
//	go test ./internal/store -run XXX -bench LogHeads -benchtime 3s
func BenchmarkLogHeads(b *testing.B) {
	ctx := context.Background()
	db := pgtest.NewDatabase(b)
	pool, err := pgxpool.New(ctx, db+"&pool_max_conns=64")
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `
		CREATE TABLE bench_heads (p integer PRIMARY KEY, position bigint NOT NULL);
		CREATE TABLE bench_state (topic_id uuid PRIMARY KEY, n integer NOT NULL, content text NOT NULL);
		CREATE TABLE bench_events (p integer NOT NULL, position bigint NOT NULL, topic_id uuid NOT NULL, payload bytea NOT NULL,
			PRIMARY KEY (p, position))`); err != nil {
		b.Fatal(err)
	}
	payload := bytes.Repeat([]byte("x"), 300)
	for _, heads := range []int{1, 4, 16} {
		for _, workers := range []int{1, 4, 16, 32} {
			b.Run(fmt.Sprintf("heads=%d/workers=%d", heads, workers), func(b *testing.B) {
				if _, err := pool.Exec(ctx, `TRUNCATE bench_heads, bench_state, bench_events`); err != nil {
					b.Fatal(err)
				}
				if _, err := pool.Exec(ctx, `INSERT INTO bench_heads SELECT g, 0 FROM generate_series(0, $1 - 1) g`, heads); err != nil {
					b.Fatal(err)
				}
				var waits, samples atomic.Int64
				sctx, stop := context.WithCancel(ctx)
				var sampler sync.WaitGroup
				sampler.Add(1)
				go func() {
					defer sampler.Done()
					sampleLockWaits(sctx, pool, &waits, &samples)
				}()
				var next atomic.Int64
				var wg sync.WaitGroup
				began := time.Now()
				b.ResetTimer()
				for range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for next.Add(1) <= int64(b.N) {
							topic := comment.NewTopicID()
							p := int(topic[0]) % heads
							if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
								batch := &pgx.Batch{}
								batch.Queue(`INSERT INTO bench_state VALUES ($1, 1, $2)`, [16]byte(topic), string(payload))
								batch.Queue(`WITH h AS (UPDATE bench_heads SET position = position + 1 WHERE p = $1 RETURNING position)
									INSERT INTO bench_events SELECT $1, h.position, $2, $3 FROM h`, p, [16]byte(topic), payload)
								return tx.SendBatch(ctx, batch).Close()
							}); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				elapsed := time.Since(began)
				b.StopTimer()
				stop()
				sampler.Wait()
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "commits/s")
				if n := samples.Load(); n > 0 {
					b.ReportMetric(100*float64(waits.Load())/float64(n), "%lock-waits")
				}
			})
		}
	}
}

// sampleLockWaits counts, every millisecond, the benchmark's active
// backends and those among them waiting on a lock (a row lock shows as a
// wait on the holder's transaction id).
func sampleLockWaits(ctx context.Context, pool *pgxpool.Pool, waits, samples *atomic.Int64) {
	platform.Every(ctx, time.Millisecond, func() {
		var active, locked int64
		err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state = 'active'),
				count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock')
			FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&active, &locked)
		if err != nil {
			return // the benchmark ended (ctx), or one sample is lost
		}
		samples.Add(active)
		waits.Add(locked)
	})
}
