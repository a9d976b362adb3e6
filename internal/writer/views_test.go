package writer_test

import (
	"context"
	"testing"

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
	r := mustPost(t, base, "/internal/views", batch, 200)
	mustPost(t, base, "/internal/views", batch, 200)
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
			if r := post(t, base, "/internal/views", body); r.Status != 400 {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		})
	}
}
