// Command bench measures Parley on this machine, each figure beside a
// ceiling measured in the same run: reads through nginx against the same
// nginx in front of a trivial server, writes against single-row INSERTs
// into the same Postgres, freshness with and without NOTIFY, start-up and
// memory with a million stored comments, the database cost of views, and
// the Go micro-benchmarks. `make bench` runs it (-long for the long profile).
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/parley/parley/internal/procs"
)

type harness struct {
	bins, work, nginxBin, admin string
	beforeBins                  string   // binaries of an earlier commit, for the writes' before and after
	prefix                      string   // of the names (and logs) of the processes started now
	writerEnv                   []string // more environment for the writers started now
	long                        bool
	staticHeaders               bool          // the ceiling's static servers answer with a reader's response headers
	dur                         time.Duration // one load run
	rounds                      int           // alternating rounds of a comparison
	soakDur                     time.Duration // the long profile's sustained run
	only                        string
	procs                       []*procs.Proc
	rows                        []row
	charts                      []bar
	notes                       []string
	tables                      []string // Markdown tables after the summary
	micros                      []string
}

// row is one figure of the summary.
type row struct {
	Section, Name string
	Value         string
	Ceiling       string
	Ratio         string
	Goal          string
}

// bar is one figure of the chart.
type bar struct {
	Group, Name string
	RPS         float64
	P50, P99    time.Duration
	IsCeiling   bool
}

func main() {
	h := &harness{}
	flag.StringVar(&h.bins, "bins", "bin", "directory with writer, reader and nginxconf")
	flag.StringVar(&h.nginxBin, "nginx", "nginx", "nginx binary")
	flag.StringVar(&h.beforeBins, "before-bins", "", "binaries of an earlier commit: the write rounds and the mixed run also run a stack of these (before, beside after, in alternating rounds)")
	flag.StringVar(&h.admin, "db", os.Getenv("DATABASE_URL"), "Postgres admin URL; benchmark databases are created there")
	flag.BoolVar(&h.long, "long", false, "the long profile: longer runs, more samples, and the soak")
	flag.BoolVar(&h.staticHeaders, "static-headers", false, "the read ceiling's static servers answer with the headers a reader's page carries (ETag, X-Log-Position, X-Request-Id, Link), not the bare minimum: how much of the gap the headers the API promises make")
	flag.DurationVar(&h.soakDur, "soak", 30*time.Minute, "how long the soak runs (long profile, -only soak, soak-beside or soak-simplest)")
	flag.StringVar(&h.only, "only", "", "run only this part: api, scale, micro, writes (the write rounds of api alone), mixed (the reads via nginx and the mixed run of api alone), soak, soak-beside (a diagnosis: the soak's load for -soak, every half minute in turns against Parley and the simplest service), or soak-simplest (the soak's load against the simplest service alone, by minute), for working on one figure")
	report := flag.String("report", "", "write the Markdown report to this file")
	chart := flag.String("chart", "", "write the chart PNG to this file")
	static := flag.String("static", "", "internal: serve -file at this address and nothing else")
	file := flag.String("file", "", "internal: the body -static serves")
	headers := flag.Bool("headers", false, "internal: -static answers with a reader's headers")
	baseline := flag.String("baseline", "", "internal: serve the honest write baseline at this address, inserting into -db")
	fill := flag.String("fill", "", "only bulk-load the database -db into this shape, topics×comments (e.g. 10000x100), and exit")
	fillVotes := flag.Int("fill-votes", 0, "with -fill: votes on every comment")
	flag.Parse()
	if *fill != "" {
		var topics, per int
		if _, err := fmt.Sscanf(*fill, "%dx%d", &topics, &per); err != nil {
			fail(fmt.Errorf("-fill: %w", err))
		}
		fail(bulkStore(context.Background(), h.admin, topics, per, 300, *fillVotes))
		return
	}
	if *baseline != "" {
		applyTimerSlack()
		serveBaseline(*baseline, h.admin)
		return
	}
	if *static != "" {
		applyTimerSlack()
		serveStatic(*static, *file, *headers)
		return
	}
	if h.admin == "" {
		fail(fmt.Errorf("set DATABASE_URL or -db"))
	}
	h.dur, h.rounds = 3*time.Second, 5
	if h.long {
		h.dur, h.rounds = 10*time.Second, 5
	}
	var err error
	h.work, err = os.MkdirTemp("", "parley-bench")
	fail(err)
	defer os.RemoveAll(h.work)
	defer h.stopAll()

	began := time.Now()
	ctx := context.Background()
	steps := map[string]func(context.Context) error{"api": h.readsAndWrites, "scale": h.scale, "micro": h.micro, "writes": h.writesOnly, "mixed": h.readsAndWrites, "soak": h.soak, "soak-beside": h.soakBeside, "soak-simplest": h.soakSimplest}
	for _, name := range []string{"api", "scale", "micro", "writes", "mixed", "soak", "soak-beside", "soak-simplest"} {
		alone := name == "writes" || name == "mixed" || name == "soak-beside" || name == "soak-simplest" || (name == "soak" && !h.long) // parts run only when asked for
		if h.only != name && (h.only != "" || alone) {
			continue
		}
		if err := steps[name](ctx); err != nil {
			h.stopAll()
			fail(err)
		}
	}
	h.notes = append(h.notes, fmt.Sprintf("whole run: %s", time.Since(began).Round(time.Second)))
	md := h.markdown()
	fmt.Println(md)
	if *report != "" {
		fail(writeBetweenMarkers(*report, md))
	}
	if *chart != "" {
		fail(h.chart(*chart))
	}
}

