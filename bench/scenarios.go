package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/parley/parley/internal/procs"
)

func pgxConnect(ctx context.Context, u string) (*pgx.Conn, error) { return pgx.Connect(ctx, u) }

func withDatabase(raw, db string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	u.Path = "/" + db
	return u.String(), nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }

func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func loadFig(l loadResult) string {
	s := fmt.Sprintf("%.0f/s p50 %s p99 %s", l.rps, ms(l.p50), ms(l.p99))
	if l.success < 1 {
		s += fmt.Sprintf(" (%.1f%% ok %v)", l.success*100, l.codes)
	}
	return s
}

type apiClient struct{ base string }

func (c apiClient) post(route string, body any) (map[string]any, error) {
	raw, _ := json.Marshal(body)
	res, err := http.Post(c.base+route, "application/json", bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		return nil, fmt.Errorf("POST %s: %d %s", route, res.StatusCode, b)
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}

func (c apiClient) get(path string) ([]byte, error) {
	res, err := http.Get(c.base + path)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: %d %s", path, res.StatusCode, b)
	}
	return b, err
}

var sentence = strings.Repeat("Honest benchmarks compare a figure to a ceiling measured in the same run, on the same machine, under the same load. ", 4)

// readsAndWrites: sections 1 (reads), 2 (writes), 3 (freshness) and 5 (views).
func (h *harness) readsAndWrites(ctx context.Context) error {
	s, err := h.stack(ctx, "bench_api", nil)
	if err != nil {
		return err
	}
	defer s.Stop()
	db := s.db
	api := apiClient{s.url}

	topic, topics, last, err := seed(api)
	if err != nil {
		return err
	}
	path := fmt.Sprintf("/topic_comments?topic_id=%s", topic)
	body, err := api.get(fmt.Sprintf("%s&min_position=%.0f", path, last))
	if err != nil {
		return err
	}
	for _, r := range s.readers { // both readers hold everything before the runs
		if _, err := (apiClient{"http://" + r.Addr}).get(fmt.Sprintf("/readyz?min_position=%.0f", last)); err != nil {
			return err
		}
	}
	bodyFile := filepath.Join(h.work, "topic.json")
	if err := os.WriteFile(bodyFile, body, 0o644); err != nil {
		return err
	}
	h.notes = append(h.notes, fmt.Sprintf("read target: one topic of 20 comments, %d bytes of JSON", len(body)))
	if h.staticHeaders {
		h.notes = append(h.notes, "the read ceiling's static servers answer with a reader's headers (-static-headers): ETag, X-Log-Position, X-Request-Id and a Link to the next page, as well as Content-Type and Content-Length")
	}

	// The ceiling: the same nginx configuration in front of two trivial
	// servers that return the same bytes.
	statics, staticPids, err := h.startStatics("static", bodyFile)
	if err != nil {
		return err
	}
	ceilNginx, ceilURL, err := h.startNginx("nginx-ceiling", statics, s.writer.Addr)
	if err != nil {
		return err
	}
	defer ceilNginx.Stop()
	if err := ceilNginx.WaitHTTP(ceilURL+path, 10*time.Second); err != nil {
		return err
	}

	const conc = 64
	viewsBefore, _ := h.countViews(ctx, db)
	vStart := time.Now()
	viaNginx, ceiling := compare(h.rounds, conc, h.dur, staticGet(s.url+path), staticGet(ceilURL+path))
	vElapsed := time.Since(vStart)
	time.Sleep(1500 * time.Millisecond) // the last flush
	viewsAfter, _ := h.countViews(ctx, db)
	h.add("reads", "GET /topic_comments (20 comments) via nginx, 2 readers", loadFig(viaNginx), loadFig(ceiling), ratio(viaNginx.rps, ceiling.rps), "≥ 0.90×")
	h.charts = append(h.charts, bar{"reads via nginx", "parley", viaNginx.rps, viaNginx.p50, viaNginx.p99, false},
		bar{"reads via nginx", "ceiling", ceiling.rps, ceiling.p50, ceiling.p99, true})

	if h.only != "mixed" {
		direct, staticDirect := compare(h.rounds, conc, h.dur, staticGet("http://"+s.readers[0].Addr+path), staticGet("http://"+statics[0]+path))
		h.add("reads", "GET /topic_comments, one reader direct", loadFig(direct), loadFig(staticDirect), ratio(direct.rps, staticDirect.rps), "≥ 0.90×")
		h.charts = append(h.charts, bar{"reader direct", "parley", direct.rps, direct.p50, direct.p99, false},
			bar{"reader direct", "ceiling", staticDirect.rps, staticDirect.p50, staticDirect.p99, true})
	}

	// Mixed: 95% GET / 5% POST over 200 topics, in rounds alternating
	// with the read ceiling driven by the same targeter (the same URLs,
	// every request a GET), so that the load generator's work is alike.
	sizeBefore, err := meanBytes(api, topics)
	if err != nil {
		return err
	}
	// A third leg, Parley's GETs alone through the same targeter, splits
	// the mixed run's cost: what its GETs cost, and what its POSTs add.
	const postEvery = 20
	// With -before-bins, a fourth leg: the same mix against a stack of the
	// earlier binaries, so that a change to the mix is measured before
	// and after in alternating rounds.
	// It is stopped after its rounds, so that the sections after it run
	// beside no idle stack of its own.
	var old *services
	var oldTopics []string
	if h.beforeBins != "" {
		if old, oldTopics, err = h.stackFrom(ctx, h.beforeBins, "bench_mixed_before"); err != nil {
			return fmt.Errorf("the mixed run's stack before: %w", err)
		}
	}
	// A fifth leg, the simplest service's mix: the ceiling's static
	// servers for the GETs and the honest write baseline (one autocommitted
	// INSERT a comment) for the POSTs, behind the same nginx. It tells
	// what any durable write costs a 95/5 mix on this machine from what
	// Parley's writes cost it.
	base, baseNginx, baseURL, err := h.startSimplest("mixed", db, statics, path)
	if err != nil {
		return err
	}
	defer base.Stop()
	defer baseNginx.Stop()
	var mixes, befores, baseMixes []map[string]loadResult
	var ceilings, getsAlone []loadResult
	var mixCPU, ceilCPU, getsCPU, beforeCPU, baseMixCPU []cpuPer
	before := func() {
		m := h.meter(old)
		r := attackSplit("mixed-before", conc, h.dur, mixedTargeter(old.url, oldTopics, postEvery))
		befores, beforeCPU = append(befores, r), append(beforeCPU, m.per(float64(r["ALL"].requests)))
	}
	for i := range h.rounds {
		// Before and after swap places every round, so that neither
		// always follows the same leg.
		if old != nil && i%2 == 0 {
			before()
		}
		m := h.meter(s)
		r := attackSplit("mixed", conc, h.dur, mixedTargeter(s.url, topics, postEvery))
		mixes, mixCPU = append(mixes, r), append(mixCPU, m.per(float64(r["ALL"].requests)))
		if old != nil && i%2 == 1 {
			before()
		}
		m = newMeter(0, staticPids, ceilNginx.Pid())
		c := attack("mixed-ceiling", conc, h.dur, mixedTargeter(ceilURL, topics, 0))
		ceilings, ceilCPU = append(ceilings, c), append(ceilCPU, m.per(float64(c.requests)))
		m = h.meter(s)
		g := attack("mixed-gets", conc, h.dur, mixedTargeter(s.url, topics, 0))
		getsAlone, getsCPU = append(getsAlone, g), append(getsCPU, m.per(float64(g.requests)))
		m = newMeter(base.Pid(), staticPids, baseNginx.Pid())
		b := attackSplit("mixed-baseline", conc, h.dur, mixedTargeter(baseURL, topics, postEvery))
		baseMixes, baseMixCPU = append(baseMixes, b), append(baseMixCPU, m.per(float64(b["ALL"].requests)))
	}
	base.Stop()
	baseNginx.Stop()
	if old != nil {
		old.Stop()
	}
	mixed, mixCeiling := medianSplit(mixes), median(ceilings)
	sizeAfter, err := meanBytes(api, topics)
	if err != nil {
		return err
	}
	h.notes = append(h.notes, fmt.Sprintf("mixed run's GET bodies (pages of 20 comments): %.0f bytes on average before its rounds, %.0f after (the ceiling's: %d)", sizeBefore, sizeAfter, len(body)))
	mc, gc := medianCPU(mixCPU), medianCPU(getsCPU)
	cc, bmc := medianCPU(ceilCPU), medianCPU(baseMixCPU)
	names := []string{"mixed 95/5 (Parley)", "reads, same targeter (ceiling)", "GETs alone, same targeter (Parley)", "a POST in the mix (derived)",
		"mixed 95/5, simplest service (ceiling's GETs, baseline's POSTs)", "a POST in the simplest service's mix (derived, against the ceiling)"}
	figures := []cpuPer{mc, cc, gc, postShare(mc, gc, postEvery), bmc, postShare(bmc, cc, postEvery)}
	if old != nil {
		names, figures = append(names, "mixed 95/5 (Parley before)"), append(figures, medianCPU(beforeCPU))
	}
	h.notes = append(h.notes, "CPU per request, mixed run against its ceiling (the static servers count as readers), "+
		"and Parley's GETs alone through the same targeter; a POST's share is derived from the medians, "+
		"(mixed − 0.95 × GETs alone) ÷ 0.05, so it carries both legs' noise, twenty-fold:\n\n"+cpuTable(names, figures))
	h.add("reads", "mixed 95% GET / 5% POST, 200 topics, pages of 20, via nginx", loadFig(mixed["ALL"]), loadFig(mixCeiling), ratio(mixed["ALL"].rps, mixCeiling.rps), "≥ 0.80×")
	h.add("reads", "  of which GET", loadFig(mixed["GET"]), "", "", "")
	h.add("reads", "  of which POST", loadFig(mixed["POST"]), "", "", "")
	alone := median(getsAlone)
	h.add("reads", "the mixed run's GETs alone (same targeter, no POSTs)", loadFig(alone), loadFig(mixCeiling), ratio(alone.rps, mixCeiling.rps), "")
	bm := medianSplit(baseMixes)
	h.add("reads", "mixed 95/5, the simplest service (static GETs, baseline POSTs)", loadFig(bm["ALL"]), loadFig(mixCeiling), ratio(bm["ALL"].rps, mixCeiling.rps), "")
	h.add("reads", "  of which POST, simplest service", loadFig(bm["POST"]), "", "", "")
	h.add("reads", "mixed 95/5, Parley ÷ the simplest service", loadFig(mixed["ALL"]), loadFig(bm["ALL"]), ratio(mixed["ALL"].rps, bm["ALL"].rps), "")
	if old != nil {
		b := medianSplit(befores)
		h.add("reads", "mixed 95/5, the binaries before", loadFig(b["ALL"]), loadFig(mixCeiling), ratio(b["ALL"].rps, mixCeiling.rps), "")
		h.add("reads", "  of which POST, before", loadFig(b["POST"]), "", "", "")
	}
	h.charts = append(h.charts, bar{"mixed 95/5", "parley", mixed["ALL"].rps, mixed["ALL"].p50, mixed["ALL"].p99, false},
		bar{"mixed 95/5", "ceiling", mixCeiling.rps, mixCeiling.p50, mixCeiling.p99, true})
	if h.only == "mixed" {
		return nil
	}

	if err := h.writes(ctx, s, db, topics); err != nil {
		return err
	}

	// Views: the writer transactions the read runs caused (half of that
	// time went to the ceiling's rounds, which cause none), and what
	// counting costs.
	viewTx := float64(viewsAfter-viewsBefore) / (vElapsed.Seconds() / 2)
	h.add("views", "view batches appended per second during the read run", fmt.Sprintf("%.2f tx/s", viewTx),
		"readers ÷ VIEW_FLUSH_INTERVAL = 2/s", "", "≈ 1–2/s (only the reader holding the topic gets its reads)")
	// Two more readers on the same data, one counting views and one not,
	// read directly in alternating rounds.
	on, _, err := h.startReader("reader-count-on", db, s.writer.Addr, nil)
	if err != nil {
		return err
	}
	defer on.Stop()
	off, _, err := h.startReader("reader-count-off", db, s.writer.Addr, []string{"VIEW_COUNTING=false"})
	if err != nil {
		return err
	}
	defer off.Stop()
	counting, notCounting := compare(h.rounds, conc, h.dur, staticGet("http://"+on.Addr+path), staticGet("http://"+off.Addr+path))
	h.add("views", "GET direct to a reader counting views", loadFig(counting), "not counting: "+loadFig(notCounting),
		ratio(counting.rps, notCounting.rps), "on ÷ off ≈ 1")

	// Freshness, with and without NOTIFY.
	if err := h.restartReaders(s, nil); err != nil {
		return err
	}
	samples := 200
	if h.long {
		samples = 1000
	}
	f, err := h.freshness(s, topics, samples, 20*time.Millisecond)
	if err != nil {
		return err
	}
	h.add("freshness", "write → visible on both readers, NOTIFY on", fmt.Sprintf("p50 %s p99 %s max %s", ms(f[0]), ms(f[1]), ms(f[2])), "", "", "p99 ≤ 50 ms")
	if err := h.restartReaders(s, []string{"REFRESH_NOTIFY=false"}); err != nil {
		return err
	}
	f, err = h.freshness(s, topics, samples/2, 50*time.Millisecond)
	if err != nil {
		return err
	}
	h.add("freshness", "write → visible on both readers, NOTIFY off (REFRESH_INTERVAL=1s)", fmt.Sprintf("p50 %s p99 %s max %s", ms(f[0]), ms(f[1]), ms(f[2])), "", "", "≤ REFRESH_INTERVAL")
	return nil
}

