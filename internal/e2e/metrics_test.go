package e2e

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"gopkg.in/yaml.v3"

	"github.com/parley/parley/internal/stacktest"
)

func requireFamilies(t *testing.T, service string, fams map[string]*dto.MetricFamily, names ...string) {
	t.Helper()
	for _, n := range names {
		if fams[n] == nil {
			t.Errorf("%s: no %s in its /metrics", service, n)
		}
	}
}

// The families every service serves; the services' own follow.
var (
	commonFamilies = []string{
		"parley_http_requests_total", "parley_http_request_duration_seconds",
		"pgxpool_acquired_conns", "pgxpool_idle_conns", "pgxpool_max_conns", "pgxpool_total_conns",
		"go_goroutines", "go_memstats_heap_inuse_bytes", "process_resident_memory_bytes", "process_cpu_seconds_total",
	}
	writerFamilies = []string{
		"parley_writer_batch_size", "parley_writer_transaction_duration_seconds", "parley_writer_queue_depth",
		"parley_writer_notify_queue_usage",
	}
	readerFamilies = []string{
		"parley_reader_applied_position", "parley_reader_head_position", "parley_reader_lag_events",
		"parley_reader_lag_seconds", "parley_reader_ready", "parley_reader_refresh_duration_seconds",
		"parley_reader_refresh_failures_total", "parley_reader_resident_bytes", "parley_reader_cache_max_bytes",
		"parley_reader_topics", "parley_reader_evictions_total", "parley_reader_reloads_total",
		"parley_reader_oversized_drops_total", "parley_reader_apply_wait_max_seconds",
		"parley_reader_view_ranges_pending", "parley_reader_view_ranges_dropped_total", "parley_reader_view_batches_total",
	}
)

// TestMetrics: each service serves its families on its own METRICS_ADDR,
// and they move: a write through nginx raises the writer's request counter,
// its batch count and its commands; every reader's applied position reaches
// the write's; a read is counted under its route template. nginx never
// routes to /metrics. The Grafana dashboard uses only families the
// services serve.
func TestMetrics(t *testing.T) {
	s := newStack(t, stackOpts{})
	waddr := s.metrics["writer"]
	raddrs := []string{s.metrics["reader1"], s.metrics["reader2"]}

	w := stacktest.Scrape(t, waddr)
	requireFamilies(t, "writer", w, slices.Concat(commonFamilies, writerFamilies)...)
	for i, a := range raddrs {
		r := stacktest.Scrape(t, a)
		requireFamilies(t, "reader"+string(rune('1'+i)), r, slices.Concat(commonFamilies, readerFamilies)...)
		if v := stacktest.MetricValue(r, "parley_reader_ready"); v != 1 {
			t.Errorf("reader%d: parley_reader_ready %v once /readyz is 200", i+1, v)
		}
		if v := stacktest.MetricValue(r, "pgxpool_max_conns"); v < 1 {
			t.Errorf("reader%d: pgxpool_max_conns %v", i+1, v)
		}
	}
	posts := func(fams map[string]*dto.MetricFamily) float64 {
		return stacktest.MetricValue(fams, "parley_http_requests_total", "route", "/post_comment", "method", "POST", "status", "201")
	}
	// A comment's batch is in the topics lane, apart from the readers' view batches.
	postsBefore, batchesBefore := posts(w), stacktest.MetricValue(w, "parley_writer_batch_size", "lane", "topics")

	c := s.api.PostComment(t, s.nginx, "", "", "alice", "counted")
	stacktest.Eventually(t, 10*time.Second, func() bool {
		w = stacktest.Scrape(t, waddr)
		return posts(w) == postsBefore+1 && stacktest.MetricValue(w, "parley_writer_batch_size", "lane", "topics") >= batchesBefore+1
	})
	if v := stacktest.MetricValue(w, "parley_writer_commands_total", "kind", "post", "outcome", "ok"); v < 1 {
		t.Errorf("parley_writer_commands_total{kind=post,outcome=ok} %v after a post", v)
	}
	if v := stacktest.MetricValue(w, "parley_writer_transaction_duration_seconds", "lane", "topics"); v < 1 {
		t.Errorf("parley_writer_transaction_duration_seconds{lane=topics} counted %v transactions", v)
	}
	if v := stacktest.MetricValue(w, "parley_writer_notify_queue_usage"); v < 0 || v >= 0.01 {
		t.Errorf("parley_writer_notify_queue_usage %v with every listener reading", v)
	}
	if v := stacktest.MetricValue(w, "parley_writer_queue_depth"); v != 0 {
		t.Errorf("parley_writer_queue_depth %v with nothing being written", v)
	}
	// A bad write is counted with its status, under its route.
	s.api.Post(t, s.nginx, "/post_comment", map[string]any{"user": "alice"}, http.StatusBadRequest)
	stacktest.Eventually(t, 10*time.Second, func() bool {
		return stacktest.MetricValue(stacktest.Scrape(t, waddr), "parley_http_requests_total", "route", "/post_comment", "status", "400") == 1
	})

	for i, a := range raddrs {
		stacktest.Eventually(t, 10*time.Second, func() bool {
			r := stacktest.Scrape(t, a)
			return stacktest.MetricValue(r, "parley_reader_applied_position") >= float64(c.Position) &&
				stacktest.MetricValue(r, "parley_reader_head_position") >= float64(c.Position) &&
				stacktest.MetricValue(r, "parley_reader_lag_events") == 0
		})
		r := stacktest.Scrape(t, a)
		if v := stacktest.MetricValue(r, "parley_reader_refresh_duration_seconds"); v < 1 {
			t.Errorf("reader%d: %v refreshes timed", i+1, v)
		}
		if v := stacktest.MetricValue(r, "parley_reader_topics"); v < 1 {
			t.Errorf("reader%d: parley_reader_topics %v after a topic was posted", i+1, v)
		}
	}

	// Reads are counted by route template, on whichever reader served them.
	reads := func() float64 {
		var n float64
		for _, a := range raddrs {
			n += stacktest.MetricValue(stacktest.Scrape(t, a), "parley_http_requests_total", "route", "/topic_comments", "method", "GET", "status", "200")
		}
		return n
	}
	readsBefore := reads()
	if r := s.api.Get(t, s.nginx+"/topic_comments?topic_id="+c.Topic); r.Status != http.StatusOK {
		t.Fatalf("GET /topic_comments: %d %s", r.Status, r.Body)
	}
	stacktest.Eventually(t, 10*time.Second, func() bool { return reads() == readsBefore+1 })

	// nginx never routes to metrics.
	for _, path := range []string{"/metrics", "/metrics/"} {
		if r := stacktest.Get(t, s.nginx+path); r.Status != http.StatusNotFound {
			t.Errorf("GET %s through nginx: %d, want 404", path, r.Status)
		}
	}
	// The metrics server serves /metrics only.
	if r := stacktest.Get(t, "http://"+waddr+"/debug/pprof/"); r.Status != http.StatusNotFound {
		t.Errorf("metrics server, GET /debug/pprof/: %d, want 404", r.Status)
	}

	// Every family the dashboard queries is served by the writer or the
	// readers (read now, after the writes made the labelled families).
	served := stacktest.Scrape(t, waddr)
	for k, v := range stacktest.Scrape(t, raddrs[0]) {
		served[k] = v
	}
	names := dashboardMetrics(t)
	if len(names) < 20 {
		t.Fatalf("the dashboard queries only %v", names)
	}
	for _, n := range names {
		if served[n] == nil {
			t.Errorf("deploy/grafana/parley.json queries %s, which neither the writer nor a reader serves", n)
		}
	}
}

