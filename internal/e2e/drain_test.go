package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/parley/parley/internal/stacktest"
)

// TestDrainReaderUnderLoad (SPEC §12): SIGTERM to a reader under GETs
// through nginx makes its /readyz fail first (DRAIN_DELAY, while it still
// serves), then it stops taking requests, finishes those in flight and
// exits; nginx sends the rest to the other reader. Not one GET fails, and
// the reader, started again, takes its share back. The writer drains the
// same way.
func TestDrainReaderUnderLoad(t *testing.T) {
	s := newStack(t, stackOpts{env: []string{"DRAIN_DELAY=1s"}})
	topics := seedTopics(t, s, 20)
	served := func(i int) float64 { return readerStats(t, s.readers[i])["requests"] }
	before0, before1 := served(0), served(1)
	load := startReadLoad(s, topics, 8)
	gets := &load.gets
	stacktest.Eventually(t, 15*time.Second, func() bool { return served(0) > before0+50 && served(1) > before1+50 })

	// SIGTERM, and meanwhile watch the reader's own /readyz.
	ready := "http://" + s.readers[0] + "/readyz"
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		s.procs["reader1"].Stop()
	}()
	var drainingSeen bool
	stacktest.Eventually(t, 5*time.Second, func() bool {
		res, err := http.Get(ready)
		if err != nil {
			return false // already gone: the check below fails
		}
		res.Body.Close()
		drainingSeen = res.StatusCode == http.StatusServiceUnavailable
		return drainingSeen
	})
	<-stopped
	okAtStop := gets.ok.Load()
	stacktest.Eventually(t, 15*time.Second, func() bool { return gets.ok.Load() >= okAtStop+300 })
	s.startReader(t, 0)
	rejoined := served(0)
	stacktest.Eventually(t, 15*time.Second, func() bool { return served(0) > rejoined+20 })

	// The writer drains too: its /readyz fails, then it stops.
	wready := "http://" + s.writer + "/readyz"
	if res := stacktest.Get(t, wready); res.Status != http.StatusOK { // not the API: a plain client
		t.Fatalf("writer /readyz before the stop: %d %s", res.Status, res.Body)
	}
	wstopped := make(chan struct{})
	go func() {
		defer close(wstopped)
		s.procs["writer"].Stop()
	}()
	stacktest.Eventually(t, 5*time.Second, func() bool {
		res, err := http.Get(wready)
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusServiceUnavailable
	})
	load.halt()
	<-wstopped

	t.Logf("reader drained (readiness failed first: %v) and restarted under load: GETs %d, failed %d",
		drainingSeen, gets.sent(), gets.failed.Load())
	if gets.failed.Load() != 0 {
		t.Fatalf("%d of %d GETs failed while a reader drained; first: %q", gets.failed.Load(), gets.sent(), gets.reasons())
	}
}
