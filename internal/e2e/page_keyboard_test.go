package e2e

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// tabTo presses Tab, from wherever the focus is, until the focused element
// matches the CSS selector sel: the element is reachable by keyboard alone,
// in the page's tab order. It fails after 120 presses.
func (p *pageTab) tabTo(sel string) {
	p.t.Helper()
	match := `document.activeElement && document.activeElement.matches(` + strconv.Quote(sel) + `)`
	for range 120 {
		if evalJS[bool](p, match) {
			return
		}
		p.do("press Tab", chromedp.KeyEvent(kb.Tab))
	}
	p.t.Fatalf("120 presses of Tab never reached %s", sel)
}

// press sends one key (with modifiers) to the focused element.
func (p *pageTab) press(key string, mods ...chromedp.KeyOption) {
	p.t.Helper()
	p.do("press "+strconv.Quote(key), chromedp.KeyEvent(key, mods...))
}

// TestPageKeyboard: every action on a thread is reachable and works by
// keyboard alone — Tab to reach a control, Space or Enter to press it,
// typing and Ctrl+Enter to send: vote, reply, edit, collapse, sort and
// delete, and a topic started from the home page; each checked on the
// page and, where it writes, in the API.
func TestPageKeyboard(t *testing.T) {
	s := newStack(t, stackOpts{})
	root := post(t, s, "", "", "ada", "Keyboards only")
	bob := post(t, s, root.Topic, "0", "bob", "A comment to act on")
	s.settle(t, bob.Position)

	p := newPageTab(t, s)
	p.open("/t/" + root.Topic)
	p.tabTo("#signin-name")
	p.do("type a name", chromedp.KeyEvent("kay"))
	p.until(`localStorage.getItem("parley.name") === "kay"`)

	card := fmt.Sprintf("#c%d > article", bob.ID)
	p.tabTo(card + " button.vote.up")
	p.press(" ")
	p.until(`document.querySelector("` + card + ` button.vote.up").getAttribute("aria-pressed") === "true"`)

	p.tabTo(card + " button.action.reply")
	p.press(kb.Enter)
	p.until(fmt.Sprintf(`document.activeElement === document.querySelector("#reply-%d-text")`, bob.ID))
	p.do("type the reply", chromedp.KeyEvent("typed, not clicked"))
	p.press(kb.Enter, chromedp.KeyModifiers(kb.ModifierCtrl))
	p.until(`document.querySelector("#c` + strconv.Itoa(bob.ID) + ` > ul.replies > li.comment .text")?.textContent === "typed, not clicked"`)
	reply := evalJS[int](p, `Number(document.querySelector("#c`+strconv.Itoa(bob.ID)+` > ul.replies > li.comment").dataset.id)`)
	mine := fmt.Sprintf("#c%d > article", reply)

	p.tabTo(mine + " button.action.edit")
	p.press(kb.Enter)
	p.until(`document.activeElement?.tagName === "TEXTAREA" && document.activeElement.value === "typed, not clicked"`)
	p.press("a", chromedp.KeyModifiers(kb.ModifierCtrl))
	p.do("type the edit", chromedp.KeyEvent("edited by keyboard"))
	p.press(kb.Enter, chromedp.KeyModifiers(kb.ModifierCtrl))
	p.until(`document.querySelector("` + mine + ` .text")?.textContent === "edited by keyboard"`)

	p.tabTo(mine + " button.action.delete")
	p.press(kb.Enter)
	p.tabTo("#c" + strconv.Itoa(reply) + " .confirm button.danger")
	p.press(kb.Enter)
	p.until(`document.querySelector("#c` + strconv.Itoa(reply) + `")?.classList.contains("deleted") || document.querySelector("` + mine + ` .text") === null`)

	p.tabTo(card + " button.toggle")
	p.press(kb.Enter)
	p.until(`document.querySelector("` + card + ` button.toggle").getAttribute("aria-expanded") === "false"`)
	p.press(" ")
	p.until(`document.querySelector("` + card + ` button.toggle").getAttribute("aria-expanded") === "true"`)

	p.tabTo("#sort")
	before := evalJS[string](p, `document.querySelector("#sort").value`)
	p.press(kb.ArrowDown)
	p.until(`document.querySelector("#sort").value !== ` + strconv.Quote(before) + ` && new URLSearchParams(location.search).get("sort") === document.querySelector("#sort").value`)

	// A topic started from the home page, by keyboard.
	p.open("/")
	p.tabTo("#new-topic-text")
	p.do("type a topic", chromedp.KeyEvent("started by keyboard"))
	p.press(kb.Enter, chromedp.KeyModifiers(kb.ModifierCtrl))
	p.until(`location.pathname.startsWith("/t/") && document.querySelector("#post-title")?.textContent === "started by keyboard"`)

	// What the keys wrote, as the API has it.
	var got []struct {
		Path    string `json:"parent_path"`
		Content string `json:"content"`
		Deleted bool   `json:"deleted"`
		Up      int    `json:"up"`
	}
	s.api.Get(t, s.nginx+"/topic_comments?topic_id="+root.Topic).JSON(t, &got)
	if len(got) != 3 || got[1].Up != 1 || !got[2].Deleted {
		t.Fatalf("after the keyboard session the thread is %+v: want bob's comment upvoted and the reply deleted", got)
	}
}
