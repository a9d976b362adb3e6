package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"
)

// soakSimplest is the soak's load against the simplest service alone, by
// minute, as the soak measures Parley (bench -only soak-simplest; not part
// of the long profile): the read ceiling's static servers answering with
// one of Parley's 50-comment pages, the honest baseline's INSERT for the
// POSTs, the same nginx configuration. It tells whether this machine holds
// the soak's goal, throughput flat within ±10 % by minute, for a service
// that does nothing but answer: soak-beside's half minutes are a shorter
// window than the goal's minute. Parley's processes are stopped once its
// page is taken, so that only the simplest service runs.
func (h *harness) soakSimplest(ctx context.Context) error {
	minutes, err := h.soakMinutes("soak simplest")
	if err != nil {
		return err
	}
	s, topics, _, err := h.soakStack(ctx, "bench_soak_simplest")
	if err != nil {
		return err
	}
	simplest, err := h.startSimplestSoak(s, topics, "soak-simplest")
	s.Stop()
	if err != nil {
		return err
	}
	defer simplest.Stop()
	host := simplest.host
	load := soakLoad(host, topics)
	fmt.Fprintf(os.Stderr, "  soak simplest: a minute of warm-up…\n")
	rawAttack(host, 32, time.Minute, load)
	fmt.Fprintf(os.Stderr, "  soak simplest: %d minutes of the soak's load against the simplest service alone…\n", minutes)

	var b strings.Builder
	fmt.Fprintf(&b, "Soak of the simplest service alone: %d minutes of the soak's load (95 %% GETs of 50-comment pages, 5 %% POSTs over 200 topics, 32 connections through nginx, fsync on) against the read ceiling's static servers answering with one of Parley's 50-comment pages and the honest baseline's INSERT, behind the same nginx configuration, one load of a minute after another, after a minute of warm-up:\n\n", minutes)
	b.WriteString("| minute | requests/s | GET p99 | POST p99 | POST max | over 1 s / failed | CPU µs a request: load generator / nginx / baseline / static servers / Postgres (all) | probe: a walk through memory, µs (the minute's median) |\n|---|---|---|---|---|---|---|---|\n")
	var rates []float64
	var worstP99 time.Duration
	over1s, failed := 0, 0
	probe := startProbe()
	begin := time.Now()
	for k := range minutes {
		from, meter := time.Since(begin), simplest.meter()
		ss := rawAttack(host, 32, time.Minute, load)
		_, walk, _ := probe.median(from, time.Since(begin))
		all := summarize(ss, time.Minute, nil)
		gets := summarize(ss, time.Minute, func(s sample) bool { return s.get })
		posts := summarize(ss, time.Minute, func(s sample) bool { return !s.get })
		n1s, nf := slowAndFailed(ss)
		rates = append(rates, all.rps)
		worstP99 = max(worstP99, posts.p99)
		over1s, failed = over1s+n1s, failed+nf
		fmt.Fprintf(&b, "| %d | %.0f | %s | %s | %s | %d / %d | %s | %.0f |\n", k+1, all.rps, ms(gets.p99), ms(posts.p99), ms(posts.max), n1s, nf,
			meter.per(float64(all.requests)).short(), float64(walk.Nanoseconds())/1e3)
	}
	probe.Stop()
	h.tables = append(h.tables, b.String())
	h.add("soak simplest", "the simplest service alone: requests/s by minute", rateSpread(rates), "", "", "within ±10% (the soak's goal, for Parley)")
	h.add("soak simplest", "  its POST p99, worst minute", ms(worstP99), "", "", "")
	h.add("soak simplest", "  requests over 1 s, failed", fmt.Sprintf("%d, %d", over1s, failed), "", "", "")
	return nil
}
