package main

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// soak is issue 14's sustained load, part of the long profile: 95 % GETs
// of 50-comment pages and 5 % comment POSTs over 200 topics, from 32
// connections through nginx, for h.soakDur. It reports each minute's
// throughput and latencies, and checks the three goals: POST p99 ≤ 50 ms
// in every minute, no request over 1 s, and throughput flat within 10 %.
func (h *harness) soak(ctx context.Context) error {
	s, topics, metrics, err := h.soakStack(ctx, "bench_soak")
	if err != nil {
		return err
	}
	defer s.Stop()
	host := strings.TrimPrefix(s.url, "http://")
	req := soakLoad(host, topics)
	// A minute of the same load first, not counted: the readers load the
	// topics they serve and render their pages, the writer prepares its
	// statements, and autovacuum visits the freshly loaded tables.
	fmt.Fprintf(os.Stderr, "  soak: a minute of warm-up…\n")
	rawAttack(host, 32, time.Minute, req)
	m := h.meter(s)
	fmt.Fprintf(os.Stderr, "  soak: %s of 95/5 GET/POST from 32 connections…\n", h.soakDur)
	// Each process's CPU at every minute's end, so that what grows with
	// time shows in the process that pays for it.
	marks := []map[string]time.Duration{m.snapshot()}
	type ticks struct{ busy, idle, steal int64 }
	var machine []ticks
	var txs []map[string]txStats // the writer's by lane, at the same marks; a failed scrape leaves none
	var pgs []pgStats            // Postgres's, likewise; the first and last bound the soak's totals
	mark := func() {
		marks = append(marks, m.snapshot())
		b, i, st := machineTicks()
		machine = append(machine, ticks{b, i, st})
		tx, err := scrapeWriter(metrics)
		if err != nil {
			fmt.Fprintf(os.Stderr, "  soak: the writer's metrics: %v\n", err)
		}
		txs = append(txs, tx)
		pg, err := samplePostgres(ctx, h.admin)
		if err != nil {
			fmt.Fprintf(os.Stderr, "  soak: Postgres's statistics: %v\n", err)
		}
		pgs = append(pgs, pg)
	}
	marks = marks[:0]
	mark()
	stop := make(chan struct{})
	var marking sync.WaitGroup
	marking.Add(1)
	go func() {
		defer marking.Done()
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				mark()
			}
		}
	}()
	probe := startProbe()
	samples := rawAttack(host, 32, h.soakDur, req)
	probe.Stop()
	close(stop)
	marking.Wait()
	if len(marks) <= int(h.soakDur/time.Minute) { // the last tick came after the load ended
		mark()
	}
	all := summarize(samples, h.soakDur, nil)
	cpu := m.per(float64(all.requests))
	pgBefore, pgAfter := pgs[0], pgs[len(pgs)-1]
	if !pgBefore.ok || !pgAfter.ok {
		return fmt.Errorf("soak: no statistics from Postgres at its start or end")
	}
	posts := summarize(samples, h.soakDur, func(s sample) bool { return !s.get })

	minutes := int((h.soakDur + time.Minute - 1) / time.Minute)
	var b strings.Builder
	fmt.Fprintf(&b, "Soak: %s of 95 %% GET (50-comment pages) / 5 %% POST over 200 topics, 32 connections through nginx, fsync on, after a minute of warm-up:\n\n", h.soakDur)
	b.WriteString("| minute | requests/s | GET p50 | GET p99 | GET max | POST p50 | POST p99 | POST max | over 1 s | failed | CPU µs a request: load generator / nginx / writer / readers / Postgres | CPU µs a request, the rest (kernel, other processes) | machine busy | of it stolen (hypervisor) | writer's transactions, comments: a second × commands, mean, p99 | writer's transactions, view batches: a second × commands, mean, p99 | Postgres: WAL a comment, full-page images a comment, pages the checkpointer wrote | probe: CPU µs of a fixed piece of work in the caches / of a walk through memory, the minute's medians |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	var rates []float64                 // full minutes only
	var probed, probes, walks []float64 // the rates of the full minutes the probe ran in, and its medians
	worstPostP99, worst, over1s, failed := time.Duration(0), time.Duration(0), 0, 0
	// In start order, so that each minute is one slice of them.
	slices.SortFunc(samples, func(x, y sample) int { return cmp.Compare(x.at, y.at) })
	for k := range minutes {
		from, to := time.Duration(k)*time.Minute, min(time.Duration(k+1)*time.Minute, h.soakDur)
		i, _ := slices.BinarySearchFunc(samples, from, func(s sample, t time.Duration) int { return cmp.Compare(s.at, t) })
		j, _ := slices.BinarySearchFunc(samples, to, func(s sample, t time.Duration) int { return cmp.Compare(s.at, t) })
		in := samples[i:j]
		g := summarize(in, to-from, func(s sample) bool { return s.get })
		p := summarize(in, to-from, func(s sample) bool { return !s.get })
		n1s, nf := slowAndFailed(in)
		rate := g.rps + p.rps
		probeCPU, probeWalk, probeRuns := probe.median(from, to)
		if to-from == time.Minute { // a last partial minute is not compared
			rates = append(rates, rate)
			if probeRuns > 0 {
				probed = append(probed, rate)
				probes, walks = append(probes, float64(probeCPU)), append(walks, float64(probeWalk))
			}
		}
		worstPostP99, worst = max(worstPostP99, p.p99), max(worst, g.max, p.max)
		over1s, failed = over1s+n1s, failed+nf
		busy, other, stolen, tx, views, pg := "–", "–", "–", "–", "–", "–"
		if k+1 < len(machine) && len(in) > 0 {
			db, di := machine[k+1].busy-machine[k].busy, machine[k+1].idle-machine[k].idle
			busy = fmt.Sprintf("%.0f %%", 100*float64(db)/float64(max(1, db+di)))
			stolen = fmt.Sprintf("%.1f %%", 100*float64(machine[k+1].steal-machine[k].steal)/float64(max(1, db+di)))
			var parts time.Duration
			for _, part := range cpuParts {
				parts += marks[k+1][part] - marks[k][part]
			}
			other = fmt.Sprintf("%.0f", float64((time.Duration(db)*time.Second/clockTicks-parts).Microseconds())/float64(len(in)))
			tx = txs[k+1]["topics"].since(txs[k]["topics"], to-from)
			views = txs[k+1]["other"].since(txs[k]["other"], to-from)
			pg = pgs[k+1].since(pgs[k], p.requests)
		}
		fmt.Fprintf(&b, "| %d | %.0f | %s | %s | %s | %s | %s | %s | %d | %d | %s | %s | %s | %s | %s | %s | %s | %.0f / %.0f |\n", k+1, rate, ms(g.p50), ms(g.p99), ms(g.max), ms(p.p50), ms(p.p99), ms(p.max), n1s, nf, minuteCPU(marks, k, len(in)), other, busy, stolen, tx, views, pg, float64(probeCPU.Nanoseconds())/1e3, float64(probeWalk.Nanoseconds())/1e3)
	}
	if len(rates) == 0 {
		return fmt.Errorf("soak: no full minute to compare")
	}
	fmt.Fprintf(&b, "\nCPU per request over the soak (all processes): %s. WAL: %.0f bytes per comment posted; checkpoints requested by WAL volume during the soak: %d.\n",
		cpu, float64(pgAfter.walLSN-pgBefore.walLSN)/float64(posts.requests), pgAfter.ckptReq-pgBefore.ckptReq)
	h.tables = append(h.tables, b.String())
	h.add("soak", fmt.Sprintf("%s mixed 95/5: POST p99, worst minute", h.soakDur), ms(worstPostP99), "", "", "≤ 50 ms")
	h.add("soak", "requests over 1 s (slowest request)", fmt.Sprintf("%d (%s)", over1s, ms(worst)), "", "", "0")
	h.add("soak", "throughput per minute, farthest from the median minute", rateSpread(rates), "", "", "within ±10%")
	if len(probed) > 0 {
		h.add("soak", "the machine's speed by minute, the probe (not a goal: a reading of the row above)", fmt.Sprintf("in the caches %s, through memory %s", probeReading(probed, probes), probeReading(probed, walks)), "", "", "–")
	}
	if failed > 0 {
		h.notes = append(h.notes, fmt.Sprintf("soak: %d requests failed", failed))
	}
	return nil
}

