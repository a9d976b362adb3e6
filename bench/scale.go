package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley/parley/internal/procs"
	"github.com/parley/parley/internal/store"
)

func mb(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/1e6) }

// scale: section 4. Start-up and memory of a reader over a million stored
// comments and over one 50,000-comment topic; a full read of that topic;
// the cost of one refresh with a million comments stored against a thousand.
func (h *harness) scale(ctx context.Context) error {
	type store_ struct {
		name                       string
		topics, perTopic, votesPer int
	}
	refresh := map[string]time.Duration{}
	rssPer := map[string]int64{}
	for _, st := range []store_{{"bench_1m", 10000, 100, 0}, {"bench_1m_votes", 10000, 100, 1}, {"bench_1k", 10, 100, 0}, {"bench_50k", 1, 50000, 3}} {
		db, err := h.newDB(ctx, st.name)
		if err != nil {
			return err
		}
		began := time.Now()
		if err := bulkStore(ctx, db, st.topics, st.perTopic, 300, st.votesPer); err != nil {
			return fmt.Errorf("bulk load: %w", err)
		}
		n := st.topics * st.perTopic
		h.notes = append(h.notes, fmt.Sprintf("%s: %d comments in %d topics (300-byte contents), %d votes, bulk-loaded with COPY in %s",
			st.name, n, st.topics, n*st.votesPer, time.Since(began).Round(100*time.Millisecond)))
		raw, table, err := rawBytes(ctx, db)
		if err != nil {
			return err
		}
		w, err := h.startWriter(db)
		if err != nil {
			return err
		}
		r, startup, err := h.startReader("reader-"+st.name, db, w.Addr, nil)
		if err != nil {
			return err
		}
		time.Sleep(time.Second)
		rss := rssBytes(r.Pid())
		label := fmt.Sprintf("%d comments in %d topics", n, st.topics)
		if st.votesPer > 0 {
			label += fmt.Sprintf(", %d votes", n*st.votesPer)
		}
		rssPer[st.name] = rss / int64(n)
		if st.name != "bench_1k" {
			h.add("scale", "reader start-up (to /readyz), "+label, fmt.Sprintf("%.2f s", startup.Seconds()), "", "", "≤ 5 s")
			h.add("scale", "reader RSS after load, "+label, mb(rss), "raw data "+mb(raw)+", table "+mb(table),
				fmt.Sprintf("%.2f× raw", float64(rss)/float64(raw)), "≤ 2× raw")
			h.add("scale", "reader RSS per stored comment, "+label, fmt.Sprintf("%d B", rss/int64(n)),
				fmt.Sprintf("raw %d B", raw/int64(n)), "", "")
		}
		switch st.name {
		case "bench_50k":
			if err := h.bigTopic(r, w); err != nil {
				return err
			}
		case "bench_1m_votes":
		default:
			d, err := h.refreshCost(ctx, db, w.Addr, r.Addr)
			if err != nil {
				return err
			}
			refresh[st.name] = d
			if st.name == "bench_1m" {
				if err := h.backupCost(ctx, db, label); err != nil {
					return err
				}
				if err := h.compactionCost(ctx, db, w.Addr, label); err != nil {
					return err
				}
			}
		}
		r.Stop()
		w.Stop()
	}
	// A comment's counts live in its node's 80 bytes (TestNodeSize): what
	// votes add is per vote (voters' lists, the ranking of voted comments).
	h.add("scale", "reader RSS per vote held: 1M votes (one a comment) added to 1M comments", fmt.Sprintf("%+d B", rssPer["bench_1m_votes"]-rssPer["bench_1m"]),
		fmt.Sprintf("per stored comment without votes: %d B", rssPer["bench_1m"]), "", "nodes +0 B per comment")
	h.add("scale", "one refresh (read 1 new event + apply), 1,000,000 stored", ms(refresh["bench_1m"]),
		ms(refresh["bench_1k"])+" with 1,000 stored", ratio(float64(refresh["bench_1m"]), float64(refresh["bench_1k"])), "≈ 1× (not growing with the store)")
	return nil
}

