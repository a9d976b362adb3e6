package browsertest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.uber.org/goleak"
)

// A browser's goroutines end with its test.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// pages serves the pages the tests below open: each ends by showing #done.
func pages(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	page := func(path, csp, body string) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			if csp != "" {
				w.Header().Set("Content-Security-Policy", csp)
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, "<!doctype html><html><head><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>t</title></head><body>%s</body></html>", body)
		})
	}
	mux.HandleFunc("/done.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `document.body.insertAdjacentHTML("beforeend", '<p id="done">done</p>');`)
	})
	mux.HandleFunc("/errors.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `console.error("boom", 42); setTimeout(() => { throw new Error("kaboom"); }, 0);`)
	})
	page("/clean", "default-src 'self'", `<p>hello</p><script src="/done.js"></script>`)
	page("/errors", "", `<script src="/errors.js"></script><script src="/done.js"></script>`)
	page("/csp", "default-src 'self'; script-src 'self'", `<script>console.log("inline")</script><script src="/done.js"></script>`)
	// 127.0.0.2 is another origin for the browser, though the same server.
	page("/away", "", `<img src="http://127.0.0.2:1/pixel.png"><script src="/done.js"></script>`)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func open(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(wctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("done"))); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
}

// takeProblems returns the problems so far and forgets them, so that the
// test's cleanup does not fail on the ones a test provoked.
func takeProblems(t *testing.T, ctx context.Context) []string {
	t.Helper()
	b := state(t, ctx)
	// The last events of a page can come just after the wait that saw it
	// ready: a round trip to the tab lets them in.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void]("0")); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.problems
	b.problems, b.reported = nil, 0
	return p
}

func wantProblem(t *testing.T, problems []string, substr string) {
	t.Helper()
	for _, p := range problems {
		if strings.Contains(p, substr) {
			return
		}
	}
	t.Errorf("no problem mentions %q in %q", substr, problems)
}

func TestCleanPage(t *testing.T) {
	srv := pages(t)
	ctx := New(t, SameOrigin(srv.URL))
	open(t, ctx, srv.URL+"/clean")
	if p := Problems(ctx); len(p) != 0 {
		t.Errorf("problems on a clean page: %q", p)
	}
	var sawPage bool
	for _, u := range Requests(ctx) {
		sawPage = sawPage || u == srv.URL+"/clean"
	}
	if !sawPage {
		t.Errorf("requests %q lack the page", Requests(ctx))
	}
}

func TestRecordsProblems(t *testing.T) {
	srv := pages(t)
	ctx := New(t, SameOrigin(srv.URL))

	open(t, ctx, srv.URL+"/errors")
	// The exception comes from a timer: wait for it.
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for len(Problems(ctx)) < 2 && wctx.Err() == nil {
		_ = chromedp.Do(wctx, chromedp.Evaluate[chromedp.Void]("0"))
	}
	p := takeProblems(t, ctx)
	wantProblem(t, p, "console.error: boom 42")
	wantProblem(t, p, "uncaught exception: Uncaught Error: kaboom")

	open(t, ctx, srv.URL+"/csp")
	p = takeProblems(t, ctx)
	wantProblem(t, p, "Content Security Policy")
	wantProblem(t, p, "script-src 'self'")

	open(t, ctx, srv.URL+"/away")
	p = takeProblems(t, ctx)
	wantProblem(t, p, "request outside "+origin(srv.URL)+": GET http://127.0.0.2:1/pixel.png")
}

func TestAllow(t *testing.T) {
	srv := pages(t)
	ctx := New(t, Allow("boom", "kaboom"))
	open(t, ctx, srv.URL+"/errors")
	if p := Problems(ctx); len(p) != 0 {
		t.Errorf("allowed problems were counted: %q", p)
	}
}

// TestSeveral has two browsers (two profiles) and a second tab, each with
// its own window size.
func TestSeveral(t *testing.T) {
	srv := pages(t)
	phone := New(t, WindowSize(375, 812), Mobile())
	desk := New(t)
	tab2 := Tab(t, desk)
	for _, c := range []struct {
		name  string
		ctx   context.Context
		width int
	}{{"phone", phone, 375}, {"desktop", desk, 1280}, {"second tab", tab2, 1280}} {
		open(t, c.ctx, srv.URL+"/clean")
		w, err := chromedp.Run(c.ctx, chromedp.Evaluate[int]("window.innerWidth"))
		if err != nil {
			t.Fatal(err)
		}
		if w != c.width {
			t.Errorf("%s: innerWidth %d, want %d", c.name, w, c.width)
		}
		touch, err := chromedp.Run(c.ctx, chromedp.Evaluate[bool]("navigator.maxTouchPoints > 0"))
		if err != nil {
			t.Fatal(err)
		}
		if touch != (c.ctx == phone) {
			t.Errorf("%s: touch %v", c.name, touch)
		}
	}
	// A cookie set in one browser is not in the other, and is in its tabs.
	if err := chromedp.Do(desk, chromedp.Evaluate[chromedp.Void](`document.cookie = "who=desk"`)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		ctx  context.Context
		want string
	}{{"phone", phone, ""}, {"second tab", tab2, "who=desk"}} {
		got, err := chromedp.Run(c.ctx, chromedp.Evaluate[string]("document.cookie"))
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s: cookie %q, want %q", c.name, got, c.want)
		}
	}
}

func TestOrigin(t *testing.T) {
	for _, c := range []struct{ a, b string }{
		{"http://127.0.0.1:80/x", "http://127.0.0.1"},
		{"HTTP://Example.com/", "http://example.com:80"},
		{"https://example.com/a?b", "https://example.com:443"},
	} {
		if origin(c.a) != origin(c.b) {
			t.Errorf("origin(%q) = %q, origin(%q) = %q", c.a, origin(c.a), c.b, origin(c.b))
		}
	}
	if origin("http://127.0.0.1:8080") == origin("http://127.0.0.1:80") {
		t.Error("ports 8080 and 80 taken for one origin")
	}
}
