package e2e

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/parley/parley/internal/browsertest"
)

// hostSite serves a page of another site (another origin: another port)
// that shows the thread of key with the one tag of docs/web.md.
func hostSite(t *testing.T, s *stack, key string) string {
	t.Helper()
	page := fmt.Sprintf(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>A post on another site</title></head>
<body>
<main>
<h1>A post on another site</h1>
<p>Some words worth discussing.</p>
<h2>Discussion</h2>
<script src="%s/embed.js" data-parley-key="%s" async></script>
</main>
</body>
</html>`, s.nginx, html.EscapeString(key))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/post" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// embedFrame waits for the embed's frame in the host page of p and for its
// page to be drawn; it answers a JavaScript context in the frame.
func embedFrame(t *testing.T, p *pageTab) runtime.ExecutionContextID {
	t.Helper()
	p.until(`document.querySelector("iframe.parley-frame") !== null`)
	var fc runtime.ExecutionContextID
	if err := browsertest.Until(p.ctx, pageWait, `document.querySelector("iframe.parley-frame").contentWindow.length >= 0`); err != nil {
		t.Fatal(err)
	}
	var err error
	for range 200 {
		if fc, err = browsertest.FrameContext(p.ctx, "/embed?key="); err == nil {
			if browsertest.UntilIn(p.ctx, pageWait, `document.documentElement.dataset.ready === "true" && !document.querySelector("[aria-busy=true]")`, fc) == nil {
				return fc
			}
		}
		// The frame is not there yet, or its document was replaced.
		if werr := browsertest.Until(p.ctx, pageWait, `document.readyState === "complete"`); werr != nil {
			t.Fatal(werr)
		}
	}
	browsertest.Check(t, p.ctx)
	t.Fatalf("the embed's frame never showed its page: %v", err)
	return 0
}

// inFrame waits for a condition in the frame.
func inFrame(t *testing.T, p *pageTab, fc runtime.ExecutionContextID, expr string) {
	t.Helper()
	if err := browsertest.UntilIn(p.ctx, pageWait, expr, fc); err != nil {
		browsertest.Check(t, p.ctx)
		t.Fatal(err)
	}
}

// evalFrame evaluates in the frame.
func evalFrame[T any](t *testing.T, p *pageTab, fc runtime.ExecutionContextID, expr string) T {
	t.Helper()
	wctx, cancel := context.WithTimeout(p.ctx, pageWait)
	defer cancel()
	v, err := browsertest.EvalIn[T](wctx, expr, fc)
	if err != nil {
		browsertest.Check(t, p.ctx)
		t.Fatalf("evaluate in the frame %s: %v", expr, err)
	}
	return v
}

// fillIn sets a field of the frame as typing would (input and change
// events) and answers nothing.
func fillIn(sel, text string) string {
	return fmt.Sprintf(`(() => { const f = document.querySelector(%q); f.focus(); f.value = %s;
		f.dispatchEvent(new Event("input", {bubbles: true})); f.dispatchEvent(new Event("change", {bubbles: true})); return true })()`, sel, strconv.Quote(text))
}

// embedCase is how testEmbed signs in: with no token (AUTH_MODE=none) by
// name, else with the host site's token for user; other posts another
// user's comment in a topic.
type embedCase struct {
	token, user string
	other       func(topic, content string) posted
}

// testEmbed: a page of another site with the one tag shows the thread of
// its key in a frame sized to its content; the first comment on the key
// starts the topic, others' comments come without a reload, and messages
// from anything but the frame are ignored. With a token (AUTH_MODE=jwt)
// the host page hands it over with Parley.setToken, never in a URL.
func testEmbed(t *testing.T, s *stack, c embedCase) {
	key := "https://blog.example/posts/42?lang=en&x=\"<b>\""
	if c.token != "" {
		key = "https://blog.example/posts/jwt"
	}
	host := hostSite(t, s, key)
	p := newPageTab(t, s, browsertest.SameOrigin(s.nginx, host))
	p.base = host
	if err := chromedp.Do(p.ctx, chromedp.Navigate(host+"/post")); err != nil {
		t.Fatal(err)
	}
	fc := embedFrame(t, p)
	inFrame(t, p, fc, `document.querySelector("#thread-status").textContent === "No comments yet. Be the first to comment."`)

	// The frame's height follows its content.
	sameHeight := `Math.abs(document.querySelector("iframe.parley-frame").getBoundingClientRect().height - %d) <= 1`
	height := evalFrame[int](t, p, fc, `Math.ceil(document.documentElement.getBoundingClientRect().height)`)
	p.until(fmt.Sprintf(sameHeight, height))

	if c.token == "" {
		evalFrame[bool](t, p, fc, fillIn("#signin-name", c.user))
	} else {
		inFrame(t, p, fc, `document.querySelector(".signin-status")?.textContent === "Sign in on this site to comment."`)
		// The host page's script hands the token over.
		evalJS[bool](p, `window.Parley.setToken(`+strconv.Quote(c.token)+`), true`)
		inFrame(t, p, fc, `document.querySelector(".signin-status")?.textContent.startsWith("Signed in as `+c.user+`")`)
	}
	evalFrame[bool](t, p, fc, fillIn("#new-comment-text", "First! Posted from the embed."))
	evalFrame[bool](t, p, fc, `document.querySelector("#new-comment button[type=submit]").click(), true`)
	inFrame(t, p, fc, `document.querySelector("#comments li.comment .text")?.textContent === "First! Posted from the embed." && document.activeElement?.matches("li.comment > article")`)
	if got := evalFrame[string](t, p, fc, `document.querySelector("#comments li.comment h3").textContent`); got != c.user {
		t.Errorf("the first comment is by %q, want %q", got, c.user)
	}
	// The key's topic exists now, with that comment as its root.
	q := url.Values{"topic_key": {key}}
	eventuallyBody(t, s, "/topic_comments?"+q.Encode(), `"content":"First! Posted from the embed."`)
	if c.token != "" {
		for _, r := range browsertest.Requests(p.ctx) {
			if strings.Contains(r, c.token) || strings.Contains(r, url.QueryEscape(c.token)) {
				t.Errorf("a request carried the token in its URL: %s", r)
			}
		}
	}

	// Someone else comments: the embed shows a banner, then the comment.
	var counts []struct {
		Topic string `json:"topic_id"`
	}
	s.api.Get(t, s.nginx+"/topic_counts?"+q.Encode()).JSON(t, &counts)
	c.other(counts[0].Topic, "A reply from elsewhere.")
	inFrame(t, p, fc, `!document.querySelector("#new-comments").hidden`)

	// A message that does not come from the frame changes nothing: sent,
	// then a probe after it; once the probe arrived, the first was handled.
	evalJS[bool](p, `(() => { window.addEventListener("message", e => { if (e.data === "probe") window.probed = true });
		window.postMessage({type: "parley:height", height: 5}, "*"); window.postMessage("probe", "*"); return true })()`)
	p.until(`window.probed === true`)
	if h := evalJS[float64](p, `document.querySelector("iframe.parley-frame").getBoundingClientRect().height`); h <= 5 {
		t.Errorf("a message from the host page itself set the frame's height to %v", h)
	}

	evalFrame[bool](t, p, fc, `document.querySelector("#new-comments").click(), true`)
	inFrame(t, p, fc, `Array.from(document.querySelectorAll("#comments .text")).some(e => e.textContent === "A reply from elsewhere.")`)
	height = evalFrame[int](t, p, fc, `Math.ceil(document.documentElement.getBoundingClientRect().height)`)
	p.until(fmt.Sprintf(sameHeight, height))
	browsertest.Check(t, p.ctx)
}
