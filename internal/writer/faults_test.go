package writer_test

import (
	"context"
	"testing"
	"time"

	"github.com/parley/parley/internal/pgtest"
)

// TestStorageFaults takes Postgres away from a running writer in the ways
// it can go, through a TCP proxy in front of the real server, and checks
// that every request gets its JSON error within the configured bounds
// (never a hang: the HTTP client gives up after 30s and fails the test) and
// that the writer recovers without a restart.
func TestStorageFaults(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	proxy := pgtest.NewProxy(t, dbURL)
	cfg := testConfig(t, proxy.URL("parley"))
	cfg.Store.ConnectTimeout = 300 * time.Millisecond
	cfg.Store.StatementTimeout = 300 * time.Millisecond
	base := startWriter(t, cfg)
	topic := newTopic(t, base)
	reply := map[string]any{"topic_id": topic, "content": "c", "user": "u"}

	t.Run("connection refused", func(t *testing.T) {
		proxy.Set(pgtest.ProxyDown)
		wantError(t, post(t, base, "/post_comment", reply), 503, "unavailable")
		wantError(t, post(t, base, "/post_comment", map[string]any{"content": "x", "user": "u"}), 503, "unavailable")
	})
	t.Run("no answer to connect", func(t *testing.T) {
		proxy.Set(pgtest.ProxyBlackhole)
		wantError(t, post(t, base, "/post_comment", reply), 503, "unavailable")
	})
	t.Run("recovers", func(t *testing.T) {
		proxy.Set(pgtest.ProxyUp)
		r := mustPost(t, base, "/post_comment", reply, 201)
		if r["comment_id"] != 1.0 {
			t.Fatalf("first reply after the outage got id %v: a failed request burned an id", r["comment_id"])
		}
	})
	t.Run("no answer on an open connection", func(t *testing.T) {
		mustPost(t, base, "/post_comment", reply, 201) // the pool holds a fresh connection
		proxy.Set(pgtest.ProxyBlackhole)
		wantError(t, post(t, base, "/post_comment", reply), 524, "timed out")
		proxy.Set(pgtest.ProxyUp)
		mustPost(t, base, "/post_comment", reply, 201)
	})
	t.Run("statement timeout", func(t *testing.T) {
		// Hold the topic's row lock from outside, so the writer's batch
		// waits on it until the statement timeout cancels it.
		pool := pgtest.Pool(t, dbURL)
		ctx := context.Background()
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `SELECT 1 FROM topics WHERE topic_id = $1 FOR UPDATE`, topic); err != nil {
			t.Fatal(err)
		}
		wantError(t, post(t, base, "/post_comment", reply), 524, "timed out")
		_ = tx.Rollback(ctx)
		r := mustPost(t, base, "/post_comment", reply, 201)
		if r["comment_id"] != 4.0 {
			t.Fatalf("reply after the timeout got id %v, want 4", r["comment_id"])
		}
	})
}
