// Package browsertest runs pages in a real browser for tests: headless
// Chromium, driven with chromedp. Only tests import it.
//
// New starts a browser for the test and stops it when the test ends. While
// the test runs it records what a person at the DevTools console would see
// go wrong: console.error calls, uncaught exceptions and unhandled
// rejections, the browser's own error log, where Content-Security-Policy
// violations and failed loads appear, and any alert, confirm or prompt
// dialog. The test fails at its end if any of
// them occurred, unless an Allow option lets it through.
//
// The browser comes from CHROMIUM_BIN (scripts/ensure-chromium.sh, which
// `make test` runs, prints it), or chromium on the PATH. Without one the test
// is skipped, loudly, unless PARLEY_REQUIRE_BROWSER is set; then it fails.
package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// StartTimeout bounds how long New waits for the browser to start and open
// its first tab.
const StartTimeout = 60 * time.Second

// Option changes how New starts the browser.
type Option func(*config)

type config struct {
	width, height int
	mobile        bool
	allow         []string
	origins       []string
	flags         map[string]any
}

// WindowSize sets the size of the browser's window, and so the page's
// viewport, in CSS pixels: WindowSize(375, 812) for a phone. The default is
// 1280×900.
func WindowSize(width, height int) Option {
	return func(c *config) { c.width, c.height = width, height }
}

// Mobile makes the tabs emulate a phone: a mobile viewport (the page's
// meta viewport applies) and touch events. Use it with WindowSize(375, 812).
func Mobile() Option {
	return func(c *config) { c.mobile = true }
}

// Allow lets through the problems whose text contains any of the given
// strings: they are logged, and do not fail the test. Use it for an error
// the test expects.
func Allow(substrings ...string) Option {
	return func(c *config) { c.allow = append(c.allow, substrings...) }
}

// SameOrigin makes every request a tab sends to another origin than base's
// (a URL such as "http://127.0.0.1:8080") a problem, so the test fails if the
// page reaches out anywhere else: a CDN, a font service, analytics. data:,
// blob: and about: URLs never leave the browser and are not counted. The
// origins of others are allowed too: a page of one site that embeds
// another names both.
func SameOrigin(base string, others ...string) Option {
	return func(c *config) {
		for _, u := range append([]string{base}, others...) {
			c.origins = append(c.origins, origin(u))
		}
	}
}

// Flag passes a command-line flag to Chromium, as chromedp.Flag does.
func Flag(name string, value any) Option {
	return func(c *config) { c.flags[name] = value }
}

// Bin finds Chromium: CHROMIUM_BIN, or chromium on the PATH. Without it the
// test is skipped, loudly, unless PARLEY_REQUIRE_BROWSER is set (as `make test`
// does, after installing it).
func Bin(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM_BIN"); p != "" {
		return p
	}
	for _, p := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("PARLEY_REQUIRE_BROWSER") != "" {
		t.Fatal("chromium not found but PARLEY_REQUIRE_BROWSER is set")
	}
	t.Skip("SKIPPED: needs chromium; run `make test`, which installs it (scripts/ensure-chromium.sh)")
	return ""
}

// New starts a headless Chromium for the test and returns a context for
// chromedp actions in its first tab; the browser stops when the test ends.
// Each call starts another browser, with its own profile (cookies, storage),
// so a test can have two users side by side. Tab opens more tabs in one.
//
// At the test's end, New's cleanup fails the test if any tab of the browser
// had a problem that was not allowed (see the package documentation). Give
// each wait its own deadline, derived from the returned context:
//
//	ctx := browsertest.New(t, browsertest.SameOrigin(base))
//	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
//	defer cancel()
//	err := chromedp.Do(wctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("main")))
//
// A deadline on the returned context itself would stop the browser.
func New(t testing.TB, opts ...Option) context.Context {
	t.Helper()
	bin := Bin(t)
	c := config{width: 1280, height: 900, flags: map[string]any{}}
	for _, o := range opts {
		o(&c)
	}

	logPath := filepath.Join(t.TempDir(), "chromium.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	allocOpts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.WindowSize(c.width, c.height),
		chromedp.CombinedOutput(logFile),
		// No sync, no component updates, no field trials: nothing but the
		// page under test talks to the network.
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-field-trial-config", true),
		chromedp.Flag("no-pings", true),
	)
	if os.Geteuid() == 0 {
		// Chromium refuses to run as root with its sandbox.
		allocOpts = append(allocOpts, chromedp.NoSandbox)
	}
	for name, v := range c.flags {
		allocOpts = append(allocOpts, chromedp.Flag(name, v))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), allocOpts...)

	b := &browserState{t: t, cfg: c}
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithListener(b.newTab().listen))
	stop := func() {
		cancel()
		cancelAlloc()
		logFile.Close()
	}
	t.Cleanup(func() {
		b.report(true)
		stop()
		if t.Failed() {
			if out, err := os.ReadFile(logPath); err == nil && len(out) > 0 {
				t.Logf("chromium output (%s, without its D-Bus complaints):\n%s", logPath, tail(out, 4000))
			}
		}
	})

	// The first action starts the browser and binds it to ctx, so it cannot
	// carry a deadline of its own: watch the clock beside it.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err = <-started:
	case <-time.After(StartTimeout):
		cancel()
		err = fmt.Errorf("no browser after %v", StartTimeout)
		<-started
	}
	if err == nil {
		err = chromedp.Do(ctx, b.viewport())
	}
	if err != nil {
		t.Fatalf("browsertest: start %s: %v", bin, err)
	}
	return context.WithValue(ctx, stateKey{}, b)
}