// mixedTargeter aims at 20-comment pages of topics at base, a request in
// every postEvery (0: none) a comment to one of them instead. The URLs and
// bodies are made once, so the targeter's own cost is small and the same
// for both sides of a comparison.
func mixedTargeter(base string, topics []string, postEvery int64) vegeta.Targeter {
	gets, posts := make([]string, len(topics)), make([][]byte, len(topics))
	for i, tp := range topics {
		gets[i] = base + "/topic_comments?limit=20&topic_id=" + tp
		posts[i] = fmt.Appendf(nil, `{"topic_id":%q,"user":"mix%d","content":%q}`, tp, i%100, sentence[:140])
	}
	postURL, json := base+"/post_comment", http.Header{"Content-Type": {"application/json"}}
	var n atomic.Int64
	return func(t *vegeta.Target) error {
		i, k := n.Add(1), rand.IntN(len(topics))
		if postEvery > 0 && i%postEvery == 0 {
			t.Method, t.URL, t.Body, t.Header = http.MethodPost, postURL, posts[k], json
			return nil
		}
		t.Method, t.URL, t.Body, t.Header = http.MethodGet, gets[k], nil, nil
		return nil
	}
}

// postShare is what one POST of a mix with one in every postEvery
// requests costs each process, from the mix's CPU a request and that of
// the same mix's GETs alone.
func postShare(mix, gets cpuPer, postEvery int) cpuPer {
	out := cpuPer{parts: map[string]float64{}}
	k := float64(postEvery)
	for _, p := range cpuParts {
		out.parts[p] = k*mix.parts[p] - (k-1)*gets.parts[p]
	}
	out.total = k*mix.total - (k-1)*gets.total
	return out
}

