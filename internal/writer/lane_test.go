package writer

import (
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/parley/parley/internal/comment"
)

// TestLanes: a topic's commands always meet in one of the topic workers,
// topics spread over all of them, and commands without a topic (view
// batches, bans) go to the worker of their own, never queueing comments
// behind them.
func TestLanes(t *testing.T) {
	for _, workers := range []int{1, 2, 5} {
		b := NewBatcher(nil, zap.NewNop(), workers, 10, 0, time.Now)
		if len(b.queues) != workers+1 {
			t.Fatalf("%d workers: %d queues", workers, len(b.queues))
		}
		seen := map[int]bool{}
		for range 200 {
			id := comment.NewTopicID()
			lane := b.lane(Post{TopicID: &id})
			if lane < 0 || lane >= workers {
				t.Fatalf("%d workers: a post went to lane %d", workers, lane)
			}
			seen[lane] = true
			for _, cmd := range []Command{Post{NewTopic: id}, Vote{TopicID: id}, Edit{TopicID: id}, Delete{TopicID: id}} {
				if got := b.lane(cmd); got != lane {
					t.Fatalf("%d workers: %T in lane %d, the topic's post in %d", workers, cmd, got, lane)
				}
			}
		}
		if len(seen) != workers {
			t.Fatalf("200 topics used lanes %v of %d", seen, workers)
		}
		for _, cmd := range []Command{RecordViews{}, BanUser{}} {
			if got := b.lane(cmd); got != workers {
				t.Fatalf("%d workers: %T in lane %d, want %d", workers, cmd, got, workers)
			}
		}
	}
}
