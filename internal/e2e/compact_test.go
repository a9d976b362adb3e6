package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parley/parley/internal/pgtest"
	"github.com/parley/parley/internal/stacktest"
)

// TestCompactionThroughTheStack (issue 13, point 5): views counted by the
// readers through nginx are folded by the writer's compaction job
// (COMPACT_INTERVAL) into per-comment counts; readers started afterwards,
// loading no range at all, show every comment's exact count.
func TestCompactionThroughTheStack(t *testing.T) {
	s := newStack(t, stackOpts{env: []string{"COMPACT_INTERVAL=100ms", "COMPACT_MIN_RANGES=1"}})
	root := s.api.PostComment(t, s.nginx, "", "", "ann", "root")
	last := root
	for i := range 9 {
		last = s.api.PostComment(t, s.nginx, root.Topic, "0", "bob", fmt.Sprint("reply ", i))
	}
	whole := fmt.Sprintf("%s/topic_comments?topic_id=%s&min_position=%d", s.nginx, root.Topic, last.Position)
	for range 20 {
		s.api.Get(t, whole)
	}
	for range 10 {
		s.api.Get(t, whole+"&limit=3")
	}
	// A graceful stop sends the readers' counted views to the writer.
	for i := range s.readers {
		s.procs[fmt.Sprintf("reader%d", i+1)].Stop()
	}
	pool := pgtest.Pool(t, s.db)
	var ranges, folded int64
	stacktest.Eventually(t, 15*time.Second, func() bool {
		_ = pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM view_ranges), (SELECT coalesce(sum(views), 0) FROM comments)`).Scan(&ranges, &folded)
		return ranges == 0 && folded == 3*30+7*20
	})
	for i := range s.readers {
		s.startReader(t, i)
	}
	var items []struct {
		ID    int   `json:"comment_id"`
		Views int64 `json:"view_count"`
	}
	s.api.Get(t, whole).JSON(t, &items)
	for _, it := range items {
		want := int64(20)
		if it.ID < 3 {
			want = 30
		}
		if it.Views != want {
			t.Errorf("comment %d: %d views after compaction and a restart, want %d", it.ID, it.Views, want)
		}
	}
}