// meanBytes is the mean size of the mixed run's GET bodies, a page of 20
// comments of each topic.
func meanBytes(api apiClient, topics []string) (float64, error) {
	total := 0
	for _, tp := range topics {
		b, err := api.get("/topic_comments?limit=20&topic_id=" + tp)
		if err != nil {
			return 0, err
		}
		total += len(b)
	}
	return float64(total) / float64(len(topics)), nil
}

// seed writes the read target and 200 topics for the mixed load and the
// writes, all of one shape: 20 comments with short contents, about 4.9 KB
// as JSON (the issue asks for ~3 KB; the fields alone take ~190 bytes a
// comment). The mixed run's GETs read 20-comment pages of those topics, so
// they answer what the ceiling serves. It returns the target, the others
// and the newest position.
func seed(api apiClient) (topic string, topics []string, last float64, err error) {
	if topic, last, err = seedTopic(api); err != nil {
		return "", nil, 0, err
	}
	topics = make([]string, 200)
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 16 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(topics); i = int(next.Add(1)) - 1 {
				tp, pos, e := seedTopic(api)
				mu.Lock()
				topics[i], last = tp, max(last, pos)
				if err == nil {
					err = e
				}
				mu.Unlock()
				if e != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	return topic, topics, last, err
}

// seedTopic writes a topic of 20 comments (the read target's shape): the
// root, five replies to it, and fourteen replies to those.
func seedTopic(api apiClient) (topic string, last float64, err error) {
	root, err := api.post("/post_comment", map[string]any{"user": "ada", "content": sentence[:24]})
	if err != nil {
		return "", 0, err
	}
	topic = root["topic_id"].(string)
	for i := 1; i < 20; i++ {
		parent := "0"
		if i > 5 {
			parent = fmt.Sprintf("0/%d", 1+i%5)
		}
		r, err := api.post("/post_comment", map[string]any{"topic_id": topic, "parent_path": parent, "user": fmt.Sprint("user", i), "content": sentence[:16]})
		if err != nil {
			return "", 0, err
		}
		last = r["position"].(float64)
	}
	return topic, last, nil
}

// stackFrom starts a writer, two readers and nginx from the binaries in
// bins on a new database, seeded like the api part's.
func (h *harness) stackFrom(ctx context.Context, bins, name string) (*services, []string, error) {
	savedBins, savedPrefix := h.bins, h.prefix
	h.bins, h.prefix = bins, name+"-"
	defer func() { h.bins, h.prefix = savedBins, savedPrefix }()
	s, err := h.stack(ctx, name, nil)
	if err != nil {
		return nil, nil, err
	}
	_, topics, _, err := seed(apiClient{s.url})
	if err != nil {
		s.Stop()
		return nil, nil, err
	}
	return s, topics, nil
}

// stack makes a new database name, lets fill load it (if not nil), and
// starts a writer, two readers and nginx on it.
func (h *harness) stack(ctx context.Context, name string, fill func(db string) error) (*services, error) {
	db, err := h.newDB(ctx, name)
	if err != nil {
		return nil, err
	}
	if fill != nil {
		if err := fill(db); err != nil {
			return nil, err
		}
	}
	return h.startServices(db, nil)
}

// writesOnly is the writes part alone (bench -only writes), on a stack of
// its own, for working on the cost of a comment.
func (h *harness) writesOnly(ctx context.Context) error {
	s, err := h.stack(ctx, "bench_writes", nil)
	if err != nil {
		return err
	}
	defer s.Stop()
	db := s.db
	_, topics, _, err := seed(apiClient{s.url})
	if err != nil {
		return err
	}
	return h.writes(ctx, s, db, topics)
}

func (h *harness) countViews(ctx context.Context, db string) (int64, error) {
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int64
	err = conn.QueryRow(ctx, `SELECT count(*) FROM events WHERE kind = 'views'`).Scan(&n)
	return n, err
}

// startBaseline starts the honest write baseline (serveBaseline) on a
// free address, inserting into db.
func (h *harness) startBaseline(name, db string) (*procs.Proc, string, error) {
	addr := freeAddr()
	self, _ := os.Executable()
	// The baseline collects garbage as the writer does by default (GOGC,
	// docs/BENCHMARKS.md): the same one-line tuning is open to both.
	base, err := h.start(name, self, []string{"GOGC=400"}, "-baseline", addr, "-db", db)
	if err != nil {
		return nil, "", err
	}
	if err := base.WaitHTTP("http://"+addr+"/healthz", 30*time.Second); err != nil {
		base.Stop()
		return nil, "", err
	}
	return base, addr, nil
}

// startStatics starts the read ceiling's two trivial servers, each
// answering every request with the bytes of bodyFile (and a reader's
// headers with -static-headers), and returns their addresses and pids.
func (h *harness) startStatics(name, bodyFile string) ([]string, []int, error) {
	var addrs []string
	var pids []int
	self, _ := os.Executable()
	for i := range 2 {
		addr := freeAddr()
		args := []string{"-static", addr, "-file", bodyFile}
		if h.staticHeaders {
			args = append(args, "-headers")
		}
		p, err := h.start(fmt.Sprintf("%s%d", name, i+1), self, nil, args...)
		if err != nil {
			return nil, nil, err
		}
		p.Addr = addr
		if err := p.WaitHTTP("http://"+addr+"/", 10*time.Second); err != nil {
			return nil, nil, err
		}
		addrs, pids = append(addrs, addr), append(pids, p.Pid())
	}
	return addrs, pids, nil
}

// startSimplest starts the simplest service of a mixed load: the honest
// baseline on db for the POSTs, and nginx in front of it and of the static
// servers at statics for the GETs; it returns once path answers through
// nginx.
func (h *harness) startSimplest(name, db string, statics []string, path string) (base, ngx *procs.Proc, url string, err error) {
	base, addr, err := h.startBaseline("baseline-"+name, db)
	if err != nil {
		return nil, nil, "", err
	}
	if ngx, url, err = h.startNginx("nginx-"+name+"-baseline", statics, addr); err == nil {
		err = ngx.WaitHTTP(url+path, 10*time.Second)
	}
	if err != nil {
		base.Stop()
		if ngx != nil {
			ngx.Stop()
		}
		return nil, nil, "", err
	}
	return base, ngx, url, nil
}

// writes: comments through nginx at concurrency 32 against the honest
// baseline (serveBaseline: the same nginx in front of a handler that
// decodes the same body and INSERTs it, autocommit), in alternating
// rounds, both driven by the light client (rawAttack), with the CPU each
// process spends per request; then votes beside comments.
func (h *harness) writes(ctx context.Context, s *services, db string, topics []string) error {
	const conc = 32
	base, addr, err := h.startBaseline("baseline", db)
	if err != nil {
		return err
	}
	defer base.Stop()
	var readers []string
	for _, r := range s.readers {
		readers = append(readers, r.Addr)
	}
	baseNginx, baseURL, err := h.startNginx("nginx-baseline", readers, addr)
	if err != nil {
		return err
	}
	defer baseNginx.Stop()
	if err := baseNginx.WaitHTTP(baseURL+"/last_topics", 30*time.Second); err != nil {
		return err
	}
	content, _ := json.Marshal(sentence[:280])
	post := func(url string, topics []string) rawRequest {
		host := strings.TrimPrefix(url, "http://")
		return func(i int64, buf []byte) ([]byte, bool) {
			body := fmt.Appendf(nil, `{"topic_id":%q,"user":"w%d","content":%s}`, topics[int(i)%len(topics)], i%1000, content)
			return postRequest(buf, host, "/post_comment", body), false
		}
	}
	// Votes: on the roots of the topics, by 10,000 voters, up two times in
	// three; most are new votes, some change one.
	vote := func(url string) rawRequest {
		host := strings.TrimPrefix(url, "http://")
		return func(i int64, buf []byte) ([]byte, bool) {
			value := 1
			if i%3 == 0 {
				value = -1
			}
			body := fmt.Appendf(nil, `{"topic_id":%q,"parent_path":"0","user":"v%d","value":%d}`, topics[int(i)%len(topics)], (i*7919)%10000, value)
			return postRequest(buf, host, "/vote_comment", body), false
		}
	}
	baseHost := strings.TrimPrefix(baseURL, "http://")
	run := func(m *cpuMeter, target string, req rawRequest) (loadResult, cpuPer) {
		r := summarize(rawAttack(target, conc, h.dur, req), h.dur, nil)
		return r, m.per(float64(r.requests))
	}
	// Before: the same rounds against a stack of an earlier commit's
	// binaries, on a database of its own (its schema is its own).
	var old *services
	var oldTopics []string
	if h.beforeBins != "" {
		var err error
		if old, oldTopics, err = h.stackFrom(ctx, h.beforeBins, "bench_before"); err != nil {
			return fmt.Errorf("the stack before: %w", err)
		}
		defer old.Stop()
	}
	var posts, baseline, votes, befores []loadResult
	var postCPU, baseCPU, voteCPU, beforeCPU []cpuPer
	for range h.rounds {
		if old != nil {
			r, c := run(h.meter(old), strings.TrimPrefix(old.url, "http://"), post(old.url, oldTopics))
			befores, beforeCPU = append(befores, r), append(beforeCPU, c)
		}
		r, c := run(h.meter(s), strings.TrimPrefix(s.url, "http://"), post(s.url, topics))
		posts, postCPU = append(posts, r), append(postCPU, c)
		r, c = run(newMeter(base.Pid(), nil, baseNginx.Pid()), baseHost, post(baseURL, topics))
		baseline, baseCPU = append(baseline, r), append(baseCPU, c)
		r, c = run(h.meter(s), strings.TrimPrefix(s.url, "http://"), vote(s.url))
		votes, voteCPU = append(votes, r), append(voteCPU, c)
	}
	p, b, v := median(posts), median(baseline), median(votes)
	pc, bc, vc := medianCPU(postCPU), medianCPU(baseCPU), medianCPU(voteCPU)
	h.add("writes", "POST /post_comment via nginx, concurrency 32", loadFig(p), loadFig(b)+" (baseline: nginx + handler + INSERT)", ratio(p.rps, b.rps), "≥ 1.0×")
	h.add("writes", "CPU per comment, all processes", fmt.Sprintf("%.0f µs", pc.total), fmt.Sprintf("%.0f µs (baseline)", bc.total), ratio(pc.total, bc.total), "≤ 300 µs")
	h.add("writes", "POST /vote_comment via nginx, concurrency 32", loadFig(v), loadFig(p)+" (comment posts)", ratio(v.rps, p.rps), "≥ 1.0× of posts")
	names, figures := []string{"comment (Parley)", "comment (baseline)", "vote (Parley)"}, []cpuPer{pc, bc, vc}
	if old != nil {
		o := median(befores)
		h.add("writes", "POST /post_comment via nginx, the binaries before", loadFig(o), loadFig(b)+" (baseline)", ratio(o.rps, b.rps), "")
		names, figures = append([]string{"comment (Parley before)"}, names...), append([]cpuPer{medianCPU(beforeCPU)}, figures...)
	}
	h.tables = append(h.tables, "CPU per request by process, writes at concurrency 32 through nginx, load generator rawAttack "+
		"(each part's median over the rounds; `/proc/<pid>/stat`):\n\n"+cpuTable(names, figures))
	h.charts = append(h.charts, bar{"writes c=32", "parley", p.rps, p.p50, p.p99, false},
		bar{"writes c=32", "baseline", b.rps, b.p50, b.p99, true})
	return nil
}

// positionPoller records when a reader's applied position changes.
type positionPoller struct {
	mu    sync.Mutex
	times []time.Time
	pos   []int64
}

func (p *positionPoller) run(ctx context.Context, addr string) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	var last int64 = -1
	for ctx.Err() == nil {
		res, err := client.Get("http://" + addr + "/readyz")
		if err == nil {
			var n int64
			fmt.Sscan(res.Header.Get("X-Log-Position"), &n)
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if n != last {
				p.mu.Lock()
				p.times, p.pos = append(p.times, time.Now()), append(p.pos, n)
				p.mu.Unlock()
				last = n
			}
		}
		time.Sleep(500 * time.Microsecond)
	}
}

