package pgtest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// Proxy is a TCP proxy in front of the test Postgres, so a test can take
// the database away from a service and give it back: the server stays real,
// only the network between them is cut.
type Proxy struct {
	ln     net.Listener
	target func(context.Context) (net.Conn, error)
	db     string
	mu     sync.Mutex
	mode   ProxyMode
	change chan struct{} // closed and replaced on every Set
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

// ProxyMode is what the proxy does with connections.
type ProxyMode int

// The proxy's modes.
const (
	ProxyUp        ProxyMode = iota // forward
	ProxyDown                       // reset every connection, as if Postgres were gone
	ProxyBlackhole                  // accept and never answer, as if packets were dropped
)

// NewProxy starts a proxy to the server of dbURL; it stops with the test.
func NewProxy(t testing.TB, dbURL string) *Proxy {
	t.Helper()
	cfg, err := pgconn.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	network, addr := "tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	if len(cfg.Host) > 0 && cfg.Host[0] == '/' {
		network, addr = "unix", fmt.Sprintf("%s/.s.PGSQL.%d", cfg.Host, cfg.Port)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{
		ln: ln,
		target: func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
		db:     cfg.Database,
		conns:  map[net.Conn]struct{}{},
		change: make(chan struct{}),
	}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// URL is a DATABASE_URL that reaches the database through the proxy.
func (p *Proxy) URL(user string) string {
	u := url.URL{Scheme: "postgres", User: url.User(user), Host: p.ln.Addr().String(), Path: "/" + p.db}
	return u.String() + "?sslmode=disable"
}

// Set switches the mode. ProxyDown cuts every open connection;
// ProxyBlackhole stalls them: bytes stop flowing, nothing is closed.
func (p *Proxy) Set(m ProxyMode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = m
	close(p.change)
	p.change = make(chan struct{})
	if m == ProxyDown {
		for c := range p.conns {
			_ = c.Close()
		}
	}
}

// pass waits while the proxy is a black hole and tells whether to go on.
func (p *Proxy) pass() bool {
	for {
		p.mu.Lock()
		mode, change := p.mode, p.change
		p.mu.Unlock()
		switch mode {
		case ProxyUp:
			return true
		case ProxyDown:
			return false
		}
		<-change
	}
}

func (p *Proxy) copy(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.pass() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *Proxy) close() {
	_ = p.ln.Close()
	p.Set(ProxyDown)
	p.wg.Wait()
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns[c] = struct{}{}
	return p.mode == ProxyUp
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	_ = c.Close()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.pipe(c)
	}
}

// pipe forwards one client connection. In a black hole the client waits
// (tracked, so Down or the end of the test closes it) until the proxy is up.
func (p *Proxy) pipe(c net.Conn) {
	defer p.wg.Done()
	p.track(c)
	if !p.pass() {
		p.untrack(c)
		return
	}
	up, err := p.target(context.Background())
	if err != nil {
		_ = c.Close()
		return
	}
	if !p.track(up) {
		p.untrack(c)
		p.untrack(up)
		return
	}
	done := make(chan struct{}, 2)
	go func() { p.copy(up, c); done <- struct{}{} }()
	go func() { p.copy(c, up); done <- struct{}{} }()
	<-done
	p.untrack(c)
	p.untrack(up)
	<-done
}
