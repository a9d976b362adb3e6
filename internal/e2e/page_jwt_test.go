package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley/parley/internal/auth/authtest"
	"github.com/parley/parley/internal/browsertest"
)

// TestPageJWT: with AUTH_MODE=jwt the page signs in with a token the host
// site signed (pasted on our own page); another user gets no Edit button
// on a comment and the writer's 403 when forcing one; a moderator may
// delete it; the embed takes the token from the host page.
func TestPageJWT(t *testing.T) {
	const secret = "the-host-site-and-parley-share-this-secret"
	s := newStack(t, stackOpts{env: []string{"AUTH_MODE=jwt", "AUTH_JWT_SECRET=" + secret}})
	token := func(sub, name, role string) string {
		c := authtest.NewClaims(sub, time.Now(), time.Hour)
		c["preferred_username"] = name
		if role != "" {
			c["role"] = role
		}
		tok, err := authtest.SignHS256([]byte(secret), c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	ann, bob, mod := token("u-ann", "ann", ""), token("u-bob", "bob", ""), token("u-mod", "mo", "moderator")
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

	root := post(t, s, "", "", "", "Tokens, please", bearer(ann)...)
	c := post(t, s, root.Topic, "0", "", "ann's comment", bearer(ann)...)
	s.settle(t, c.Position)
	commentSel := fmt.Sprintf("#c%d > article", c.ID)

	signIn := func(p *pageTab, tok, name string) {
		t.Helper()
		p.typeIn("#signin-token", tok)
		p.click("#signin-submit")
		p.until(`document.querySelector(".signin-status")?.textContent.startsWith("Signed in as ` + name + `") && document.activeElement?.id === "signout"`)
	}

	t.Run("AnotherUserCannotEdit", func(t *testing.T) {
		// The 403 the test forces is logged by the browser.
		p := newPageTab(t, s, browsertest.Allow("status of 403"))
		p.open("/t/" + root.Topic)
		if evalJS[bool](p, `document.querySelector("#signin-token") === null`) {
			t.Fatal("no token field in jwt mode")
		}
		signIn(p, bob, "bob")
		p.until(`document.querySelector("` + commentSel + ` button.vote.up") !== null`)
		for _, b := range []string{"edit", "delete"} {
			if evalJS[bool](p, `document.querySelector("`+commentSel+` button.`+b+`") !== null`) {
				t.Errorf("bob sees a %s button on ann's comment", b)
			}
		}
		// Forced anyway, from the page with bob's token: the writer says no.
		status := evalJS[int](p, fmt.Sprintf(`fetch("/v1/topics/%s/comments/%d", {method: "PATCH",
			headers: {"Content-Type": "application/json", Authorization: "Bearer " + sessionStorage.getItem("parley.token")},
			body: JSON.stringify({content: "bob was here"})}).then(r => r.status)`, root.Topic, c.ID))
		if status != 403 {
			t.Errorf("bob's forced edit: %d, want 403", status)
		}
		// bob's own reply is his to edit.
		p.click(commentSel + " button.reply")
		p.typeIn(fmt.Sprintf("#reply-%d-text", c.ID), "bob's reply")
		p.click(fmt.Sprintf("#reply-%d button[type=submit]", c.ID))
		p.until(`document.activeElement?.closest("li.comment")?.querySelector("h3")?.textContent === "bob" && document.activeElement.closest("li.comment").querySelector("button.edit") !== null`)
	})

	t.Run("AuthorEdits", func(t *testing.T) {
		p := newPageTab(t, s)
		p.open("/t/" + root.Topic)
		signIn(p, ann, "ann")
		p.until(`document.querySelector("` + commentSel + ` button.edit") !== null`)
		if evalJS[bool](p, `document.querySelector("`+commentSel+` button.edit").getAttribute("aria-label") !== "Edit comment by ann"`) {
			t.Error("the Edit button is not named by its comment")
		}
	})

	t.Run("ModeratorDeletes", func(t *testing.T) {
		p := newPageTab(t, s)
		p.open("/t/" + root.Topic)
		signIn(p, mod, "mo")
		if !strings.Contains(evalJS[string](p, `document.querySelector(".signin-status").textContent`), "moderator") {
			t.Error("the page does not say the moderator is one")
		}
		p.until(`document.querySelector("` + commentSel + ` button.delete") !== null`)
		if evalJS[bool](p, `document.querySelector("`+commentSel+` button.edit") !== null`) {
			t.Error("a moderator sees Edit on another's comment")
		}
		p.click(commentSel + " button.delete")
		p.click(fmt.Sprintf("#c%d .confirm button.danger", c.ID))
		// It has bob's reply: a tombstone stays, with no buttons.
		p.until(`document.querySelector("` + commentSel + ` .tombstone") !== null && document.querySelector("` + commentSel + ` .actions button") === null`)
		eventuallyBody(t, s, fmt.Sprintf("/v1/topics/%s/comments/%d", root.Topic, c.ID), `"deleted":true`)
	})

	t.Run("Embed", func(t *testing.T) {
		testEmbed(t, s, embedCase{token: ann, user: "ann", other: func(topic, content string) posted {
			return post(t, s, topic, "0", "", content, bearer(bob)...)
		}})
	})

	t.Run("ExpiredToken", func(t *testing.T) {
		p := newPageTab(t, s)
		p.open("/")
		c := authtest.NewClaims("u-old", time.Now().Add(-2*time.Hour), time.Hour)
		old, err := authtest.SignHS256([]byte(secret), c)
		if err != nil {
			t.Fatal(err)
		}
		p.typeIn("#signin-token", old)
		p.click("#signin-submit")
		p.until(`document.querySelector("#signin-token-error").textContent.includes("expired")`)
		if got := evalJS[string](p, `document.querySelector("#signin-token-error").getAttribute("role")`); got != "alert" {
			t.Errorf("the error's role is %s", strconv.Quote(got))
		}
	})
}
