package writer_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/parley/parley/internal/pgtest"
	"github.com/parley/parley/internal/writer"
)

// draws hands out the numbers FAULT_RATE draws, in order, then 0.99.
type draws struct {
	mu   sync.Mutex
	next []float64
}

func (d *draws) draw() float64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.next) == 0 {
		return 0.99
	}
	x := d.next[0]
	d.next = d.next[1:]
	return x
}

// TestFaultRate: with FAULT_RATE 0.5, a draw below 1/6 fails the write
// before it is written, one below 2/6 after it committed (a retry with the
// key gets the first answer, and nothing is written twice), one below
// 3/6 delays it, and the rest run as usual. Reads of the readers'
// internal route never fail on purpose.
func TestFaultRate(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	cfg := testConfig(t, dbURL)
	cfg.FaultRate, cfg.FaultDelay = 0.5, 20*time.Millisecond
	d := &draws{}
	base := startWriter(t, cfg, fx.Replace(writer.FaultDraw(d.draw)))
	count := func() int {
		var n int
		if err := pgtest.Pool(t, dbURL).QueryRow(context.Background(), `SELECT count(*) FROM comments`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	body := map[string]any{"content": "drill", "user": "ann"}

	d.next = []float64{0.1}
	wantError(t, post(t, base, "/post_comment", body, "Idempotency-Key", "k1"), 503, "before")
	if n := count(); n != 0 {
		t.Fatalf("%d comments after a fault before the write", n)
	}

	d.next = []float64{0.2}
	wantError(t, post(t, base, "/post_comment", body, "Idempotency-Key", "k2"), 503, "committed")
	if n := count(); n != 1 {
		t.Fatalf("%d comments after a fault after the write", n)
	}
	first := mustPost(t, base, "/post_comment", body, 201, "Idempotency-Key", "k2")
	if n := count(); n != 1 || first["comment_id"] != 0.0 {
		t.Fatalf("the retry wrote again: %d comments, answer %v", n, first)
	}

	d.next = []float64{0.4}
	began := time.Now()
	mustPost(t, base, "/post_comment", body, 201)
	if took := time.Since(began); took < cfg.FaultDelay {
		t.Fatalf("a delayed write answered after %s, FAULT_DELAY is %s", took, cfg.FaultDelay)
	}
	mustPost(t, base, "/post_comment", body, 201) // 0.99: no fault
	if n := count(); n != 3 {
		t.Fatalf("%d comments, want 3", n)
	}

	d.next = []float64{0.1}
	views := map[string]any{"ranges": []map[string]any{{"topic_id": first["topic_id"], "first": "0", "last": "0", "max_id": 0, "count": 1}}}
	mustPost(t, base, "/internal/views", views, 200, internalAuth...)
	if len(d.next) != 1 {
		t.Fatal("a view batch drew a fault")
	}
}
