package e2e

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/parley/parley/internal/browsertest"
)

// seedThread writes a topic whose thread has what the page folds: a
// comment with more replies than are shown at once, a branch deeper than
// the levels indented, a long unbroken word, and a deleted comment that
// keeps its replies. It answers the topic's root.
func seedThread(t *testing.T, s *stack) posted {
	t.Helper()
	root := post(t, s, "", "", "ann", "What is the one Postgres setting you always change on a new server?")
	a := post(t, s, root.Topic, "0", "bo", "shared_buffers, to about a quarter of the memory.")
	for i, text := range []string{"And effective_cache_size to most of the rest.", "Depends on the workload, surely?",
		"Measure first: pg_stat_statements.", "random_page_cost on SSDs.", "work_mem, carefully."} {
		post(t, s, root.Topic, a.Path, []string{"cy", "dee", "eli", "fay", "gus"}[i], text)
	}
	deep := a
	for i := range 8 {
		deep = post(t, s, root.Topic, deep.Path, fmt.Sprintf("nest%d", i), fmt.Sprintf("Level %d of a long argument.", i+2))
	}
	gone := post(t, s, root.Topic, "0", "hal", "I will delete this.")
	post(t, s, root.Topic, gone.Path, "ivy", "A reply that outlives its parent.")
	if r := s.api.Do(t, "DELETE", fmt.Sprintf("%s/v1/topics/%s/comments/%d", s.nginx, root.Topic, gone.ID), nil); r.Status != 204 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	last := post(t, s, root.Topic, "0", "ann", "A link that does not fit a phone: https://example.com/"+strings.Repeat("very-long-path-segment-", 12)+" and "+strings.Repeat("W", 80))
	s.settle(t, last.Position)
	return root
}

// checkAxe runs axe-core in p's page (or in a frame, fc not 0) and fails
// the test on serious or critical violations; it logs the others.
func checkAxe(t *testing.T, p *pageTab, where string) {
	t.Helper()
	wctx, cancel := context.WithTimeout(p.ctx, pageWait)
	defer cancel()
	vs, err := browsertest.Axe(wctx, 0)
	if err != nil {
		browsertest.Check(t, p.ctx)
		t.Fatalf("%s: axe: %v", where, err)
	}
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("%s: axe: %s", where, v)
		} else {
			t.Logf("%s: axe (%s, allowed): %s", where, v.Impact, v)
		}
	}
	t.Logf("%s: axe: %d violations, %d serious or critical", where, len(vs), len(browsertest.Serious(vs)))
}

// darkTheme makes the tab prefer a dark colour scheme (on), or not.
func darkTheme(t *testing.T, p *pageTab, on bool) {
	t.Helper()
	value := "light"
	if on {
		value = "dark"
	}
	p.do("prefers-color-scheme: "+value, chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		_, err := cdp.Call(ctx, tgt, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: value}},
		})
		return err
	}))
}

// testAccessibility: axe-core finds no serious or critical violation on
// the home, topic (a branch collapsed, a reply form open, an error shown),
// user and embed pages, in the light and the dark theme; the landmarks
// are there, and the fold and the depth cap work by keyboard.
func testAccessibility(t *testing.T, s *stack) {
	root := seedThread(t, s)
	p := newPageTab(t, s)

	for _, dark := range []bool{false, true} {
		theme := "light"
		if dark {
			theme = "dark"
		}
		darkTheme(t, p, dark)

		p.open("/")
		checkAxe(t, p, theme+" home")

		p.open("/t/" + root.Topic)
		// A branch folded behind "n more replies", one cut at the depth cap.
		p.until(`document.querySelector("button.more-replies")?.textContent === "3 more replies" && document.querySelector("a.continue") !== null`)
		// Collapse a branch, open a reply form, and show an error in it.
		first := evalJS[string](p, `document.querySelector("#comments > li.comment").id`)
		p.click("#" + first + " > article button.toggle")
		p.until(`document.querySelector("#` + first + `").classList.contains("collapsed") && document.querySelector("#` + first + ` > article button.toggle").getAttribute("aria-expanded") === "false"`)
		second := evalJS[string](p, `Array.from(document.querySelectorAll("#comments > li.comment")).filter(li => li.querySelector(":scope > article button.reply"))[1].id`)
		p.click("#" + second + " > article button.reply")
		p.click("#" + second + " form.composer button[type=submit]")
		p.until(`document.querySelector("#` + second + ` form.composer .error")?.textContent === "Write something first."`)
		checkAxe(t, p, theme+" topic")

		p.open("/u/ann")
		checkAxe(t, p, theme+" user")

		p.open("/embed?" + url.Values{"key": {"a11y-page"}}.Encode())
		checkAxe(t, p, theme+" embed")
	}
	darkTheme(t, p, false)

	// Landmarks and the structure a screen reader moves by.
	p.open("/t/" + root.Topic)
	for _, sel := range []string{"header", "nav", "main", "h1", "h2#comments-heading", "label[for=sort]", "#comments > li.comment > article h3", "[aria-live=polite]"} {
		if !evalJS[bool](p, fmt.Sprintf(`document.querySelector(%q) !== null`, sel)) {
			t.Errorf("the topic page has no %s", sel)
		}
	}
	if n := evalJS[int](p, `document.querySelectorAll("li.comment:not(:has(> article))").length`); n != 0 {
		t.Errorf("%d comments without an article", n)
	}
	// The fold opens by keyboard, focusing the first reply it showed.
	p.do("focus the fold", chromedp.Focus(chromedp.CSS("button.more-replies")))
	p.do("press Enter", chromedp.KeyEvent("\r"))
	p.until(`document.querySelector("button.more-replies") === null && document.activeElement?.closest("li.comment")?.querySelector(".text")?.textContent === "random_page_cost on SSDs."`)
	// The depth cap links on to the subtree, which shows the rest.
	href := evalJS[string](p, `document.querySelector("a.continue").getAttribute("href")`)
	p.open(href)
	p.until(`document.querySelector("#whole-thread") !== null && Array.from(document.querySelectorAll("#comments .text")).some(e => e.textContent === "Level 9 of a long argument.")`)
	checkAxe(t, p, "subtree")
}

// testPhone: at 375 px, on a phone, no page scrolls sideways.
func testPhone(t *testing.T, s *stack) {
	root := seedThread(t, s)
	p := newPageTab(t, s, browsertest.WindowSize(375, 812), browsertest.Mobile())
	for _, path := range []string{"/", "/?order=hot", "/t/" + root.Topic, "/u/ann", "/embed?key=phone"} {
		p.open(path)
		if path == "/t/"+root.Topic {
			// Everything shown: the deepest branch as wide as it gets.
			p.do("unfold", chromedp.Click(chromedp.CSS("button.more-replies")))
			p.signInAs("ann")
			p.click("#comments > li.comment > article button.reply")
		}
		w := evalJS[int](p, `document.documentElement.scrollWidth`)
		if w > 375 {
			wide := evalJS[[]string](p, `Array.from(document.querySelectorAll("body *")).filter(e => e.getBoundingClientRect().right > 376).slice(0, 5).map(e => e.tagName + "." + e.className)`)
			t.Errorf("%s: scrollWidth %d > 375 at 375 px; too wide: %v", path, w, wide)
		}
	}
}
