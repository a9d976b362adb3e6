package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley/parley/internal/apitest"
	"github.com/parley/parley/internal/pgtest"
	"github.com/parley/parley/internal/procs"
	"github.com/parley/parley/internal/stacktest"
)

// bins is where TestMain built the binaries.
var bins string

func TestMain(m *testing.M) {
	code := func() int {
		dir, err := os.MkdirTemp("", "parley-e2e")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		root, err := procs.ModuleRoot()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		build := exec.Command("go", "build", "-o", dir+"/", "./cmd/writer", "./cmd/reader", "./cmd/nginxconf")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
			return 1
		}
		bins = dir
		return m.Run()
	}()
	os.Exit(code)
}

// nginxBin finds nginx. Without it the test is skipped, loudly, unless
// PARLEY_REQUIRE_NGINX is set (as `make test` does, after installing it).
func nginxBin(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("NGINX_BIN"); p != "" {
		return p
	}
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("PARLEY_REQUIRE_NGINX") != "" {
		t.Fatal("nginx not found but PARLEY_REQUIRE_NGINX is set")
	}
	t.Skip("SKIPPED: needs nginx; run `make test`, which installs it")
	return ""
}

func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := procs.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// start starts a child process with its output in the test's temp dir; it
// stops with the test, and its log is shown if the test failed.
func start(t *testing.T, name, bin string, env []string, args ...string) *procs.Proc {
	t.Helper()
	p, err := procs.Start(name, bin, filepath.Join(t.TempDir(), name+".log"), env, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("%s log:\n%s", name, p.LogTail(3000))
		}
	})
	return p
}

// waitHTTP waits until url answers 200.
func waitHTTP(t *testing.T, p *procs.Proc, url string) {
	t.Helper()
	if err := p.WaitHTTP(url, 30*time.Second); err != nil {
		t.Fatal(err)
	}
}

// stack is Postgres, a writer, readers and nginx, as separate processes.
type stack struct {
	db      string
	writer  string // address
	readers []string
	procs   map[string]*procs.Proc
	nginx   string // base URL
	prefix  string
	env     []string          // for every service, e.g. AUTH_MODE
	metrics map[string]string // METRICS_ADDR by process name ("writer", "reader1", …), kept across restarts
	// api sends requests and checks each one and its answer against the
	// OpenAPI document (apitest): every test's traffic through the stack
	// is a test of the document.
	api stacktest.Client
}

type stackOpts struct {
	readers   int
	postRate  string
	postBurst string
	env       []string // added to the writer's and readers' environment
	db        string   // the database to run on, instead of a fresh pgtest.NewDatabase (e.g. a private cluster)
	accessLog bool     // nginx logs every request, in s.prefix/access.log
}

func newStack(t *testing.T, o stackOpts) *stack {
	t.Helper()
	ngx := nginxBin(t)
	if o.readers == 0 {
		o.readers = 2
	}
	if o.db == "" {
		o.db = pgtest.NewDatabase(t)
	}
	s := &stack{db: o.db, writer: freeAddr(t), procs: map[string]*procs.Proc{}, env: o.env, metrics: map[string]string{},
		api: stacktest.Client{HTTP: apitest.Client(t)}}
	s.startWriter(t)
	for i := range o.readers {
		addr := freeAddr(t)
		s.readers = append(s.readers, addr)
		s.startReader(t, i)
	}
	s.prefix = t.TempDir()
	nginxAddr := freeAddr(t)
	args := []string{"-prefix", s.prefix, "-listen", nginxAddr, "-readers", strings.Join(s.readers, ","),
		"-writers", s.writer, "-workers", "2"}
	if o.postRate != "" {
		args = append(args, "-post-rate", o.postRate, "-post-burst", o.postBurst)
	}
	if o.accessLog {
		args = append(args, "-access-log")
	}
	if out, err := exec.Command(filepath.Join(bins, "nginxconf"), args...).CombinedOutput(); err != nil {
		t.Fatalf("nginxconf: %v %s", err, out)
	}
	conf := filepath.Join(s.prefix, "nginx.conf")
	if out, err := runNginxTest(ngx, s.prefix); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	n := start(t, "nginx", ngx, nil, "-p", s.prefix, "-c", conf)
	s.procs["nginx"] = n
	s.nginx = "http://" + nginxAddr
	waitHTTP(t, n, s.nginx+"/last_topics")
	return s
}

// startWriter starts the writer, again after a kill, on its address.
func (s *stack) startWriter(t *testing.T) {
	t.Helper()
	w := start(t, "writer", filepath.Join(bins, "writer"), append([]string{"DATABASE_URL=" + s.db, "LISTEN_ADDR=" + s.writer,
		"LOG_LEVEL=warn", "INTERNAL_TOKEN=" + stacktest.InternalToken, "METRICS_ADDR=" + s.metricsAddr(t, "writer")}, s.env...))
	s.procs["writer"] = w
	waitHTTP(t, w, "http://"+s.writer+"/healthz")
}

// startReader starts (or restarts) reader i on its address.
func (s *stack) startReader(t *testing.T, i int) {
	t.Helper()
	name := fmt.Sprintf("reader%d", i+1)
	r := start(t, name, filepath.Join(bins, "reader"), append([]string{
		"DATABASE_URL=" + s.db, "LISTEN_ADDR=" + s.readers[i], "WRITER_URL=http://" + s.writer,
		"LOG_LEVEL=warn", "VIEW_FLUSH_INTERVAL=100ms", "REFRESH_INTERVAL=200ms", "INTERNAL_TOKEN=" + stacktest.InternalToken,
		"METRICS_ADDR=" + s.metricsAddr(t, name),
	}, s.env...))
	s.procs[name] = r
	waitHTTP(t, r, "http://"+s.readers[i]+"/readyz")
}

// metricsAddr is the METRICS_ADDR of the process name, the same at each
// (re)start.
func (s *stack) metricsAddr(t *testing.T, name string) string {
	t.Helper()
	if s.metrics[name] == "" {
		s.metrics[name] = freeAddr(t)
	}
	return s.metrics[name]
}

// readerStats reads a reader's /internal/stats directly (nginx hides it).
func readerStats(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/internal/stats", nil)
	req.Header.Set("Authorization", "Bearer "+stacktest.InternalToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]float64
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func runNginxTest(ngx, prefix string) ([]byte, error) {
	return exec.Command(ngx, "-t", "-p", prefix, "-c", filepath.Join(prefix, "nginx.conf")).CombinedOutput()
}
