package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley/parley/internal/procs"
)

// concurrentBigReads: 64 clients read the 50,000-comment topic at once,
// each whole but for its first few comments (a different `after` each, so
// no two share a rendered page), three times over. Beside it, one comment
// a tenth of a second is written and the time until the reader has applied
// it is taken: the apply latency, with and without the reads. The reader's
// RSS is sampled throughout.
func (h *harness) concurrentBigReads(r, w *procs.Proc, topic string) error {
	const clients, rounds = 64, 3
	base := "http://" + r.Addr
	b, err := apiClient{base}.get("/topic_comments?topic_id=" + topic + "&limit=" + strconv.Itoa(clients))
	if err != nil {
		return err
	}
	var first []struct {
		Path string `json:"parent_path"`
	}
	if err := json.Unmarshal(b, &first); err != nil || len(first) != clients {
		return fmt.Errorf("first comments of the big topic: %d, %v", len(first), err)
	}

	applyLatency := func(stop <-chan struct{}) ([]time.Duration, error) {
		var lat []time.Duration
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return lat, nil
			case <-t.C:
			}
			res, err := apiClient{"http://" + w.Addr}.post("/post_comment", map[string]any{"topic_id": topic, "content": "while reading", "user": "bench"})
			if err != nil {
				return lat, err
			}
			pos := int64(res["position"].(float64))
			t0 := time.Now()
			for applied(base) < pos {
				time.Sleep(200 * time.Microsecond)
				if time.Since(t0) > 30*time.Second {
					return lat, fmt.Errorf("position %d not applied in 30 s", pos)
				}
			}
			lat = append(lat, time.Since(t0))
		}
	}

	// Apply latency with nothing else going on: the ceiling.
	stop := make(chan struct{})
	time.AfterFunc(2*time.Second, func() { close(stop) })
	idle, err := applyLatency(stop)
	if err != nil {
		return err
	}

	waitBefore := applyWaitMax(base)
	rssBefore := rssBytes(r.Pid())
	var peak atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if rss := rssBytes(r.Pid()); rss > peak.Load() {
				peak.Store(rss)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	latStop := make(chan struct{})
	var busy []time.Duration
	var latErr error
	wg.Add(1)
	go func() { defer wg.Done(); busy, latErr = applyLatency(latStop) }()

	var ok, refused, failed atomic.Int64
	var slowest atomic.Int64
	began := time.Now()
	var readers sync.WaitGroup
	for i := range clients {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for range rounds {
				u := base + "/topic_comments?topic_id=" + topic + "&after=" + url.QueryEscape(first[i].Path)
				t0 := time.Now()
				res, err := http.Get(u)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				switch res.StatusCode {
				case 200:
					ok.Add(1)
				case 503:
					refused.Add(1)
				default:
					failed.Add(1)
				}
				if d := int64(time.Since(t0)); d > slowest.Load() {
					slowest.Store(d)
				}
			}
		}()
	}
	readers.Wait()
	took := time.Since(began)
	close(latStop)
	close(done)
	wg.Wait()
	if latErr != nil {
		return latErr
	}
	time.Sleep(2 * time.Second) // let the collector give memory back, as a real reader would between bursts
	rssAfter := rssBytes(r.Pid())

	name := fmt.Sprintf("%d concurrent full reads of the 50k topic, %d rounds", clients, rounds)
	h.add("scale", name+": answers", fmt.Sprintf("%d × 200, %d × 503, %d failed in %s; slowest %s", ok.Load(), refused.Load(), failed.Load(),
		took.Round(time.Millisecond), ms(time.Duration(slowest.Load()))), "", "", "no failure")
	h.add("scale", name+": reader RSS", fmt.Sprintf("before %s, peak %s, 2 s after %s", mb(rssBefore), mb(peak.Load()), mb(rssAfter)),
		"", "", "bounded")
	bp, ip := percentiles(busy, 0.5, 0.99, 1), percentiles(idle, 0.5, 0.99, 1)
	h.add("scale", name+": apply latency (write → applied)", fmt.Sprintf("p50 %s p99 %s max %s", ms(bp[0]), ms(bp[1]), ms(bp[2])),
		fmt.Sprintf("idle: p50 %s p99 %s max %s", ms(ip[0]), ms(ip[1]), ms(ip[2])), "", "")
	h.add("scale", name+": longest wait of Apply for the lock", fmt.Sprintf("%.2f ms", float64(applyWaitMax(base))/1e3),
		fmt.Sprintf("before the reads: %.2f ms", float64(waitBefore)/1e3), "", "a few ms")
	return nil
}

// applyWaitMax is the reader's longest wait of Apply for its lock so far,
// in microseconds (/internal/stats).
func applyWaitMax(base string) int64 {
	req, _ := http.NewRequest(http.MethodGet, base+"/internal/stats", nil)
	req.Header.Set("Authorization", "Bearer "+benchToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1
	}
	defer res.Body.Close()
	var st struct {
		Wait int64 `json:"apply_wait_max_us"`
	}
	if json.NewDecoder(res.Body).Decode(&st) != nil {
		return -1
	}
	return st.Wait
}

// applied is the position the reader has applied (its X-Log-Position).
func applied(base string) int64 {
	res, err := http.Head(base + "/healthz")
	if err != nil {
		return 0
	}
	res.Body.Close()
	n, _ := strconv.ParseInt(res.Header.Get("X-Log-Position"), 10, 64)
	return n
}
