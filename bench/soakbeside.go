package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/parley/parley/internal/procs"
)

// soakBeside is a diagnosis of the soak's minutes (bench -only
// soak-beside; not part of the long profile): the soak's load for
// h.soakDur, in half minutes that alternate between Parley and the
// simplest service (the read ceiling's static servers answering with one
// of Parley's 50-comment pages, and the honest baseline's INSERT for the
// POSTs, behind the same nginx configuration). Each minute then has a
// rate and a CPU a request by process for each, taken thirty seconds
// apart on the same machine. If the simplest service's rate moves from
// minute to minute as Parley's does, the moves are the machine's; what
// is left of Parley's own is the spread of the two's ratio. Parley takes
// half the load a soak would give it, so its tables grow half as fast.
func (h *harness) soakBeside(ctx context.Context) error {
	minutes, err := h.soakMinutes("soak beside")
	if err != nil {
		return err
	}
	s, topics, metrics, err := h.soakStack(ctx, "bench_soak_beside")
	if err != nil {
		return err
	}
	defer s.Stop()
	simplest, err := h.startSimplestSoak(s, topics, "soak-beside")
	if err != nil {
		return err
	}
	defer simplest.Stop()
	hosts := [2]string{strings.TrimPrefix(s.url, "http://"), simplest.host}
	loads := [2]rawRequest{soakLoad(hosts[0], topics), soakLoad(hosts[1], topics)}
	meters := [2]func() *cpuMeter{func() *cpuMeter { return h.meter(s) }, simplest.meter}

	const half = 30 * time.Second
	fmt.Fprintf(os.Stderr, "  soak beside: half a minute of warm-up each…\n")
	for i := range hosts {
		rawAttack(hosts[i], 32, half, loads[i])
	}
	fmt.Fprintf(os.Stderr, "  soak beside: %d minutes, Parley and the simplest service in turns every %s…\n", minutes, half)
	type leg struct {
		rate       float64
		post       loadResult
		cpu        cpuPer
		walk       time.Duration
		over1s, nf int
		busy       [busyKinds]float64 // Postgres's backends, pgBusy's means
		busyN      int
		pg         string // WAL and checkpoints, pgStats.since
		tx         string // the writer's comment transactions, Parley's halves only
	}
	var runs [][2]leg
	busy, err := startPgBusy(ctx, h.admin)
	if err != nil {
		return err
	}
	probe := startProbe()
	begin := time.Now()
	for range minutes {
		var m [2]leg
		for i := range hosts {
			from, meter := time.Since(begin), meters[i]()
			pg0, _ := samplePostgres(ctx, h.admin)
			var tx0 map[string]txStats // the writer's, in Parley's halves
			if i == 0 {
				tx0, _ = scrapeWriter(metrics)
			}
			busyFrom := time.Since(busy.start)
			ss := rawAttack(hosts[i], 32, half, loads[i])
			_, walk, _ := probe.median(from, time.Since(begin))
			all := summarize(ss, half, nil)
			post := summarize(ss, half, func(s sample) bool { return !s.get })
			m[i] = leg{rate: all.rps, post: post, walk: walk, cpu: meter.per(float64(all.requests))}
			m[i].busy, m[i].busyN = busy.mean(busyFrom, time.Since(busy.start))
			pg1, _ := samplePostgres(ctx, h.admin)
			m[i].pg = pg1.since(pg0, post.requests)
			m[i].tx = "–"
			if tx0 != nil {
				if tx1, err := scrapeWriter(metrics); err == nil {
					m[i].tx = tx1["topics"].since(tx0["topics"], half)
				}
			}
			m[i].over1s, m[i].nf = slowAndFailed(ss)
		}
		runs = append(runs, m)
	}
	probe.Stop()
	if err := busy.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "  soak beside: pg_stat_activity: %v\n", err)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "Soak beside the simplest service: %d minutes of the soak's load (95 %% GETs of 50-comment pages, 5 %% POSTs over 200 topics, 32 connections through nginx, fsync on), each minute half Parley and half the simplest service (static servers answering with one of Parley's 50-comment pages, the honest baseline's INSERT, the same nginx configuration), after half a minute of warm-up each:\n\n", minutes)
	b.WriteString("| minute | Parley: requests/s | simplest: requests/s | Parley ÷ simplest | Parley: POST p99 | simplest: POST p99 | over 1 s / failed, Parley and simplest | probe: a walk through memory in Parley's half / the simplest's, µs | CPU µs a request, Parley: load generator / nginx / writer / readers / Postgres (all) | the same, simplest (static servers as readers, the baseline as writer) | Postgres's backends on average in Parley's half (pg_stat_activity ten times a second): autovacuum / compaction / checkpointer / client backends running a statement (of them waiting on a lock, an LWLock, I/O) | the same, the simplest's half | WAL a comment, full-page images a comment, pages the checkpointer wrote: Parley's half | the same, the simplest's half | the writer's comment transactions in Parley's half: a second × commands, mean, p99 |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	var rates, speed [2][]float64 // speed: each leg's walk through memory
	var ratios []float64
	var worstP99 [2]time.Duration
	over1s, failed := 0, 0
	for k, m := range runs {
		for i := range m {
			rates[i] = append(rates[i], m[i].rate)
			worstP99[i] = max(worstP99[i], m[i].post.p99)
			speed[i] = append(speed[i], float64(m[i].walk))
			over1s, failed = over1s+m[i].over1s, failed+m[i].nf
		}
		ratios = append(ratios, m[0].rate/m[1].rate)
		fmt.Fprintf(&b, "| %d | %.0f | %.0f | %.2f× | %s | %s | %d / %d, %d / %d | %.0f / %.0f | %s | %s | %s | %s | %s | %s | %s |\n", k+1, m[0].rate, m[1].rate, m[0].rate/m[1].rate,
			ms(m[0].post.p99), ms(m[1].post.p99), m[0].over1s, m[0].nf, m[1].over1s, m[1].nf, float64(m[0].walk.Nanoseconds())/1e3, float64(m[1].walk.Nanoseconds())/1e3,
			m[0].cpu.short(), m[1].cpu.short(), busyCell(m[0].busy, m[0].busyN), busyCell(m[1].busy, m[1].busyN), m[0].pg, m[1].pg, m[0].tx)
	}
	h.tables = append(h.tables, b.String())
	for i, name := range [2]string{"Parley", "the simplest service"} {
		h.add("soak beside", name+": requests/s by minute", rateSpread(rates[i]), "", "", "")
		if allPositive(speed[i]) {
			h.add("soak beside", "  its rate and the machine's speed (the probe's walk)", fmt.Sprintf("r = %.2f", correlation(rates[i], inverse(speed[i]))), "", "", "")
		}
		h.add("soak beside", "  its POST p99, worst minute", ms(worstP99[i]), "", "", "")
	}
	// Which of Postgres's activities Parley's slow minutes come with: a
	// minute's ratio against each activity's mean in Parley's half.
	var with []string
	for k := range busyKinds {
		var xs []float64
		for _, m := range runs {
			xs = append(xs, m[0].busy[k])
		}
		with = append(with, fmt.Sprintf("%s %.2f", busyNames[k], correlation(ratios, xs)))
	}
	h.add("soak beside", "Parley ÷ simplest by minute, against Postgres's backends in Parley's half (r)", strings.Join(with, ", "), "", "", "")
	lo, hi, mid, sp := spreadOf(ratios)
	h.add("soak beside", "Parley ÷ the simplest service, by minute", fmt.Sprintf("%.2f–%.2f×, median %.2f×: ±%.1f%%", lo, hi, mid, sp*100), "", "", "")
	if walks := append(slices.Clone(speed[0]), speed[1]...); allPositive(walks) {
		lo, hi, _, sp := spreadOf(walks)
		h.add("soak beside", "the probe's walk through memory, by half minute", fmt.Sprintf("%.0f–%.0f µs: ±%.1f%%", lo/1e3, hi/1e3, sp*100), "", "", "")
	}
	h.add("soak beside", "requests over 1 s, failed", fmt.Sprintf("%d, %d", over1s, failed), "", "", "")
	return nil
}

