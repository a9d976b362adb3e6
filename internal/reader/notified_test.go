package reader

import (
	"context"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/store"
)

// countingLog serves the log from memory and counts its reads.
type countingLog struct {
	events []comment.Event // positions 1…n
	reads  int
}

func (c *countingLog) Events(_ context.Context, after int64, limit int) ([]comment.Event, error) {
	c.reads++
	from := min(int(after), len(c.events))
	return slices.Clone(c.events[from:min(from+limit, len(c.events))]), nil
}

// TestNotifiedEvents: a refresh applies the events notifications carried
// without reading the log when they continue what is applied and reach the
// newest position known; from a gap on, and for a reader that tails a
// replica, it reads the log. Either way it ends with every event, once.
func TestNotifiedEvents(t *testing.T) {
	topic := comment.NewTopicID()
	l := newLog()
	l.createFlat(topic, 12)
	all := l.flush() // positions 1…12; the projection starts with 1…4 applied
	tests := []struct {
		name          string
		replica       bool
		notifications []store.Notification
		reads         int // reads of the log by one refresh
	}{
		{"the next events, in one notification", false, []store.Notification{{Head: 12, Events: all[4:]}}, 0},
		{"the next events, in three", false, []store.Notification{{Head: 6, Events: all[4:6]}, {Head: 9, Events: all[6:9]}, {Head: 12, Events: all[9:]}}, 0},
		{"some already applied", false, []store.Notification{{Head: 7, Events: all[2:7]}, {Head: 12, Events: all[7:]}}, 0},
		{"a batch too large to carry, at the end", false, []store.Notification{{Head: 8, Events: all[4:8]}, {Head: 12}}, 1},
		{"a batch too large to carry, in the middle", false, []store.Notification{{Head: 6, Events: all[4:6]}, {Head: 8}, {Head: 12, Events: all[8:]}}, 1},
		{"a gap: a notification lost with the connection", false, []store.Notification{{Head: 12, Events: all[8:]}}, 1},
		{"tailing a replica", true, []store.Notification{{Head: 12, Events: all[4:]}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProj(t, 1<<40, nil)
			if err := p.Apply(all[:4]); err != nil {
				t.Fatal(err)
			}
			src := &countingLog{events: all}
			r := NewRefresher(p, nil, src, time.Hour, 0, 100, zap.NewNop())
			if !tt.replica {
				r.UseNotified()
			}
			for _, n := range tt.notifications {
				r.Notified(n)
			}
			if err := r.applyToEnd(context.Background()); err != nil {
				t.Fatal(err)
			}
			if src.reads != tt.reads {
				t.Errorf("%d reads of the log, want %d", src.reads, tt.reads)
			}
			if got := p.Applied(); got != 12 {
				t.Fatalf("applied %d, want 12", got)
			}
			if got := p.topics[topic].tree.Len(); got != 12 {
				t.Fatalf("the topic holds %d comments, want 12", got)
			}
			if ev, _ := r.Lag(time.Now()); ev != 0 {
				t.Errorf("%d events behind after the refresh", ev)
			}
		})
	}
}
