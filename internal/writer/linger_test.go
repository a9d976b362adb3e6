package writer_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
	"github.com/parley/parley/internal/stacktest"
	"github.com/parley/parley/internal/store"
	"github.com/parley/parley/internal/writer"
)

// gateAppender records each batch's size and holds it until the test
// releases it; its batches fail, which is all a test of batch shapes
// needs.
type gateAppender struct {
	mu      sync.Mutex
	sizes   []int
	entered chan int      // a batch's size, when it starts
	release chan struct{} // one receive lets one batch end
	failure error         // every batch's outcome
}

func (g *gateAppender) Append(_ context.Context, lk store.Lookup, _ func(store.State) (store.Changes, error)) (int64, error) {
	n := len(lk.Topics) + len(lk.Known) // one topic per test command
	g.mu.Lock()
	g.sizes = append(g.sizes, n)
	g.mu.Unlock()
	g.entered <- n
	<-g.release
	return 0, g.failure
}

// next is the size of the next batch to start; a batch that does not start
// within 10 s (one waiting out its hour) fails the test.
func (g *gateAppender) next(t *testing.T) int {
	t.Helper()
	select {
	case n := <-g.entered:
		return n
	case <-time.After(10 * time.Second):
		t.Fatal("no batch started within 10 s")
		return 0
	}
}

func (g *gateAppender) batches() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.sizes)
}

// topicPost is a command on a topic of its own, so that each names one topic.
func topicPost() *writer.Request {
	id := comment.NewTopicID()
	return &writer.Request{Cmd: writer.Post{TopicID: &id, User: "u", Content: "c"}}
}

// TestLinger: a worker whose last batch held several commands waits (here
// for up to an hour) until its batch has lingerFill commands; a client
// writing one command at a time never waits; a stop ends the wait.
func TestLinger(t *testing.T) {
	g := &gateAppender{entered: make(chan int, 64), release: make(chan struct{}), failure: errs.Unavailable.New("test")}
	b := writer.NewBatcher(g, zap.NewNop(), 1, 100, time.Hour, time.Now)
	b.Start()
	stopped := false
	defer func() {
		close(g.release) // a failed test leaves batches held
		if !stopped {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = b.Stop(ctx)
		}
	}()
	ctx := context.Background()
	do := func(done *sync.WaitGroup) {
		done.Add(1)
		go func() { defer done.Done(); _, _ = b.Do(ctx, topicPost()) }()
	}

	// One at a time: batches of one, none waits (an hour's wait would
	// fail the test by its timeout).
	for range 3 {
		var one sync.WaitGroup
		do(&one)
		if n := g.next(t); n != 1 {
			t.Fatalf("a lone command in a batch of %d", n)
		}
		g.release <- struct{}{}
		one.Wait()
	}

	// A batch of two: the next batch lingers until it holds lingerFill.
	var all sync.WaitGroup
	do(&all)
	if n := g.next(t); n != 1 {
		t.Fatalf("first batch of %d", n)
	}
	do(&all)
	do(&all)
	// Both queued behind the first batch.
	stacktest.Eventually(t, 10*time.Second, func() bool { return b.Waiting() == 2 })
	g.release <- struct{}{}
	if n := g.next(t); n != 2 {
		t.Fatalf("second batch of %d, want 2", n)
	}
	do(&all)
	// Queued behind the batch of two.
	stacktest.Eventually(t, 10*time.Second, func() bool { return b.Waiting() == 1 })
	g.release <- struct{}{}
	for range writer.LingerFill - 1 {
		do(&all)
	}
	if n := g.next(t); n != writer.LingerFill {
		t.Fatalf("the lingering batch ran with %d commands, want %d", n, writer.LingerFill)
	}
	g.release <- struct{}{}

	// Lingering again (the last batch held 16), and a stop: the batch
	// runs with what it has.
	do(&all)
	// Taken into the lingering batch (Waiting counts it until it runs).
	stacktest.Eventually(t, 10*time.Second, func() bool { return b.Waiting() == 1 })
	stopped = true
	stop := make(chan error, 1)
	go func() { stop <- b.Stop(context.Background()) }()
	if n := g.next(t); n != 1 {
		t.Fatalf("the batch the stop ended ran with %d commands, want 1", n)
	}
	g.release <- struct{}{}
	if err := <-stop; err != nil {
		t.Fatal(err)
	}
	all.Wait()
	want := []int{1, 1, 1, 1, 2, writer.LingerFill, 1}
	if got := g.batches(); !slices.Equal(got, want) {
		t.Fatalf("batches %v, want %v", got, want)
	}
}
