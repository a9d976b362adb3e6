package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/parley/parley/internal/browsertest"
	"github.com/parley/parley/internal/stacktest"
)

// TestPage drives the pages in AUTH_MODE=none (the name typed is the
// author): each subtest is a person with a browser of their own.
func TestPage(t *testing.T) {
	s := newStack(t, stackOpts{})

	t.Run("StartTopic", func(t *testing.T) {
		p := newPageTab(t, s)
		p.open("/")
		p.signInAs("ada")
		p.typeIn("#new-topic-text", "Which editor do you use, and why?")
		p.click("#new-topic button[type=submit]")
		// The topic's own page, its text as the heading, read back with the
		// tab's position: the reader has the topic though it is brand new.
		p.until(`location.pathname.startsWith("/t/") && document.querySelector("#post-title")?.textContent === "Which editor do you use, and why?"`)
		topic := strings.TrimPrefix(evalJS[string](p, `location.pathname`), "/t/")
		if got := evalJS[string](p, `document.querySelector(".post-meta a").textContent`); got != "ada" {
			t.Errorf("the topic's author shows as %q", got)
		}
		if draft := evalJS[bool](p, `localStorage.getItem("parley.draft.new-topic") === null`); !draft {
			t.Error("the draft was kept after the topic was posted")
		}
		// On the home page, with its author, count and age.
		p.open("/")
		p.until(`document.querySelector('#topics a[href="/t/` + topic + `"]') !== null`)
		meta := evalJS[string](p, `document.querySelector('#topics a[href="/t/`+topic+`"]').closest("article").querySelector(".meta").textContent`)
		for _, want := range []string{"by ada", "0 comments", "active just now"} {
			if !strings.Contains(meta, want) {
				t.Errorf("home page item %q lacks %q", meta, want)
			}
		}
	})

	t.Run("ReplyAtDepth3", func(t *testing.T) {
		root := post(t, s, "", "", "ada", "Favourite Postgres extension?")
		c1 := post(t, s, root.Topic, "0", "bob", "pg_stat_statements")
		c2 := post(t, s, root.Topic, c1.Path, "cy", "Seconded: it finds the slow queries.")
		s.settle(t, c2.Position)

		p := newPageTab(t, s)
		p.open("/t/" + root.Topic)
		p.signInAs("dee")
		p.click(fmt.Sprintf("#c%d > article button.reply", c2.ID))
		textarea := fmt.Sprintf("#reply-%d-text", c2.ID)
		p.until(`document.activeElement === document.querySelector("` + textarea + `")`)
		// Ctrl+Enter sends, as the hint says.
		p.do("type the reply", chromedp.SendKeys(chromedp.CSS(textarea), "And auto_explain for the plans."),
			chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(kb.ModifierCtrl)))
		// The reply shows at once, a level deeper, focused.
		p.until(`document.querySelector("#c` + strconv.Itoa(c2.ID) + ` > ul.replies > li.comment .text")?.textContent === "And auto_explain for the plans."`)
		id := evalJS[int](p, `Number(document.querySelector("#c`+strconv.Itoa(c2.ID)+` > ul.replies > li.comment").dataset.id)`)
		if !evalJS[bool](p, fmt.Sprintf(`document.activeElement === document.querySelector("#c%d > article")`, id)) {
			t.Error("the new reply does not have the focus")
		}
		if depth := evalJS[int](p, fmt.Sprintf(`(() => { let n = 0, e = document.querySelector("#c%d"); while ((e = e.parentElement.closest("li.comment"))) n++; return n + 1 })()`, id)); depth != 3 {
			t.Errorf("the reply is shown at level %d, want 3", depth)
		}
		r := s.api.Get(t, fmt.Sprintf("%s/v1/topics/%s/comments/%d", s.nginx, root.Topic, id))
		var c struct {
			Path string `json:"parent_path"`
			User string `json:"user"`
		}
		r.JSON(t, &c)
		if c.Path != c2.Path+"/"+strconv.Itoa(id) || c.User != "dee" {
			t.Errorf("the reply is %+v, want under %s by dee", c, c2.Path)
		}
	})

	t.Run("VoteReordersBest", func(t *testing.T) {
		root := post(t, s, "", "", "ada", "Best order")
		a := post(t, s, root.Topic, "0", "bob", "first, no votes yet")
		b := post(t, s, root.Topic, "0", "cy", "second, soon upvoted")
		s.settle(t, b.Position)

		p := newPageTab(t, s)
		p.open("/t/" + root.Topic + "?sort=best")
		if got := p.commentOrder(); !slices.Equal(got, []int{a.ID, b.ID}) {
			t.Fatalf("before the vote, best order %v, want %v", got, []int{a.ID, b.ID})
		}
		p.signInAs("eve")
		up := fmt.Sprintf("#c%d > article button.vote.up", b.ID)
		if label := evalJS[string](p, `document.querySelector("`+up+`").getAttribute("aria-label")`); label != "Upvote comment by cy" {
			t.Errorf("the upvote button is named %q", label)
		}
		p.click(up)
		p.until(`document.querySelector("` + up + `").getAttribute("aria-pressed") === "true" && !document.querySelector("` + up + `").disabled`)
		if score := evalJS[string](p, fmt.Sprintf(`document.querySelector("#c%d > article .score").textContent`, b.ID)); score != "+1 points" {
			t.Errorf("score after the upvote %q", score)
		}
		// A reload reads with the vote's position: best puts b first.
		p.open("/t/" + root.Topic + "?sort=best")
		if got := p.commentOrder(); !slices.Equal(got, []int{b.ID, a.ID}) {
			t.Errorf("after the vote, best order %v, want %v", got, []int{b.ID, a.ID})
		}
		// The vote is remembered (aria-pressed from /user_votes).
		if !evalJS[bool](p, `document.querySelector("`+up+`").getAttribute("aria-pressed") === "true"`) {
			t.Error("after a reload the upvote is not shown as pressed")
		}
		// The sort selector: old keeps creation order, in the URL.
		p.do("sort by old", chromedp.SetValue(chromedp.CSS("#sort"), "old"),
			chromedp.Evaluate[chromedp.Void](`document.querySelector("#sort").dispatchEvent(new Event("change"))`))
		p.until(`location.search === "?sort=old" && !document.querySelector("[aria-busy=true]") && document.querySelectorAll("#comments > li.comment").length === 2`)
		if got := p.commentOrder(); !slices.Equal(got, []int{a.ID, b.ID}) {
			t.Errorf("old order %v, want %v", got, []int{a.ID, b.ID})
		}
		// Pressing the pressed arrow withdraws the vote.
		p.click(up)
		p.until(`document.querySelector("` + up + `").getAttribute("aria-pressed") === "false" && !document.querySelector("` + up + `").disabled`)
	})

	t.Run("EditAndDelete", func(t *testing.T) {
		root := post(t, s, "", "", "ada", "Edit me")
		mine := post(t, s, root.Topic, "0", "fay", "a typo: teh")
		other := post(t, s, root.Topic, "0", "gus", "not fay's")
		s.settle(t, other.Position)

		p := newPageTab(t, s)
		p.open("/t/" + root.Topic)
		p.signInAs("fay")
		// Leaving the name field redraws the buttons for the name.
		p.click("#sort")
		p.until(fmt.Sprintf(`document.querySelector("#c%d > article button.edit") !== null`, mine.ID))
		if evalJS[bool](p, fmt.Sprintf(`document.querySelector("#c%d > article button.edit") !== null`, other.ID)) {
			t.Error("an Edit button on someone else's comment")
		}
		p.click(fmt.Sprintf("#c%d > article button.edit", mine.ID))
		field := fmt.Sprintf("#edit-%d-text", mine.ID)
		p.until(`document.activeElement === document.querySelector("` + field + `")`)
		// Select the old text, and type over it.
		evalJS[bool](p, `document.querySelector("`+field+`").select(), true`)
		p.typeIn(field, "no typo: the")
		p.click(fmt.Sprintf("#edit-%d button[type=submit]", mine.ID))
		p.until(fmt.Sprintf(`document.querySelector("#c%d > article .text")?.textContent === "no typo: the" && document.querySelector("#c%d > article .edited") !== null`, mine.ID, mine.ID))
		eventuallyBody(t, s, fmt.Sprintf("/v1/topics/%s/comments/%d", root.Topic, mine.ID), `"content":"no typo: the"`)

		p.click(fmt.Sprintf("#c%d > article button.delete", mine.ID))
		p.click(fmt.Sprintf("#c%d .confirm button.danger", mine.ID))
		// No replies: the comment goes, and the focus to the next one.
		p.until(fmt.Sprintf(`document.querySelector("#c%d") === null && document.activeElement === document.querySelector("#c%d > article")`, mine.ID, other.ID))
		eventuallyBody(t, s, fmt.Sprintf("/topic_comments?topic_id=%s&parent_path=%s", root.Topic, mine.Path), `"deleted":true`)
	})

	t.Run("ErrorKeepsDraft", func(t *testing.T) {
		root := post(t, s, "", "", "ada", "Errors show by the button")
		s.settle(t, root.Position)
		// The browser logs the 413 the test provokes.
		p := newPageTab(t, s, browsertest.Allow("status of 413"))
		p.open("/t/" + root.Topic)
		// No name yet: the form says so by its button, keeps the text.
		p.typeIn("#new-comment-text", "my draft")
		p.click("#new-comment button[type=submit]")
		p.until(`document.querySelector("#new-comment-error").textContent.includes("Your name")`)
		if role := evalJS[string](p, `document.querySelector("#new-comment-error").getAttribute("role")`); role != "alert" {
			t.Errorf("the error's role is %q", role)
		}
		// A name over the writer's limit: the server's own message.
		p.signInAs("hal")
		p.do("a long text", chromedp.SetValue(chromedp.CSS("#new-comment-text"), strings.Repeat("x", 70000)),
			chromedp.Evaluate[chromedp.Void](`document.querySelector("#new-comment-text").dispatchEvent(new Event("input"))`))
		p.until(`!document.querySelector("#new-comment .counter").hidden`)
		p.click("#new-comment button[type=submit]")
		p.until(`document.querySelector("#new-comment-error").textContent.length > 0 && !document.querySelector("#new-comment [type=submit]").disabled`)
		if v := evalJS[int](p, `document.querySelector("#new-comment-text").value.length`); v != 70000 {
			t.Errorf("after the error the draft has %d characters, want 70000", v)
		}
	})

	t.Run("XSSStaysText", func(t *testing.T) {
		const evil = `<img src=x onerror=alert(1)><script>alert(2)</script>`
		root := post(t, s, "", "", "<b>ivy</b>", evil)
		reply := post(t, s, root.Topic, "0", `"><svg onload=alert(3)>`, evil)
		s.settle(t, reply.Position)
		p := newPageTab(t, s)
		p.open("/t/" + root.Topic)
		if got := evalJS[string](p, `document.querySelector("#post-title").textContent`); got != evil {
			t.Errorf("the topic's text shows as %q", got)
		}
		if got := evalJS[string](p, fmt.Sprintf(`document.querySelector("#c%d > article .text").textContent`, reply.ID)); got != evil {
			t.Errorf("the comment's text shows as %q", got)
		}
		if got := evalJS[string](p, fmt.Sprintf(`document.querySelector("#c%d > article h3").textContent`, reply.ID)); got != `"><svg onload=alert(3)>` {
			t.Errorf("the author shows as %q", got)
		}
		// And typed in the page, too.
		p.signInAs(`<i>jo</i>`)
		p.typeIn("#new-comment-text", evil)
		p.click("#new-comment button[type=submit]")
		p.until(`Array.from(document.querySelectorAll("#comments .text")).filter(e => e.textContent === ` + strconv.Quote(evil) + `).length === 2`)
		p.open("/")
		p.until(`document.querySelector('#topics a[href="/t/` + root.Topic + `"]') !== null`)
		for _, where := range []string{"/t/" + root.Topic, "/", "/u/" + `%3Cb%3Eivy%3C%2Fb%3E`} {
			p.open(where)
			n := evalJS[int](p, `document.querySelectorAll("img:not(.brand img), script:not([src]), svg, b, i").length`)
			if n != 0 {
				t.Errorf("%s: %d elements made from comment text", where, n)
			}
		}
		// Any alert() would have been a dialog, which the browser counts as
		// a problem at the test's end.
	})

	t.Run("LiveUpdate", func(t *testing.T) {
		root := post(t, s, "", "", "ada", "Live")
		first := post(t, s, root.Topic, "0", "kim", "already here")
		s.settle(t, first.Position)

		watcher := newPageTab(t, s)
		watcher.open("/t/" + root.Topic + "?sort=old")
		viewport := evalJS[float64](watcher, `window.scrollY`)
		// Gone after a reload: the marker shows the page never reloaded.
		evalJS[bool](watcher, `window.stillHere = true`)

		writer := newPageTab(t, s)
		writer.open("/t/" + root.Topic + "?sort=old")
		writer.signInAs("lee")
		writer.typeIn("#new-comment-text", "hello from the other tab")
		writer.click("#new-comment button[type=submit]")
		// The writer's own comment is there at once.
		writer.until(`Array.from(document.querySelectorAll("#comments .text")).some(e => e.textContent === "hello from the other tab")`)

		// The watcher, without a reload: a banner first, nothing moved.
		watcher.until(`!document.querySelector("#new-comments").hidden`)
		if got := evalJS[string](watcher, `document.querySelector("#new-comments").textContent`); got != "Show 1 new comment" {
			t.Errorf("the banner says %q", got)
		}
		if y := evalJS[float64](watcher, `window.scrollY`); y != viewport {
			t.Errorf("the page scrolled from %v to %v before the banner was pressed", viewport, y)
		}
		if got := evalJS[string](watcher, `document.querySelector("#comments-heading").textContent`); got != "Comments (2)" {
			t.Errorf("the heading says %q", got)
		}
		watcher.click("#new-comments")
		watcher.until(`document.activeElement?.closest("li.comment")?.querySelector(".text")?.textContent === "hello from the other tab"`)
		if !evalJS[bool](watcher, `document.querySelector("#new-comments").hidden`) {
			t.Error("the banner stayed")
		}
		if !evalJS[bool](watcher, `window.stillHere === true`) {
			t.Error("the page reloaded")
		}
	})

	t.Run("UserPage", func(t *testing.T) {
		root := post(t, s, "", "", "mo", "mo's topic")
		var last posted
		for i := range 25 {
			last = post(t, s, root.Topic, "0", "mo", fmt.Sprintf("mo says %d", i))
		}
		s.settle(t, last.Position)
		p := newPageTab(t, s)
		p.open("/u/mo")
		if h := evalJS[string](p, `document.querySelector("h1").textContent`); h != "Comments by mo" {
			t.Errorf("heading %q", h)
		}
		if n := evalJS[int](p, `document.querySelectorAll("#user-comments > li").length`); n != 20 {
			t.Errorf("%d comments on the first page, want 20", n)
		}
		if first := evalJS[string](p, `document.querySelector("#user-comments .text").textContent`); first != "mo says 24" {
			t.Errorf("newest first: %q", first)
		}
		p.click("#more-comments")
		p.until(`document.querySelectorAll("#user-comments > li").length === 26`)
		if !evalJS[bool](p, `document.activeElement === document.querySelectorAll("#user-comments > li")[20].querySelector("article")`) {
			t.Error("after More, the focus is not on the first comment loaded")
		}
		// Each links to its place in its thread.
		href := evalJS[string](p, `document.querySelector("#user-comments .meta a").getAttribute("href")`)
		p.open(href)
		p.until(`document.activeElement?.closest("li.comment")?.querySelector(".text")?.textContent === "mo says 24"`)
	})

	t.Run("Embed", func(t *testing.T) {
		testEmbed(t, s, embedCase{user: "reader-1", other: func(topic, content string) posted {
			return post(t, s, topic, "0", "another-reader", content)
		}})
	})

	t.Run("Accessibility", func(t *testing.T) {
		testAccessibility(t, s)
	})

	t.Run("Phone", func(t *testing.T) {
		testPhone(t, s)
	})
}

// eventuallyBody waits until a GET of path through nginx answers 200 with
// want in its body: every reader gets there.
func eventuallyBody(t *testing.T, s *stack, path, want string) {
	t.Helper()
	var last stacktest.Response
	deadline := time.Now().Add(pageWait)
	for {
		last = s.api.Get(t, s.nginx+path)
		if last.Status == http.StatusOK && strings.Contains(string(last.Body), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %d %s, want %s in it", path, last.Status, last.Body, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
