package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley/parley/internal/browsertest"
	"github.com/parley/parley/internal/stacktest"
)

// The web page (SPEC §13, docs/web.md) in headless Chromium against the
// real stack. Each browser fails its test on any console error, uncaught
// exception, CSP violation, dialog or request to another origin
// (internal/browsertest). Waits are on conditions, never on the clock.

// pageWait bounds each wait for the page to show something.
const pageWait = 20 * time.Second

// pageTab is a browser tab on the stack's pages.
type pageTab struct {
	t    *testing.T
	ctx  context.Context
	base string
}

// newPageTab starts a browser (its own profile: storage, sign-in) that may
// talk to the stack's nginx only, plus the origins of others.
func newPageTab(t *testing.T, s *stack, opts ...browsertest.Option) *pageTab {
	t.Helper()
	ctx := browsertest.New(t, append([]browsertest.Option{browsertest.SameOrigin(s.nginx)}, opts...)...)
	return &pageTab{t: t, ctx: ctx, base: s.nginx}
}

// open navigates to path and waits until the page has drawn itself.
func (p *pageTab) open(path string) {
	p.t.Helper()
	wctx, cancel := context.WithTimeout(p.ctx, pageWait)
	defer cancel()
	if err := chromedp.Do(wctx, chromedp.Navigate(p.base+path)); err != nil {
		p.t.Fatalf("open %s: %v", path, err)
	}
	p.until(`document.documentElement.dataset.ready === "true" && !document.querySelector("[aria-busy=true]")`)
}

// until waits for a JavaScript condition; on a timeout it fails the test,
// after reporting the browser's problems (which often say why).
func (p *pageTab) until(expr string) {
	p.t.Helper()
	if err := browsertest.Until(p.ctx, pageWait, expr); err != nil {
		browsertest.Check(p.t, p.ctx)
		p.t.Fatal(err)
	}
}

// do runs chromedp actions with a deadline.
func (p *pageTab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	wctx, cancel := context.WithTimeout(p.ctx, pageWait)
	defer cancel()
	if err := chromedp.Do(wctx, actions...); err != nil {
		browsertest.Check(p.t, p.ctx)
		p.t.Fatalf("%s: %v", what, err)
	}
}

