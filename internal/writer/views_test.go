package writer_test

import (
	"context"
	"strings"
	"testing"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/pgtest"
)

// TestRecordViews: a reader's batch is one event and one upsert per
// distinct range, whatever the counts.
func TestRecordViews(t *testing.T) {
	base, dbURL := newWriter(t)
	pool := pgtest.Pool(t, dbURL)
	ctx := context.Background()
	topic := newTopic(t, base)
	mustPost(t, base, "/post_comment", map[string]any{"topic_id": topic, "content": "c", "user": "u"}, 201)

	batch := map[string]any{"ranges": []map[string]any{
		{"topic_id": topic, "first": "0", "last": "0/1", "max_id": 1, "count": 1000},
		{"topic_id": topic, "first": "0/1", "last": "0/1", "max_id": 1, "count": 3},
		{"topic_id": topic, "first": "0", "last": "0/1", "max_id": 1, "count": 5},
	}}
	r := mustPost(t, base, "/internal/views", batch, 200, internalAuth...)
	mustPost(t, base, "/internal/views", batch, 200, internalAuth...)
	if r["position"] != 3.0 {
		t.Fatalf("view batch at %v, want position 3", r["position"])
	}

	var rows, views int64
	_ = pool.QueryRow(ctx, `SELECT count(*), sum(views) FROM view_ranges`).Scan(&rows, &views)
	if rows != 2 || views != 2*1008 {
		t.Fatalf("view_ranges: %d rows, %d views; want 2 rows, 2016 views", rows, views)
	}
	var full int64
	_ = pool.QueryRow(ctx, `SELECT views FROM view_ranges WHERE first_path = '{0}'`).Scan(&full)
	if full != 2010 {
		t.Fatalf("the whole-topic range has %d views, want 2010", full)
	}
	var events int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE kind = 'views' AND topic_id IS NULL`).Scan(&events)
	if events != 2 {
		t.Fatalf("%d view events, want 2", events)
	}
	var activity int64
	_ = pool.QueryRow(ctx, `SELECT sum(views) FROM topic_activity`).Scan(&activity)
	if activity != 2016 {
		t.Fatalf("activity counts %d views, want 2016", activity)
	}

	for name, body := range map[string]any{
		"empty":          map[string]any{"ranges": []any{}},
		"zero count":     map[string]any{"ranges": []map[string]any{{"topic_id": topic, "first": "0", "last": "0", "max_id": 0, "count": 0}}},
		"backwards":      map[string]any{"ranges": []map[string]any{{"topic_id": topic, "first": "0/1", "last": "0", "max_id": 1, "count": 1}}},
		"max_id too low": map[string]any{"ranges": []map[string]any{{"topic_id": topic, "first": "0", "last": "0/1", "max_id": 0, "count": 1}}},
		"bad path":       map[string]any{"ranges": []map[string]any{{"topic_id": topic, "first": "x", "last": "0", "max_id": 0, "count": 1}}},
	} {
		t.Run(name, func(t *testing.T) {
			if r := post(t, base, "/internal/views", body, internalAuth...); r.Status != 400 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		})
	}
}

// TestInternalViewsTrust: /internal/views takes batches only with the
// internal token, checks every range against the stored topics, and keeps
// every stored sum within bounds (SPEC §9). A refused batch changes nothing.
func TestInternalViewsTrust(t *testing.T) {
	base, dbURL := newWriter(t, newClock().option()) // one activity minute throughout
	pool := pgtest.Pool(t, dbURL)
	ctx := context.Background()
	topic := newTopic(t, base)
	mustPost(t, base, "/post_comment", map[string]any{"topic_id": topic, "parent_path": "0", "content": "c", "user": "u"}, 201)
	mustPost(t, base, "/post_comment", map[string]any{"topic_id": topic, "parent_path": "0/1", "content": "c", "user": "u"}, 201)
	rng := func(first, last string, maxID int32, count int64) map[string]any {
		return map[string]any{"topic_id": topic, "first": first, "last": last, "max_id": maxID, "count": count}
	}
	batch := func(ranges ...map[string]any) map[string]any { return map[string]any{"ranges": ranges} }
	good := batch(rng("0", "0/1/2", 2, 1))

	// Authentication.
	for name, headers := range map[string][]string{
		"no token":       nil,
		"wrong token":    {"Authorization", "Bearer " + strings.Repeat("x", len(internalToken))},
		"token prefix":   {"Authorization", "Bearer " + internalToken[:10]},
		"not bearer":     {"Authorization", "Basic " + internalToken},
		"token in query": nil,
	} {
		t.Run(name, func(t *testing.T) {
			r := post(t, base, "/internal/views?token="+internalToken, good, headers...)
			if r.Status != 401 || r.Header.Get("WWW-Authenticate") == "" {
				t.Fatalf("%d %s (WWW-Authenticate %q), want 401", r.Status, r.Body, r.Header.Get("WWW-Authenticate"))
			}
			wantError(t, r, 401, "token")
		})
	}

	head := func() (pos int64) {
		_ = pool.QueryRow(ctx, `SELECT position FROM log_head`).Scan(&pos)
		return
	}
	before := head()
	// Validation: each of these is refused whole, valid ranges beside it included.
	for name, body := range map[string]any{
		"count far too large":  batch(rng("0/1/2", "0/1/2", 2, 9000000000000000000)),
		"count over a billion": batch(rng("0", "0", 2, 1000000001)),
		"negative count":       batch(rng("0", "0", 2, -5)),
		"unknown topic":        batch(map[string]any{"topic_id": "6f1c0e0a-3d5e-4c1b-9a57-0b9d1c2e3f40", "first": "0", "last": "0", "max_id": 0, "count": 1}),
		"past the newest id":   batch(rng("0", "0", 3, 1)),
		"one bad range of two": batch(rng("0", "0", 2, 1), rng("0", "0", 99, 1)),
		"path not from root":   batch(rng("1", "1", 2, 1)),
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, post(t, base, "/internal/views", body, internalAuth...), 400, "")
		})
	}
	if got := head(); got != before {
		t.Fatalf("refused batches moved the log from %d to %d", before, got)
	}
	var rows int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM view_ranges`).Scan(&rows)
	if rows != 0 {
		t.Fatalf("refused batches stored %d ranges", rows)
	}

	// The largest count is taken, and stored sums saturate instead of
	// failing: a sum already near the maximum stays at it.
	mustPost(t, base, "/internal/views", batch(rng("0", "0/1/2", 2, 1000000000)), 200, internalAuth...)
	const maxInt64 = int64(^uint64(0) >> 1)
	if _, err := pool.Exec(ctx, `UPDATE view_ranges SET views = $1::bigint - 10`, maxInt64); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE topic_activity SET views = $1::bigint - 10`, maxInt64); err != nil {
		t.Fatal(err)
	}
	mustPost(t, base, "/internal/views", batch(rng("0", "0/1/2", 2, 1000000000)), 200, internalAuth...)
	mustPost(t, base, "/internal/views", batch(rng("0", "0/1/2", 2, 1000000000)), 200, internalAuth...)
	var views, activity int64
	_ = pool.QueryRow(ctx, `SELECT views FROM view_ranges`).Scan(&views)
	_ = pool.QueryRow(ctx, `SELECT max(views) FROM topic_activity`).Scan(&activity)
	if views != maxInt64 || activity != maxInt64 {
		t.Fatalf("sums near the maximum became %d and %d, want both saturated at %d", views, activity, maxInt64)
	}
}

// TestInternalViewsBodyLimit: /internal/views takes bodies up to
// comment.MaxViewBatchBytes, beyond the public routes' limit, and no more.
func TestInternalViewsBodyLimit(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	cfg := testConfig(t, dbURL)
	base := startWriter(t, cfg)
	topic := newTopic(t, base)
	batch := `{"ranges": [{"topic_id": "` + topic + `", "first": "0", "last": "0", "max_id": 0, "count": 1}]}`
	pad := func(n int) string { return batch + strings.Repeat(" ", n-len(batch)) }
	if cfg.MaxBodyBytes() >= comment.MaxViewBatchBytes {
		t.Fatalf("the public limit %d is not below MaxViewBatchBytes", cfg.MaxBodyBytes())
	}
	for _, n := range []int{int(cfg.MaxBodyBytes()) + 1, comment.MaxViewBatchBytes} {
		if r := post(t, base, "/internal/views", pad(n), internalAuth...); r.Status != 200 {
			t.Fatalf("a batch of %d bytes: %d %s, want 200", n, r.Status, r.Body)
		}
	}
	wantError(t, post(t, base, "/internal/views", pad(comment.MaxViewBatchBytes+1), internalAuth...), 413, "")
	// The public routes keep theirs.
	content := `{"content": "x", "user": "u"}`
	wantError(t, post(t, base, "/post_comment", content+strings.Repeat(" ", int(cfg.MaxBodyBytes()))), 413, "")
}