// Tab opens another tab in ctx's browser (one New returned), sharing its
// profile, cookies included; its problems count as the browser's. The tab
// closes when the test ends.
func Tab(t testing.TB, ctx context.Context) context.Context {
	t.Helper()
	b := state(t, ctx)
	tb := b.newTab()
	tabCtx, cancel := chromedp.NewContext(ctx, chromedp.WithListener(tb.listen))
	t.Cleanup(cancel)
	if err := chromedp.Do(tabCtx, b.viewport()); err != nil {
		t.Fatalf("browsertest: open %s: %v", tb.name, err)
	}
	return tabCtx
}

// Problems returns the problems not allowed that ctx's browser had so far,
// in every tab, in the order they happened.
func Problems(ctx context.Context) []string {
	b, _ := ctx.Value(stateKey{}).(*browserState)
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}

// Check fails the test now for each problem ctx's browser had so far, as
// the cleanup would later; a problem is reported once.
func Check(t testing.TB, ctx context.Context) {
	t.Helper()
	state(t, ctx).report(false)
}

// Requests returns the URL of every request that ctx's browser sent so far,
// in every tab, in order.
func Requests(ctx context.Context) []string {
	b, _ := ctx.Value(stateKey{}).(*browserState)
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.requests...)
}

type stateKey struct{}

func state(t testing.TB, ctx context.Context) *browserState {
	t.Helper()
	b, _ := ctx.Value(stateKey{}).(*browserState)
	if b == nil {
		t.Fatal("browsertest: not a context from browsertest.New")
	}
	return b
}

// browserState is what one browser's tabs recorded.
type browserState struct {
	t   testing.TB
	cfg config

	mu       sync.Mutex
	tabs     int
	problems []string // not allowed
	allowed  []string
	reported int // problems[:reported] were reported by Check
	requests []string
}

// viewport sets a tab's viewport to the window size: Chromium keeps a
// window at least 500 pixels wide, so a phone's width needs emulation.
func (b *browserState) viewport() chromedp.Action[chromedp.Void] {
	var opts []chromedp.EmulateViewportOption
	if b.cfg.mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	return chromedp.EmulateViewport(int64(b.cfg.width), int64(b.cfg.height), opts...)
}

type tab struct {
	b    *browserState
	name string
}

// newTab names a tab: problems say which tab had them.
func (b *browserState) newTab() *tab {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tabs++
	return &tab{b: b, name: fmt.Sprintf("tab %d", b.tabs)}
}