func (p *pageTab) click(sel string) {
	p.t.Helper()
	// chromedp clicks where the element is when it looks: a smooth scroll
	// still under way (the page's focus moves scroll smoothly, unless the
	// user asks for reduced motion) would move it from under the pointer.
	evalJS[bool](p, scrollStill)
	p.do("click "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// scrollStill resolves once the page's scroll position has held for three
// animation frames in a row.
const scrollStill = `new Promise((done) => {
	let y = NaN, still = 0;
	const frame = () => {
		if (scrollY === y) still++; else { y = scrollY; still = 0; }
		if (still >= 3) done(true); else requestAnimationFrame(frame);
	};
	requestAnimationFrame(frame);
})`

// typeIn types text into the field, key by key, as a person would.
func (p *pageTab) typeIn(sel, text string) {
	p.t.Helper()
	p.do("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text))
}

// evalJS evaluates an expression (awaiting a promise) and decodes it.
func evalJS[T any](p *pageTab, expr string) T {
	p.t.Helper()
	wctx, cancel := context.WithTimeout(p.ctx, pageWait)
	defer cancel()
	v, err := browsertest.Eval[T](wctx, expr)
	if err != nil {
		browsertest.Check(p.t, p.ctx)
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// signInAs types the name the page posts under (AUTH_MODE=none).
func (p *pageTab) signInAs(name string) {
	p.t.Helper()
	p.typeIn("#signin-name", name)
	p.until(`localStorage.getItem("parley.name") === ` + strconv.Quote(name))
}

// commentOrder is the ids of the top-level comments, in page order.
func (p *pageTab) commentOrder() []int {
	p.t.Helper()
	return evalJS[[]int](p, `Array.from(document.querySelectorAll("#comments > li.comment"), li => Number(li.dataset.id))`)
}

// posted is what /post_comment answered.
type posted struct {
	Topic    string `json:"topic_id"`
	ID       int    `json:"comment_id"`
	Path     string `json:"parent_path"`
	Position int64  `json:"position"`
}

// post writes a comment through nginx: a new topic when topic is "".
func post(t *testing.T, s *stack, topic, parent, user, content string, headers ...string) posted {
	t.Helper()
	body := map[string]any{"content": content}
	if user != "" {
		body["user"] = user
	}
	if topic != "" {
		body["topic_id"] = topic
		body["parent_path"] = parent
	}
	r := s.api.Do(t, http.MethodPost, s.nginx+"/post_comment", body, headers...)
	if r.Status != http.StatusCreated {
		t.Fatalf("post %q: %d %s", content, r.Status, r.Body)
	}
	var out posted
	r.JSON(t, &out)
	return out
}

// settle waits until every reader has applied pos, so that a page opened
// next shows what was written whichever reader answers it.
func (s *stack) settle(t *testing.T, pos int64) {
	t.Helper()
	for _, addr := range s.readers {
		url := fmt.Sprintf("http://%s/last_topics?limit=1&min_position=%d", addr, pos)
		stacktest.Eventually(t, pageWait, func() bool {
			return stacktest.Get(t, url).Status == http.StatusOK
		})
	}
}

// TestPageServed: nginx serves the pages from web/app with their types,
// the policy (no inline script, nothing from elsewhere, Trusted Types),
// nosniff; the embed's frame may be framed by any site, no other page by
// any; a POST to a page is 405 with Allow, and an unknown path is still
// the JSON 404.
func TestPageServed(t *testing.T) {
	s := newStack(t, stackOpts{readers: 1})
	cases := []struct {
		path, ctype, ancestors string
	}{
		{"/", "text/html", "'none'"},
		{"/t/5f0c1f7e-3d51-4a39-9f6e-5b7f3b2d1c0a", "text/html", "'none'"},
		{"/t/5f0c1f7e-3d51-4a39-9f6e-5b7f3b2d1c0a?sort=new&parent=3", "text/html", "'none'"},
		{"/u/ada", "text/html", "'none'"},
		{"/u/a%20b", "text/html", "'none'"},
		{"/embed?key=post-1", "text/html", "*"},
		{"/app/js/main.js", "text/javascript", "'none'"},
		{"/app/css/parley.css", "text/css", "'none'"},
		{"/favicon.svg", "image/svg+xml", ""},
		{"/favicon.ico", "image/svg+xml", ""},
		{"/embed.js", "text/javascript", ""},
	}
	for _, c := range cases {
		name := strings.TrimPrefix(c.path, "/")
		if name == "" {
			name = "home"
		}
		t.Run(name, func(t *testing.T) {
			r := stacktest.Get(t, s.nginx+c.path)
			if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), c.ctype) {
				t.Fatalf("GET %s: %d %q, want 200 %s", c.path, r.Status, r.Header.Get("Content-Type"), c.ctype)
			}
			if r.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("GET %s: no nosniff", c.path)
			}
			csp := r.Header.Get("Content-Security-Policy")
			if c.ancestors != "" {
				for _, want := range []string{"default-src 'none'", "script-src 'self';", "style-src 'self';", "connect-src 'self';",
					"object-src 'none'", "base-uri 'none'", "require-trusted-types-for 'script'", "frame-ancestors " + c.ancestors + ";"} {
					if !strings.Contains(csp, want) {
						t.Errorf("GET %s: Content-Security-Policy %q lacks %q", c.path, csp, want)
					}
				}
			}
			if strings.HasPrefix(c.ctype, "text/html") && strings.Contains(string(r.Body), "<script>") {
				t.Errorf("GET %s: an inline script", c.path)
			}
			if res := stacktest.Do(t, http.MethodPost, s.nginx+c.path, "{}"); res.Status != http.StatusMethodNotAllowed ||
				res.Header.Get("Allow") != "GET, HEAD" || !strings.Contains(string(res.Body), `"error"`) {
				t.Errorf("POST %s: %d Allow %q %s, want 405 with Allow: GET, HEAD", c.path, res.Status, res.Header.Get("Allow"), res.Body)
			}
		})
	}
	for _, path := range []string{"/t", "/nope", "/app", "/embed/x", "/index.html"} {
		r := stacktest.Get(t, s.nginx+path)
		if r.Status != http.StatusNotFound || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("GET %s: %d %q %s, want the JSON 404", path, r.Status, r.Header.Get("Content-Type"), r.Body)
		}
	}
}