// refreshCost measures the tail query for one new event, 100 times, p50,
// from this process with the reader's own store code.
func (h *harness) refreshCost(ctx context.Context, db, writer, reader string) (time.Duration, error) {
	pool, err := pgxpool.New(ctx, db)
	if err != nil {
		return 0, err
	}
	defer pool.Close()
	rd := store.NewReader(pool, store.Config{StatementTimeout: 5 * time.Second, ConnectTimeout: 2 * time.Second})
	api := apiClient{"http://" + writer}
	var lat []time.Duration
	for range 100 {
		head, err := rd.Head(ctx)
		if err != nil {
			return 0, err
		}
		if _, err := api.post("/post_comment", map[string]any{"user": "r", "content": "refresh"}); err != nil {
			return 0, err
		}
		t0 := time.Now()
		evs, err := rd.Events(ctx, head, 5000)
		if err != nil || len(evs) != 1 {
			return 0, fmt.Errorf("refresh read %d events, %v", len(evs), err)
		}
		lat = append(lat, time.Since(t0))
	}
	return percentiles(lat, 0.5)[0], nil
}

// bigTopic times full GETs of the 50,000-comment topic from the reader:
// time to first byte and throughput, the first (rendered) and the next
// (from the page cache).
func (h *harness) bigTopic(r, w *procs.Proc) error {
	b, err := apiClient{"http://" + r.Addr}.get("/last_topics?limit=1")
	if err != nil {
		return err
	}
	var topic string
	if _, err := fmt.Sscanf(string(b), `[{"topic_id":%q`, &topic); err != nil {
		topic = string(b[14:50])
	}
	base := "http://" + r.Addr + "/topic_comments?topic_id=" + topic
	url := base
	get := func() (ttfb, total time.Duration, n int64, err error) {
		var first time.Time
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotFirstResponseByte: func() { first = time.Now() },
		}))
		t0 := time.Now()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, 0, 0, err
		}
		n, err = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return first.Sub(t0), time.Since(t0), n, err
	}
	ttfb, total, n, err := get()
	if err != nil {
		return err
	}
	h.add("scale", "full GET of the 50,000-comment topic, first (renders)", fmt.Sprintf("TTFB %s, %s in %s, %.0f MB/s", ms(ttfb), mb(n), ms(total), float64(n)/total.Seconds()/1e6), "", "", "")
	var ttfbs, totals []time.Duration
	for range 10 {
		t, tot, _, err := get()
		if err != nil {
			return err
		}
		ttfbs, totals = append(ttfbs, t), append(totals, tot)
	}
	t50, tot50 := percentiles(ttfbs, 0.5)[0], percentiles(totals, 0.5)[0]
	h.add("scale", "full GET of the 50,000-comment topic, again (median of 10)", fmt.Sprintf("TTFB %s, %s in %s, %.0f MB/s", ms(t50), mb(n), ms(tot50), float64(n)/tot50.Seconds()/1e6), "", "", "")
	if err := h.sortedBigTopic(r, w, topic, base, &url, get); err != nil {
		return err
	}
	url = base
	runtime.GC()
	return h.concurrentBigReads(r, w, topic)
}

// sortedBigTopic compares whole GETs of the big topic, whose comments all
// have votes, in sort=best and in the default order: again (cached), and
// the first after a vote on one comment (the order is moved for that
// comment's siblings, then the topic is rendered).
func (h *harness) sortedBigTopic(r, w *procs.Proc, topic, base string, url *string, get func() (time.Duration, time.Duration, int64, error)) error {
	api := apiClient{"http://" + w.Addr}
	firstAfterVote := func(sort string, i int) (time.Duration, error) {
		res, err := api.post("/vote_comment", map[string]any{"topic_id": topic, "parent_path": "0", "user": fmt.Sprint("bench-voter-", sort, i), "value": 1})
		if err != nil {
			return 0, err
		}
		pos := int64(res["position"].(float64))
		for applied("http://"+r.Addr) < pos {
			time.Sleep(time.Millisecond)
		}
		*url = base + "&sort=" + sort
		_, total, _, err := get()
		return total, err
	}
	again := func(sort string) (time.Duration, error) {
		*url = base + "&sort=" + sort
		var totals []time.Duration
		for range 10 {
			_, tot, _, err := get()
			if err != nil {
				return 0, err
			}
			totals = append(totals, tot)
		}
		return percentiles(totals, 0.5)[0], nil
	}
	*url = base + "&sort=best"
	_, firstBest, n, err := get() // builds the order and renders
	if err != nil {
		return err
	}
	var old, best, oldVote, bestVote []time.Duration
	for i := range 5 {
		o, err1 := again("old")
		b, err2 := again("best")
		ov, err3 := firstAfterVote("old", i)
		bv, err4 := firstAfterVote("best", i)
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			return err
		}
		old, best, oldVote, bestVote = append(old, o), append(best, b), append(oldVote, ov), append(bestVote, bv)
	}
	o, b := percentiles(old, 0.5)[0], percentiles(best, 0.5)[0]
	ov, bv := percentiles(oldVote, 0.5)[0], percentiles(bestVote, 0.5)[0]
	h.add("scale", "full GET of the 50,000-comment topic (150,000 votes), sort=best, first ever (builds the order)", fmt.Sprintf("%s in %s", mb(n), ms(firstBest)), "", "", "")
	h.add("scale", "full GET of the 50,000-comment topic, sort=best, again (median of 5×10)", ms(b), ms(o)+" (sort=old)", ratio(float64(b), float64(o)), "≤ 1.1×")
	h.add("scale", "full GET of the 50,000-comment topic, sort=best, first after a vote (median of 5)", ms(bv), ms(ov)+" (sort=old, first after a vote)", ratio(float64(bv), float64(ov)), "< 2×")
	return nil
}