// soakStack starts a stack on a fresh database named name holding the
// soak's 200 topics of 50 comments, and returns it, the topics' ids and
// the URL of its writer's metrics. The writer's metrics only in the
// soaks: its transactions minute by minute, to tell a slower commit from
// a longer queue. The other parts measure the writer without them.
func (h *harness) soakStack(ctx context.Context, name string) (s *services, topics []string, metrics string, err error) {
	addr := freeAddr()
	h.writerEnv = []string{"METRICS_ADDR=" + addr}
	s, err = h.stack(ctx, name, func(db string) error { return bulkStore(ctx, db, 200, 50, 140, 0) })
	h.writerEnv = nil
	if err != nil {
		return nil, nil, "", err
	}
	if topics, err = topicIDs(ctx, s.db); err != nil {
		s.Stop()
		return nil, nil, "", err
	}
	return s, topics, "http://" + addr + "/metrics", nil
}

// soakMinutes is the whole minutes of -soak for a step that compares
// minutes, which needs two or more.
func (h *harness) soakMinutes(step string) (int, error) {
	minutes := int(h.soakDur / time.Minute)
	if minutes < 2 {
		return 0, fmt.Errorf("%s: -soak must be 2 minutes or more", step)
	}
	return minutes, nil
}

// soakLoad is the soak's requests to host: one in every 20 a comment POST,
// the others GETs of 50-comment pages, over topics.
func soakLoad(host string, topics []string) rawRequest {
	content := fmt.Sprintf("%q", sentence[:140])
	return func(i int64, buf []byte) ([]byte, bool) {
		tp := topics[rand.IntN(len(topics))]
		if i%20 == 0 {
			return postRequest(buf, host, "/post_comment", fmt.Appendf(nil, `{"topic_id":%q,"user":"soak%d","content":%s}`, tp, i%500, content)), false
		}
		return getRequest(buf, host, "/topic_comments?topic_id="+tp+"&limit=50"), true
	}
}