// seen is when the reader first showed position pos or later.
func (p *positionPoller) seen(pos int64) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, q := range p.pos {
		if q >= pos {
			return p.times[i], true
		}
	}
	return time.Time{}, false
}

// freshness posts samples comments, every gap, and measures from the
// writer's answer until every reader shows the comment's position (polled
// every 0.5 ms, which bounds the resolution). It returns p50, p99, max.
func (h *harness) freshness(s *services, topics []string, samples int, gap time.Duration) ([]time.Duration, error) {
	ctx, cancel := context.WithCancel(context.Background())
	pollers := make([]*positionPoller, len(s.readers))
	var wg sync.WaitGroup
	for i, r := range s.readers {
		pollers[i] = &positionPoller{}
		wg.Add(1)
		go func() { defer wg.Done(); pollers[i].run(ctx, r.Addr) }()
	}
	writer := apiClient{"http://" + s.writer.Addr}
	type sample struct {
		pos int64
		at  time.Time
	}
	var sent []sample
	for i := range samples {
		r, err := writer.post("/post_comment", map[string]any{"topic_id": topics[i%len(topics)], "user": "fresh", "content": "fresh"})
		if err != nil {
			cancel()
			wg.Wait()
			return nil, err
		}
		sent = append(sent, sample{int64(r["position"].(float64)), time.Now()})
		time.Sleep(gap)
	}
	time.Sleep(2 * time.Second)
	cancel()
	wg.Wait()
	var lat []time.Duration
	for _, smp := range sent {
		var worst time.Duration
		for _, p := range pollers {
			t, ok := p.seen(smp.pos)
			if !ok {
				return nil, fmt.Errorf("position %d never became visible", smp.pos)
			}
			worst = max(worst, t.Sub(smp.at))
		}
		lat = append(lat, max(worst, 0))
	}
	return percentiles(lat, 0.5, 0.99, 1), nil
}
