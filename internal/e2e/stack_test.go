package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley/parley/internal/pgtest"
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
		root, err := moduleRoot()
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

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a child process whose output goes to a file in the test's temp dir.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	once sync.Once
}

func start(t *testing.T, name, bin string, env []string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); f.Close(); close(p.done) }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("%s log:\n%s", name, tail(string(b), 3000))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// stop ends the process gracefully (SIGTERM), killing it after 10s.
func (p *proc) stop() {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
}

// kill ends the process at once, as a crash would.
func (p *proc) kill() {
	p.once.Do(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitHTTP waits until url answers 200.
func waitHTTP(t *testing.T, p *proc, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if p.exited() {
			b, _ := os.ReadFile(p.log)
			t.Fatalf("%s exited:\n%s", p.name, tail(string(b), 2000))
		}
		res, err := http.Get(url)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s not ready at %s", p.name, url)
}

// stack is Postgres, a writer, readers and nginx, as separate processes.
type stack struct {
	db      string
	writer  string // address
	readers []string
	procs   map[string]*proc
	nginx   string // base URL
	prefix  string
}

type stackOpts struct {
	readers   int
	postRate  string
	postBurst string
}

func newStack(t *testing.T, o stackOpts) *stack {
	t.Helper()
	ngx := nginxBin(t)
	if o.readers == 0 {
		o.readers = 2
	}
	s := &stack{db: pgtest.NewDatabase(t), writer: freeAddr(t), procs: map[string]*proc{}}
	w := start(t, "writer", filepath.Join(bins, "writer"), []string{"DATABASE_URL=" + s.db, "LISTEN_ADDR=" + s.writer, "LOG_LEVEL=warn"})
	s.procs["writer"] = w
	waitHTTP(t, w, "http://"+s.writer+"/healthz")
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
	if out, err := exec.Command(filepath.Join(bins, "nginxconf"), args...).CombinedOutput(); err != nil {
		t.Fatalf("nginxconf: %v %s", err, out)
	}
	conf := filepath.Join(s.prefix, "nginx.conf")
	if out, err := exec.Command(ngx, "-t", "-p", s.prefix, "-c", conf).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	n := start(t, "nginx", ngx, nil, "-p", s.prefix, "-c", conf)
	s.procs["nginx"] = n
	s.nginx = "http://" + nginxAddr
	waitHTTP(t, n, s.nginx+"/last_topics")
	return s
}

// startReader starts (or restarts) reader i on its address.
func (s *stack) startReader(t *testing.T, i int) {
	t.Helper()
	name := fmt.Sprintf("reader%d", i+1)
	r := start(t, name, filepath.Join(bins, "reader"), []string{
		"DATABASE_URL=" + s.db, "LISTEN_ADDR=" + s.readers[i], "WRITER_URL=http://" + s.writer,
		"LOG_LEVEL=warn", "VIEW_FLUSH_INTERVAL=100ms", "REFRESH_INTERVAL=200ms",
	})
	s.procs[name] = r
	waitHTTP(t, r, "http://"+s.readers[i]+"/readyz")
}

// readerStats reads a reader's /internal/stats directly (nginx hides it).
func readerStats(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	res, err := http.Get("http://" + addr + "/internal/stats")
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