// simplestStack is the simplest service of the soak's load: the read
// ceiling's static servers answering with the 50-comment page of Parley's
// first topic, the honest baseline's INSERT on Parley's database, and nginx
// in front of both.
type simplestStack struct {
	base, nginx *procs.Proc
	host        string // nginx's host:port
	statics     []int  // the static servers' pids
}

// startSimplestSoak starts the simplest service of the soak's load beside
// the Parley stack s, which serves it the page.
func (h *harness) startSimplestSoak(s *services, topics []string, name string) (*simplestStack, error) {
	path := "/topic_comments?limit=50&topic_id=" + topics[0]
	page, err := apiClient{s.url}.get(path)
	if err != nil {
		return nil, err
	}
	bodyFile := filepath.Join(h.work, name+"-page50.json")
	if err := os.WriteFile(bodyFile, page, 0o644); err != nil {
		return nil, err
	}
	statics, pids, err := h.startStatics(name+"-static", bodyFile)
	if err != nil {
		return nil, err
	}
	base, ngx, url, err := h.startSimplest(name, s.db, statics, path)
	if err != nil {
		return nil, err
	}
	return &simplestStack{base: base, nginx: ngx, host: strings.TrimPrefix(url, "http://"), statics: pids}, nil
}

// Stop stops the baseline and nginx (the static servers stop with the harness).
func (st *simplestStack) Stop() {
	st.base.Stop()
	st.nginx.Stop()
}

// meter starts measuring the CPU of the simplest service's processes.
func (st *simplestStack) meter() *cpuMeter {
	return newMeter(st.base.Pid(), st.statics, st.nginx.Pid())
}