// listen runs in the tab's event loop (chromedp.WithListener), for every
// event in the order the browser sent them: it must be quick and send no
// command. chromedp enables the Runtime, Log and Network domains on each tab.
func (tb *tab) listen(ev any) {
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			tb.problem(fmt.Sprintf("console.%s: %s%s", ev.Type, argsText(ev.Args), stackText(ev.StackTrace)))
		}
	case *runtime.EventExceptionThrown:
		tb.problem("uncaught exception: " + exceptionText(ev.ExceptionDetails))
	case *log.EventEntryAdded:
		e := ev.Entry
		if e != nil && e.Level == log.EntryLevelError {
			if e.Source == log.EntrySourceNetwork && isFavicon(e.URL) {
				// The browser asks for /favicon.ico by itself when a page
				// names no icon; a 404 there is no error of the page.
				tb.allow(fmt.Sprintf("%s error: %s (%s)", e.Source, e.Text, e.URL))
				return
			}
			where := e.URL
			if where != "" && e.LineNumber > 0 {
				where = fmt.Sprintf("%s:%d", where, e.LineNumber+1)
			}
			if where != "" {
				where = " (" + where + ")"
			}
			tb.problem(fmt.Sprintf("%s error: %s%s", e.Source, e.Text, where))
		}
	case *network.EventRequestWillBeSent:
		if ev.Request == nil {
			return
		}
		u := ev.Request.URL
		tb.b.mu.Lock()
		tb.b.requests = append(tb.b.requests, u)
		origins := tb.b.cfg.origins
		tb.b.mu.Unlock()
		if len(origins) > 0 && !local(u) && !slices.Contains(origins, origin(u)) {
			tb.problem(fmt.Sprintf("request outside %s: %s %s", strings.Join(origins, ", "), ev.Request.Method, u))
		}
	case *page.EventJavascriptDialogOpening:
		// alert(), confirm() or prompt(): a page under test has no business
		// opening one (and a script injected into it would).
		tb.problem(fmt.Sprintf("a %s dialog opened: %q", ev.Type, ev.Message))
	}
}

func (tb *tab) allow(text string) {
	tb.b.mu.Lock()
	defer tb.b.mu.Unlock()
	tb.b.allowed = append(tb.b.allowed, tb.name+": "+text)
}

func isFavicon(u string) bool {
	p, err := url.Parse(u)
	return err == nil && p.Path == "/favicon.ico"
}

func (tb *tab) problem(text string) {
	b := tb.b
	text = tb.name + ": " + text
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.cfg.allow {
		if strings.Contains(text, s) {
			b.allowed = append(b.allowed, text)
			return
		}
	}
	b.problems = append(b.problems, text)
}

// report fails the test for each problem not yet reported; at the end it
// also logs the allowed ones.
func (b *browserState) report(end bool) {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems[b.reported:] {
		b.t.Errorf("browser: %s", p)
	}
	b.reported = len(b.problems)
	if end {
		for _, p := range b.allowed {
			b.t.Logf("browser (allowed): %s", p)
		}
	}
}

// local reports whether a URL never leaves the browser.
func local(u string) bool {
	for _, p := range []string{"data:", "blob:", "about:", "chrome:", "devtools:"} {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}

// origin is a URL's scheme://host:port, lowercase, with the default port
// spelled out, so that http://x and http://x:80 agree and
// http://127.0.0.1:80 is not taken for http://127.0.0.1:8080.
func origin(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return s
	}
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		switch scheme {
		case "http", "ws":
			port = "80"
		case "https", "wss":
			port = "443"
		}
	}
	return scheme + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

func argsText(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		parts = append(parts, objectText(a))
	}
	return strings.Join(parts, " ")
}

func objectText(o *runtime.RemoteObject) string {
	switch {
	case o == nil:
		return "undefined"
	case o.Type == runtime.RemoteObjectTypeString && len(o.Value) > 0:
		var s string
		if err := json.Unmarshal(o.Value, &s); err == nil {
			return s
		}
		return string(o.Value)
	case o.Description != "":
		return o.Description
	case len(o.Value) > 0:
		return string(o.Value)
	case o.UnserializableValue != "":
		return string(o.UnserializableValue)
	}
	return string(o.Type)
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "?"
	}
	text := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		text += " " + d.Exception.Description
	} else if d.Exception != nil {
		text += " " + objectText(d.Exception)
	}
	where := d.URL
	if where == "" && d.StackTrace != nil && len(d.StackTrace.CallFrames) > 0 {
		where = d.StackTrace.CallFrames[0].URL
	}
	if where != "" {
		text += fmt.Sprintf(" (%s:%d:%d)", where, d.LineNumber+1, d.ColumnNumber+1)
	}
	return text
}

func stackText(st *runtime.StackTrace) string {
	if st == nil || len(st.CallFrames) == 0 {
		return ""
	}
	f := st.CallFrames[0]
	return fmt.Sprintf(" (%s:%d:%d)", f.URL, f.LineNumber+1, f.ColumnNumber+1)
}

// tail is the end of Chromium's output, without the lines about D-Bus,
// which a machine without a desktop session has plenty of.
func tail(out []byte, n int) string {
	var keep []string
	for line := range strings.Lines(string(out)) {
		if !strings.Contains(line, ":ERROR:dbus/") {
			keep = append(keep, line)
		}
	}
	s := strings.Join(keep, "")
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
}
