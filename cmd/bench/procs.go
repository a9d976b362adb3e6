package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is a child process of the harness, with its output in a log file.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	addr string
}

func (h *harness) start(name, bin string, env []string, args ...string) (*proc, error) {
	logPath := filepath.Join(h.work, "logs", name+".log")
	_ = os.MkdirAll(filepath.Dir(logPath), 0o755)
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); f.Close(); close(p.done) }()
	h.procs = append(h.procs, p)
	return p, nil
}

// stop ends p gracefully, or kills it after 15s.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// rssBytes is the process's resident set size.
func (p *proc) rssBytes() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
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

// waitHTTP waits until url answers 200, failing if p exits.
func waitHTTP(p *proc, url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			b, _ := os.ReadFile(p.log)
			return fmt.Errorf("%s exited: %s", p.name, tail(string(b), 1500))
		default:
		}
		if res, err := client.Get(url); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready at %s after %s", p.name, url, limit)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// services is a writer, readers and an nginx in front of them.
type services struct {
	db      string
	writer  *proc
	readers []*proc
	nginx   *proc
	url     string // nginx base URL
	env     []string
}

func (h *harness) startWriter(db string) (*proc, error) {
	addr := freeAddr()
	w, err := h.start("writer", filepath.Join(h.bins, "writer"), []string{
		"DATABASE_URL=" + db, "LISTEN_ADDR=" + addr, "LOG_LEVEL=warn", "DB_MAX_CONNS=16",
	})
	if err != nil {
		return nil, err
	}
	w.addr = addr
	return w, waitHTTP(w, "http://"+addr+"/healthz", 60*time.Second)
}

func (h *harness) startReader(name, db, writer string, env []string) (*proc, time.Duration, error) {
	addr := freeAddr()
	begin := time.Now()
	r, err := h.start(name, filepath.Join(h.bins, "reader"), append([]string{
		"DATABASE_URL=" + db, "LISTEN_ADDR=" + addr, "WRITER_URL=http://" + writer, "LOG_LEVEL=warn", "DB_MAX_CONNS=4",
	}, env...))
	if err != nil {
		return nil, 0, err
	}
	r.addr = addr
	err = waitHTTP(r, "http://"+addr+"/readyz", 120*time.Second)
	return r, time.Since(begin), err
}

// startNginx renders the project's nginx template for upstreams and starts
// nginx in front of them.
func (h *harness) startNginx(name string, readers []string, writer string) (*proc, string, error) {
	prefix := filepath.Join(h.work, name)
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
		r, _, err := h.startReader(fmt.Sprintf("reader%d", i+1), s.db, s.writer.addr, s.env)
		if err != nil {
			return err
		}
		s.readers = append(s.readers, r)
		addrs = append(addrs, r.addr)
	}
	n, url, err := h.startNginx("nginx", addrs, s.writer.addr)
	if err != nil {
		return err
	}
	s.nginx, s.url = n, url
	return waitHTTP(n, url+"/last_topics", 30*time.Second)
}

// restartReaders replaces the readers (and nginx) with ones using env.
func (h *harness) restartReaders(s *services, env []string) error {
	s.nginx.stop()
	for _, r := range s.readers {
		r.stop()
	}
	s.readers, s.env = nil, env
	return h.startReaders(s)
}

func (s *services) stop() {
	if s.nginx != nil {
		s.nginx.stop()
	}
	for _, r := range s.readers {
		r.stop()
	}
	if s.writer != nil {
		s.writer.stop()
	}
}

var _ = context.Background
