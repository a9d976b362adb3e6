package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parley/parley/client"
)

// TestClientUnderFaults: the Go client writes through nginx to a writer
// that fails 30 % of writes on purpose (before the write, after it
// committed, or slower than the client's attempt timeout): every
// acknowledged comment is on every reader exactly once, none doubled by a
// retry.
func TestClientUnderFaults(t *testing.T) {
	s := newStack(t, stackOpts{env: []string{"FAULT_RATE=0.3", "FAULT_DELAY=400ms"}, postRate: "100000", postBurst: "100000"})
	c := client.New(s.nginx, client.WithHTTPClient(s.api.HTTP), client.WithRetries(10, 5*time.Millisecond, 50*time.Millisecond),
		client.WithAttemptTimeout(200*time.Millisecond), client.WithSession())
	ctx := context.Background()
	root, err := c.PostComment(ctx, client.NewComment{Content: "drill", User: "ann"})
	if err != nil {
		t.Fatalf("the topic, after 10 attempts: %v", err)
	}
	const workers, each = 8, 25
	var mu sync.Mutex
	acked := map[string]bool{}
	var failed int
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				content := fmt.Sprintf("w%d-%d", w, i)
				_, err := c.PostComment(ctx, client.NewComment{TopicID: root.TopicID, Content: content, User: "bob"})
				mu.Lock()
				if err == nil {
					acked[content] = true
				} else {
					failed++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(acked) < workers*each*9/10 {
		t.Fatalf("only %d of %d writes acknowledged (%d failed)", len(acked), workers*each, failed)
	}
	for _, base := range append([]string{s.nginx}, prefixed(s.readers)...) {
		r := client.New(base, client.WithHTTPClient(s.api.HTTP))
		thread, err := r.Thread(ctx, client.ThreadQuery{TopicID: root.TopicID, Limit: 50, MinPosition: c.Position()})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, cm := range thread[1:] {
			seen[cm.Content]++
		}
		var missing, doubled int
		for content := range acked {
			if seen[content] == 0 {
				missing++
			}
		}
		for _, n := range seen {
			if n > 1 {
				doubled++
			}
		}
		t.Logf("%s: acknowledged %d, failed %d, retried %d, on the reader %d, missing %d, doubled %d",
			base, len(acked), failed, c.Stats().Retries.Load(), len(thread)-1, missing, doubled)
		if missing != 0 || doubled != 0 || len(thread)-1 < len(acked) {
			t.Fatalf("%s: %d acknowledged comments missing, %d doubled", base, missing, doubled)
		}
	}
	if c.Stats().Retries.Load() == 0 {
		t.Fatal("no retries: the faults did not happen")
	}
}

func prefixed(addrs []string) []string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = "http://" + a
	}
	return out
}
