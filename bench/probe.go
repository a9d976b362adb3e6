package main

import (
	"crypto/sha256"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// speedProbe measures how fast the machine runs two fixed pieces of work,
// in the CPU time of the thread doing them, once a second while a long run
// goes on: one in the core's own caches (hashing, sorting), one that walks
// memory far larger than the caches. On a shared VM the same instructions
// can cost more CPU time in some minutes than in others (a busy neighbour
// on the core's sibling, or in the host's memory); a closed-loop load's
// throughput follows that, and the probe tells those minutes from ones
// where Parley did more work. Its own cost is about 6 ms of CPU a second.
type speedProbe struct {
	start time.Time
	stop  chan struct{}
	done  sync.WaitGroup
	mu    sync.Mutex
	runs  []probeRun
}

type probeRun struct {
	at          time.Duration // since start
	cpu, memory time.Duration // the thread's CPU time for each piece of work
}

// chaseLen is the memory walk's array, 64 MB of uint32: several times the
// last-level cache a VM of this size gets, so that most steps miss it.
const chaseLen = 16 << 20

// startProbe starts a probe; Stop ends it.
func startProbe() *speedProbe {
	p := &speedProbe{start: time.Now(), stop: make(chan struct{})}
	p.done.Add(1)
	go p.loop()
	return p
}

func (p *speedProbe) loop() {
	defer p.done.Done()
	// One thread for the whole probe, so that the thread's CPU clock counts
	// the work and nothing else.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	buf := make([]byte, 64<<10)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	keys := make([]uint32, 16<<10)
	scratch := make([]uint32, len(keys))
	x := uint32(2463534242)
	for i := range keys {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		keys[i] = x
	}
	// One cycle through the whole array in a random order (Sattolo's
	// algorithm), so that each step's address depends on the last load.
	next := make([]uint32, chaseLen)
	for i := range next {
		next[i] = uint32(i)
	}
	for i := len(next) - 1; i > 0; i-- {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		j := int(x % uint32(i))
		next[i], next[j] = next[j], next[i]
	}
	at := uint32(0)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		before := threadCPU()
		// Hashing (arithmetic on a buffer in the core's caches) and sorting
		// (branches, memory moves): about a millisecond together.
		for range 4 {
			sha256.Sum256(buf)
		}
		copy(scratch, keys)
		slices.Sort(scratch)
		mid := threadCPU()
		for range 20000 {
			at = next[at]
		}
		end := threadCPU()
		p.mu.Lock()
		p.runs = append(p.runs, probeRun{at: time.Since(p.start), cpu: mid - before, memory: end - mid})
		p.mu.Unlock()
	}
}

// Stop ends the probe and waits for its goroutine.
func (p *speedProbe) Stop() {
	close(p.stop)
	p.done.Wait()
}

// median is the median CPU time of each of the probe's two pieces of work
// in its runs between from and to (since its start), and how many runs
// there were.
func (p *speedProbe) median(from, to time.Duration) (cpu, memory time.Duration, n int) {
	p.mu.Lock()
	var cs, ms []time.Duration
	for _, r := range p.runs {
		if r.at >= from && r.at < to {
			cs, ms = append(cs, r.cpu), append(ms, r.memory)
		}
	}
	p.mu.Unlock()
	if len(cs) == 0 {
		return 0, 0, 0
	}
	return percentiles(cs, 0.5)[0], percentiles(ms, 0.5)[0], len(cs)
}

func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// medianOf is the median of xs (the upper one of an even count), which
// must not be empty.
func medianOf(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// spreadOf is the least and greatest of xs, their median, and the distance
// from the median to the farther of the two, as a share of the median.
func spreadOf(xs []float64) (lo, hi, mid, spread float64) {
	lo, hi, mid = slices.Min(xs), slices.Max(xs), medianOf(xs)
	return lo, hi, mid, max(mid-lo, hi-mid) / mid
}

// withinOf is how many of xs lie within frac of their median.
func withinOf(xs []float64, frac float64) int {
	mid, n := medianOf(xs), 0
	for _, x := range xs {
		if math.Abs(x-mid) <= frac*mid {
			n++
		}
	}
	return n
}

// allPositive tells whether xs holds values and all are above zero: a
// stretch in which the probe did not run has a zero.
func allPositive(xs []float64) bool {
	for _, x := range xs {
		if x <= 0 {
			return false
		}
	}
	return len(xs) > 0
}

// inverse is 1/x for each x.
func inverse(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = 1 / x
	}
	return out
}

// correlation is Pearson's r of xs and ys (0 when either does not vary).
func correlation(xs, ys []float64) float64 {
	n := float64(len(xs))
	var mx, my float64
	for i := range xs {
		mx, my = mx+xs[i]/n, my+ys[i]/n
	}
	var sxy, sxx, syy float64
	for i := range xs {
		dx, dy := xs[i]-mx, ys[i]-my
		sxy, sxx, syy = sxy+dx*dy, sxx+dx*dx, syy+dy*dy
	}
	if sxx == 0 || syy == 0 {
		return 0
	}
	return sxy / math.Sqrt(sxx*syy)
}

// probeReading says how much a probe's minutes varied and how a minute's
// rate went with its speed (the inverse of its CPU time): the throughput
// of a load limited by the machine's speed goes with it, r near 1.
func probeReading(rates, costs []float64) string {
	lo, hi, _, spread := spreadOf(costs)
	return fmt.Sprintf("%.0f–%.0f µs (±%.1f%%), r = %.2f with the rate", lo/1e3, hi/1e3, spread*100, correlation(rates, inverse(costs)))
}
