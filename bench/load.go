package main

import (
	"cmp"
	"net/http"
	"slices"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// loadResult is one attack's outcome.
type loadResult struct {
	rps      float64 // successful requests per second
	p50, p99 time.Duration
	max      time.Duration
	requests uint64
	success  float64
	codes    map[string]int
	errors   []string
}

// attack runs targets at full speed from conc workers for dur. Bodies are
// read and discarded (not kept), so the generator's memory stays flat.
func attack(name string, conc int, dur time.Duration, tr vegeta.Targeter) loadResult {
	a := vegeta.NewAttacker(
		vegeta.Workers(uint64(conc)), vegeta.MaxWorkers(uint64(conc)), vegeta.Connections(conc),
		vegeta.KeepAlive(true), vegeta.Timeout(30*time.Second), vegeta.MaxBody(0), vegeta.Redirects(0),
	)
	var m vegeta.Metrics
	for res := range a.Attack(tr, vegeta.Rate{Freq: 0}, dur, name) {
		m.Add(res)
	}
	m.Close()
	return loadResult{
		rps: m.Throughput, p50: m.Latencies.P50, p99: m.Latencies.P99, max: m.Latencies.Max,
		requests: m.Requests, success: m.Success, codes: m.StatusCodes, errors: m.Errors,
	}
}

// attackSplit is attack with separate figures per HTTP method.
func attackSplit(name string, conc int, dur time.Duration, tr vegeta.Targeter) map[string]loadResult {
	a := vegeta.NewAttacker(
		vegeta.Workers(uint64(conc)), vegeta.MaxWorkers(uint64(conc)), vegeta.Connections(conc),
		vegeta.KeepAlive(true), vegeta.Timeout(30*time.Second), vegeta.MaxBody(0), vegeta.Redirects(0),
	)
	ms := map[string]*vegeta.Metrics{"ALL": {}}
	for res := range a.Attack(tr, vegeta.Rate{Freq: 0}, dur, name) {
		ms["ALL"].Add(res)
		m := ms[res.Method]
		if m == nil {
			m = &vegeta.Metrics{}
			ms[res.Method] = m
		}
		m.Add(res)
	}
	out := map[string]loadResult{}
	for k, m := range ms {
		m.Close()
		out[k] = loadResult{rps: m.Throughput, p50: m.Latencies.P50, p99: m.Latencies.P99, max: m.Latencies.Max,
			requests: m.Requests, success: m.Success, codes: m.StatusCodes, errors: m.Errors}
	}
	return out
}

func staticGet(url string) vegeta.Targeter {
	return vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: url})
}

// percentiles of a sample, in place.
func percentiles(d []time.Duration, ps ...float64) []time.Duration {
	if len(d) == 0 {
		return make([]time.Duration, len(ps))
	}
	slices.Sort(d)
	out := make([]time.Duration, len(ps))
	for i, p := range ps {
		k := int(p*float64(len(d)-1) + 0.5)
		out[i] = d[min(k, len(d)-1)]
	}
	return out
}

// compare runs two attacks in alternating rounds, so that drift on a shared
// machine hits both alike, and returns each one's median round by rate.
func compare(rounds, conc int, dur time.Duration, a, b vegeta.Targeter) (loadResult, loadResult) {
	var as, bs []loadResult
	for range rounds {
		as = append(as, attack("a", conc, dur, a))
		bs = append(bs, attack("b", conc, dur, b))
	}
	return median(as), median(bs)
}

func median(rs []loadResult) loadResult {
	slices.SortFunc(rs, func(x, y loadResult) int {
		switch {
		case x.rps < y.rps:
			return -1
		case x.rps > y.rps:
			return 1
		}
		return 0
	})
	return rs[len(rs)/2]
}

// medianSplit is the round of a split attack (attackSplit) whose
// throughput over all its requests is the median one.
func medianSplit(rs []map[string]loadResult) map[string]loadResult {
	slices.SortFunc(rs, func(a, b map[string]loadResult) int { return cmp.Compare(a["ALL"].rps, b["ALL"].rps) })
	return rs[len(rs)/2]
}