// metricName finds the names of series in PromQL: ours, the Go runtime's,
// the process's and the pool collector's.
var metricName = regexp.MustCompile(`\b(?:parley|go|process|pgxpool)_[A-Za-z0-9_]*`)

// dashboardMetrics is every family deploy/grafana/parley.json's queries
// use, histogram series (_bucket, _sum, _count) named by their family.
func dashboardMetrics(t *testing.T) []string {
	t.Helper()
	var dash any
	if err := json.Unmarshal(readRepoFile(t, "deploy/grafana/parley.json"), &dash); err != nil {
		t.Fatalf("deploy/grafana/parley.json: %v", err)
	}
	var exprs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "expr" {
					exprs = append(exprs, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(dash)
	if len(exprs) == 0 {
		t.Fatal("deploy/grafana/parley.json has no queries")
	}
	var names []string
	for _, e := range exprs {
		for _, n := range metricName.FindAllString(e, -1) {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				n = strings.TrimSuffix(n, suffix)
			}
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	return names
}

// TestMetricsDeploy: the example scrape configuration targets the
// addresses `make run` gives the services, and compose gives every service
// a METRICS_ADDR that it publishes nowhere.
func TestMetricsDeploy(t *testing.T) {
	var prom struct {
		ScrapeConfigs []struct {
			Job    string `yaml:"job_name"`
			Static []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(readRepoFile(t, "deploy/prometheus.yml"), &prom); err != nil {
		t.Fatalf("deploy/prometheus.yml: %v", err)
	}
	targets := map[string][]string{}
	for _, sc := range prom.ScrapeConfigs {
		for _, st := range sc.Static {
			targets[sc.Job] = append(targets[sc.Job], st.Targets...)
		}
	}
	run := string(readRepoFile(t, "scripts/run.sh"))
	writer := regexp.MustCompile(`(?m)^WRITER_METRICS_ADDR=(\S+)$`).FindStringSubmatch(run)
	port0 := regexp.MustCompile(`(?m)^READER_METRICS_PORT0=(\d+)$`).FindStringSubmatch(run)
	if writer == nil || port0 == nil {
		t.Fatal("scripts/run.sh no longer sets WRITER_METRICS_ADDR and READER_METRICS_PORT0")
	}
	if !slices.Equal(targets["parley-writer"], []string{writer[1]}) {
		t.Errorf("parley-writer targets %v, want [%s] (scripts/run.sh)", targets["parley-writer"], writer[1])
	}
	if r := targets["parley-reader"]; len(r) == 0 || r[0] != "127.0.0.1:"+port0[1] {
		t.Errorf("parley-reader targets %v, want the first at 127.0.0.1:%s (scripts/run.sh)", r, port0[1])
	}

	c := loadCompose(t)
	for _, svc := range []string{"writer", "reader"} {
		addr := composeDefault(c.Services[svc].Environment["METRICS_ADDR"])
		if addr == "" || addr == c.Services[svc].Environment["LISTEN_ADDR"] {
			t.Errorf("compose %s: METRICS_ADDR %q, want an address of its own", svc, addr)
		}
		_, port, _ := strings.Cut(addr, ":")
		for _, p := range c.Services[svc].Ports {
			if strings.Contains(p, port) {
				t.Errorf("compose %s publishes %s, its metrics port", svc, p)
			}
		}
	}
}