func (h *harness) stopAll() {
	for i := len(h.procs) - 1; i >= 0; i-- {
		h.procs[i].Stop()
	}
	h.procs = nil
}

func (h *harness) add(section, name, value, ceiling, ratio, goal string) {
	r := row{Section: section, Name: name, Value: value, Ceiling: ceiling, Ratio: ratio, Goal: goal}
	h.rows = append(h.rows, r)
	fmt.Fprintf(os.Stderr, "  %-10s %-58s %-32s %-24s %-8s %s\n", section, name, value, ceiling, ratio, goal)
}

// serveStatic is the trivial server of the read ceiling: it answers every
// request with the same bytes, as fast as net/http can; with headers, with
// the headers a reader's page of a topic carries too (their values are
// typical, not computed).
func serveStatic(addr, file string, headers bool) {
	body, err := os.ReadFile(file)
	fail(err)
	fail(http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		if headers {
			w.Header().Set("Etag", `"v1234567"`)
			w.Header().Set("X-Log-Position", "1234567")
			w.Header().Set("X-Request-Id", "52b8b2a95847d5840000000000000001")
			w.Header().Set("Link", `</topic_comments?after=0%2F19&limit=20&parent_path=0&topic_id=0f8fad5b-d9cb-469f-a165-70867728950e>; rel="next"`)
		}
		_, _ = w.Write(body)
	})))
}

func (h *harness) newDB(ctx context.Context, name string) (string, error) {
	conn, err := pgxConnect(ctx, h.admin)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	return withDatabase(h.admin, name)
}

// micro runs the Go micro-benchmarks of the hot paths.
func (h *harness) micro(ctx context.Context) error {
	benchtime := "300ms"
	if h.long {
		benchtime = "2s"
	}
	// The services' module: the harness's own module replaces it with ../,
	// and `go list` says where it is from either.
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/parley/parley").Output()
	if err != nil {
		return fmt.Errorf("finding the service module: %w", err)
	}
	root := strings.TrimSpace(string(out))
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "XXX", "-bench", ".", "-benchmem", "-benchtime", benchtime,
		"./internal/reader/...", "./internal/writer")
	cmd.Dir = root
	out, err = cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("micro-benchmarks: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "Benchmark") {
			h.micros = append(h.micros, line)
		}
	}
	return nil
}

func fail(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// writeBetweenMarkers replaces what lies between the bench markers of the
// report file, keeping the prose around them.
func writeBetweenMarkers(path, md string) error {
	const begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(old)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %s … %s markers", path, begin, end)
	}
	return os.WriteFile(path, []byte(s[:i+len(begin)]+"\n"+md+"\n"+s[j:]), 0o644)
}
