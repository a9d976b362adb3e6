package e2e

import (
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
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
