package e2e

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// getTally counts the GETs a drill sends while something fails under
// them, and keeps the first few failures for the message. Safe for
// concurrent use.
type getTally struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	why        []string
}

// get sends a GET of u with c, reads the answer and counts it; it reports
// whether the answer was 200.
func (g *getTally) get(c *http.Client, u string) bool {
	res, err := c.Get(u)
	if err == nil {
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			g.ok.Add(1)
			return true
		}
	}
	g.failed.Add(1)
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.why) < 5 {
		if err != nil {
			g.why = append(g.why, err.Error())
		} else {
			g.why = append(g.why, res.Status+" "+u)
		}
	}
	return false
}

// sent is how many GETs were sent.
func (g *getTally) sent() int64 { return g.ok.Load() + g.failed.Load() }

// reasons are the first failures.
func (g *getTally) reasons() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.why)
}

// seedTopics posts n topics through nginx and waits until every reader
// holds them all, so that a 404 later can only mean a failure.
func seedTopics(t *testing.T, s *stack, n int) []string {
	t.Helper()
	var topics []string
	var last int64
	for i := range n {
		c := s.api.PostComment(t, s.nginx, "", "", "ann", fmt.Sprint("topic ", i))
		topics, last = append(topics, c.Topic), c.Position
	}
	for _, r := range s.readers {
		if res := s.api.Get(t, fmt.Sprintf("http://%s/last_topics?min_position=%d", r, last)); res.Status != http.StatusOK {
			t.Fatalf("reader %s at position %d: %d %s", r, last, res.Status, res.Body)
		}
	}
	return topics
}

// readLoad is GETs sent through nginx by several goroutines until halted:
// the topics' pages in turn, and /last_topics every third, each counted.
type readLoad struct {
	gets getTally
	stop chan struct{}
	wg   sync.WaitGroup
}

// startReadLoad starts workers goroutines of GETs over topics.
func startReadLoad(s *stack, topics []string, workers int) *readLoad {
	l := &readLoad{stop: make(chan struct{})}
	for w := range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := w; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				u := s.nginx + "/topic_comments?topic_id=" + topics[i%len(topics)]
				if i%3 == 0 {
					u = s.nginx + "/last_topics"
				}
				l.gets.get(s.api.HTTP, u)
			}
		}()
	}
	return l
}

// halt stops the GETs and waits for the goroutines.
func (l *readLoad) halt() {
	close(l.stop)
	l.wg.Wait()
}