// slowAndFailed counts the samples that took over a second, and those
// that failed.
func slowAndFailed(ss []sample) (slow, failed int) {
	for _, s := range ss {
		if s.lat > time.Second {
			slow++
		}
		if !s.ok {
			failed++
		}
	}
	return slow, failed
}

// rateSpread is how far rates, requests a second by minute, spread from
// their median, and how many are within the soak's ±10 % of it:
// "13372–18002/s, median 16456/s: ±18.7%, 2 of 3 within ±10%".
func rateSpread(rates []float64) string {
	lo, hi, mid, spread := spreadOf(rates)
	return fmt.Sprintf("%.0f–%.0f/s, median %.0f/s: ±%.1f%%, %d of %d within ±10%%", lo, hi, mid, spread*100, withinOf(rates, 0.10), len(rates))
}

// minuteCPU is each process's CPU per request in minute k (from its marks;
// "–" for a minute without both).
func minuteCPU(marks []map[string]time.Duration, k, requests int) string {
	if k+1 >= len(marks) || requests == 0 {
		return "–"
	}
	var out []string
	for _, part := range cpuParts {
		out = append(out, fmt.Sprintf("%.0f", float64((marks[k+1][part]-marks[k][part]).Microseconds())/float64(requests)))
	}
	return strings.Join(out, " / ")
}

func topicIDs(ctx context.Context, db string) ([]string, error) {
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, `SELECT topic_id::text FROM topics ORDER BY topic_id`)
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// pgStats is what Postgres says of the WAL it wrote and its checkpoints,
// cluster-wide: the WAL position (bytes), and its counts since its
// statistics were last reset.
type pgStats struct {
	ok                                      bool
	walLSN, walBytes, fpi, ckptReq, ckptBuf int64
}

// samplePostgres reads the WAL position, pg_stat_wal and pg_stat_bgwriter
// (PostgreSQL 14–16).
func samplePostgres(ctx context.Context, admin string) (pgStats, error) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return pgStats{}, err
	}
	defer conn.Close(ctx)
	st := pgStats{ok: true}
	err = conn.QueryRow(ctx, `SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint, w.wal_bytes::bigint, w.wal_fpi, b.checkpoints_req, b.buffers_checkpoint
		FROM pg_stat_wal w, pg_stat_bgwriter b`).Scan(&st.walLSN, &st.walBytes, &st.fpi, &st.ckptReq, &st.ckptBuf)
	if err != nil {
		return pgStats{}, err
	}
	return st, nil
}

// since is a minute's WAL and full-page images per comment posted in it,
// and the pages the checkpointer wrote in it.
func (st pgStats) since(before pgStats, comments uint64) string {
	if !st.ok || !before.ok || comments == 0 {
		return "–"
	}
	n := float64(comments)
	return fmt.Sprintf("%.0f B, %.2f, %d", float64(st.walBytes-before.walBytes)/n, float64(st.fpi-before.fpi)/n, st.ckptBuf-before.ckptBuf)
}
