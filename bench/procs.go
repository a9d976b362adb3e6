package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/parley/parley/internal/procs"
)

// start starts a child process of the harness, with its output in the
// run's log directory; the harness stops it at the end if nobody did.
func (h *harness) start(name, bin string, env []string, args ...string) (*procs.Proc, error) {
	name = h.prefix + name
	p, err := procs.Start(name, bin, filepath.Join(h.work, "logs", name+".log"), env, args...)
	if err != nil {
		return nil, err
	}
	h.procs = append(h.procs, p)
	return p, nil
}

// rssBytes is a process's resident set size.
func rssBytes(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// debugAddr gives a service a pprof port of its own (DEBUG_ADDR) when the
// bench runs with BENCH_PPROF=1, and says where on stderr, so a profile can be
// taken in the middle of a run; otherwise it serves none.
func debugAddr(name string) string {
	if os.Getenv("BENCH_PPROF") != "1" {
		return "DEBUG_ADDR="
	}
	addr := freeAddr()
	fmt.Fprintf(os.Stderr, "pprof of %s: http://%s/debug/pprof/\n", name, addr)
	return "DEBUG_ADDR=" + addr
}

func freeAddr() string {
	addr, err := procs.FreeAddr()
	if err != nil {
		panic(err)
	}
	return addr
}

// services is a writer, readers and an nginx in front of them.
type services struct {
	db      string
	writer  *procs.Proc
	readers []*procs.Proc
	nginx   *procs.Proc
	url     string // nginx base URL
	env     []string
}

// benchToken is the INTERNAL_TOKEN of the services the harness runs, so
// view batches go through the same authentication as in production.
const benchToken = "bench-internal-token-0123456789"

func (h *harness) startWriter(db string) (*procs.Proc, error) {
	addr := freeAddr()
	w, err := h.start("writer", filepath.Join(h.bins, "writer"), append([]string{
		"DATABASE_URL=" + db, "LISTEN_ADDR=" + addr, "LOG_LEVEL=warn", "DB_MAX_CONNS=16", "INTERNAL_TOKEN=" + benchToken,
		debugAddr("writer"),
	}, h.writerEnv...))
	if err != nil {
		return nil, err
	}
	w.Addr = addr
	return w, w.WaitHTTP("http://"+addr+"/healthz", 60*time.Second)
}

func (h *harness) startReader(name, db, writer string, env []string) (*procs.Proc, time.Duration, error) {
	addr := freeAddr()
	begin := time.Now()
	r, err := h.start(name, filepath.Join(h.bins, "reader"), append([]string{
		"DATABASE_URL=" + db, "LISTEN_ADDR=" + addr, "WRITER_URL=http://" + writer, "LOG_LEVEL=warn", "DB_MAX_CONNS=4",
		"INTERNAL_TOKEN=" + benchToken, debugAddr(name),
	}, env...))
	if err != nil {
		return nil, 0, err
	}
	r.Addr = addr
	err = r.WaitHTTP("http://"+addr+"/readyz", 120*time.Second)
	return r, time.Since(begin), err
}

// startNginx renders the project's nginx template for upstreams and starts
// nginx in front of them.
func (h *harness) startNginx(name string, readers []string, writer string) (*procs.Proc, string, error) {
	prefix := filepath.Join(h.work, h.prefix+name)
	addr := freeAddr()
	out, err := exec.Command(filepath.Join(h.bins, "nginxconf"), "-prefix", prefix, "-listen", addr,
		"-readers", strings.Join(readers, ","), "-writers", writer, "-workers", "auto",
		// One load generator is one client address: lift the POST rate limit,
		// which is there for abusive clients, not to measure.
		"-post-rate", "1000000", "-post-burst", "1000000").CombinedOutput()
	if err != nil {
		return nil, "", fmt.Errorf("nginxconf: %v %s", err, out)
	}
	n, err := h.start(name, h.nginxBin, nil, "-p", prefix, "-c", filepath.Join(prefix, "nginx.conf"))
	if err != nil {
		return nil, "", err
	}
	return n, "http://" + addr, nil
}

func (h *harness) startServices(db string, readerEnv []string) (*services, error) {
	s := &services{db: db, env: readerEnv}
	var err error
	if s.writer, err = h.startWriter(db); err != nil {
		return nil, err
	}
	if err := h.startReaders(s); err != nil {
		return nil, err
	}
	return s, nil
}

func (h *harness) startReaders(s *services) error {
	var addrs []string
	for i := range 2 {
		r, _, err := h.startReader(fmt.Sprintf("reader%d", i+1), s.db, s.writer.Addr, s.env)
		if err != nil {
			return err
		}
		s.readers = append(s.readers, r)
		addrs = append(addrs, r.Addr)
	}
	n, url, err := h.startNginx("nginx", addrs, s.writer.Addr)
	if err != nil {
		return err
	}
	s.nginx, s.url = n, url
	return n.WaitHTTP(url+"/last_topics", 30*time.Second)
}

// restartReaders replaces the readers (and nginx) with ones using env.
func (h *harness) restartReaders(s *services, env []string) error {
	s.nginx.Stop()
	for _, r := range s.readers {
		r.Stop()
	}
	s.readers, s.env = nil, env
	return h.startReaders(s)
}

func (s *services) Stop() {
	if s.nginx != nil {
		s.nginx.Stop()
	}
	for _, r := range s.readers {
		r.Stop()
	}
	if s.writer != nil {
		s.writer.Stop()
	}
}