// backupCost times `parley export` of a store and `parley import` of it
// into an empty database, with the store code the command runs.
func (h *harness) backupCost(ctx context.Context, db, label string) error {
	src, err := pgxpool.New(ctx, db)
	if err != nil {
		return err
	}
	defer src.Close()
	f, err := os.CreateTemp("", "parley-backup-*.jsonl")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	began := time.Now()
	counts, err := store.Export(ctx, src, f)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	took := time.Since(began)
	size, _ := f.Seek(0, io.SeekCurrent)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	h.add("scale", "parley export, "+label, fmt.Sprintf("%.1f s", took.Seconds()),
		fmt.Sprintf("%s of JSON Lines, %d records", mb(size), total(counts)), "", "")
	restored, err := h.newDB(ctx, "bench_1m_restored")
	if err != nil {
		return err
	}
	dst, err := pgxpool.New(ctx, restored)
	if err != nil {
		return err
	}
	defer dst.Close()
	if _, err := store.Migrate(ctx, dst); err != nil {
		return err
	}
	began = time.Now()
	if _, err := store.Import(ctx, dst, f); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	h.add("scale", "parley import into an empty database, "+label, fmt.Sprintf("%.1f s", time.Since(began).Seconds()),
		"one transaction, a streamed COPY per table", "", "")
	return nil
}

func total(c store.BackupCounts) (n int64) {
	for _, k := range c {
		n += k
	}
	return n
}

// compactionCost adds 1,000,000 view ranges to a store (100 a topic, as
// busy topics gather them between compactions) and measures a reader's
// start-up with them, the writer's compaction of them (store.CompactViews,
// what COMPACT_INTERVAL runs), and the start-up after.
func (h *harness) compactionCost(ctx context.Context, db, writer, label string) error {
	pool, err := pgxpool.New(ctx, db)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `INSERT INTO view_ranges (topic_id, first_path, last_path, max_id, views)
		SELECT topic_id, '{0}', '{0}', g, 1 FROM topics, generate_series(0, 99) g ON CONFLICT DO NOTHING`); err != nil {
		return err
	}
	var ranges int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM view_ranges`).Scan(&ranges); err != nil {
		return err
	}
	r, before, err := h.startReader("reader-ranges", db, writer, []string{"VIEW_COUNTING=false"})
	if err != nil {
		return err
	}
	r.Stop()
	app := store.NewAppender(pool, store.Config{StatementTimeout: time.Minute, ConnectTimeout: 5 * time.Second})
	began := time.Now()
	var topics int64
	for {
		n, _, err := app.CompactViews(ctx, 1, 0, 1000)
		if err != nil {
			return fmt.Errorf("compact: %w", err)
		}
		if n == 0 {
			break
		}
		topics += n
	}
	took := time.Since(began)
	r, after, err := h.startReader("reader-compacted", db, writer, []string{"VIEW_COUNTING=false"})
	if err != nil {
		return err
	}
	r.Stop()
	h.add("scale", fmt.Sprintf("reader start-up (to /readyz), %s, %d view ranges", label, ranges), fmt.Sprintf("%.2f s", before.Seconds()),
		fmt.Sprintf("after compaction (0 ranges left): %.2f s", after.Seconds()), ratio(before.Seconds(), after.Seconds()), "")
	h.add("scale", fmt.Sprintf("view compaction, %d ranges of %d topics", ranges, topics), fmt.Sprintf("%.1f s", took.Seconds()),
		fmt.Sprintf("%.0f ranges/s, one transaction a topic", float64(ranges)/took.Seconds()), "", "")
	return nil
}
