package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parley/parley/internal/browsertest"
	"github.com/parley/parley/internal/procs"
)

var screenshots = flag.Bool("screenshots", false, "TestPageScreenshots: write the pages' screenshots into docs/screenshots/")

// TestPageScreenshots writes the screenshots the README shows: the home
// and a topic page at desktop (1280 px) and phone (375 px) width, with a
// realistic thread. Only with -screenshots:
//
//	go test ./internal/e2e -run TestPageScreenshots -screenshots
func TestPageScreenshots(t *testing.T) {
	if !*screenshots {
		t.Skip("writes docs/screenshots/ only with -screenshots")
	}
	root, err := procs.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := newStack(t, stackOpts{})
	topic := seedShowcase(t, s)

	for _, size := range []struct {
		name          string
		width, height int
		opts          []browsertest.Option
	}{
		{"desktop", 1280, 900, nil},
		{"phone", 375, 812, []browsertest.Option{browsertest.Mobile()}},
	} {
		p := newPageTab(t, s, append([]browsertest.Option{browsertest.WindowSize(size.width, size.height)}, size.opts...)...)
		p.open("/")
		p.signInAs("ada")
		p.open("/")
		shoot(t, p, filepath.Join(dir, "home-"+size.name+".png"))
		p.open("/t/" + topic)
		shoot(t, p, filepath.Join(dir, "topic-"+size.name+".png"))
	}
}

func shoot(t *testing.T, p *pageTab, path string) {
	t.Helper()
	// The first paint of fonts and the caret would differ run to run.
	evalJS[bool](p, `document.activeElement?.blur(), window.scrollTo(0, 0), true`)
	wctx, cancel := context.WithTimeout(p.ctx, pageWait)
	defer cancel()
	png, err := chromedp.Run(wctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", path, len(png))
}

// seedShowcase writes the topics the screenshots show; it answers the one
// whose page they show.
func seedShowcase(t *testing.T, s *stack) string {
	t.Helper()
	for _, topic := range [][2]string{
		{"linus", "Show HN: a comment service that keeps every thread in memory"},
		{"grace", "Tabs or spaces in 2026?"},
		{"ken", "What did you learn from your last production incident?"},
		{"margaret", "Which book taught you the most about distributed systems?"},
	} {
		r := post(t, s, "", "", topic[0], topic[1])
		for i, who := range []string{"ada", "bjarne", "rob"} {
			post(t, s, r.Topic, "0", who, fmt.Sprintf("Reply %d: I have thoughts.", i+1))
		}
	}
	root := post(t, s, "", "", "ada", "What is the one Postgres setting you always change on a new server?")
	a := post(t, s, root.Topic, "0", "linus", "shared_buffers. The default of 128 MB made sense in 2005; a quarter of the memory is a better start.")
	b := post(t, s, root.Topic, a.Path, "grace", "And effective_cache_size to most of the rest, so the planner knows the OS cache is there.")
	post(t, s, root.Topic, b.Path, "linus", "Right: it allocates nothing, it only informs the planner.")
	post(t, s, root.Topic, a.Path, "ken", "Measure first. pg_stat_statements tells you which queries deserve the memory.")
	c := post(t, s, root.Topic, "0", "margaret", "random_page_cost = 1.1 on SSDs. The default assumes spinning disks and avoids index scans it should take.")
	post(t, s, root.Topic, c.Path, "rob", "This one surprised me the most: a 10× faster report after one line.")
	d := post(t, s, root.Topic, "0", "bjarne", "work_mem, carefully: it is per sort and per hash, not per connection. See https://www.postgresql.org/docs/current/runtime-config-resource.html")
	votes := map[posted][]string{a: {"ada", "grace", "ken", "rob", "bjarne"}, c: {"ada", "ken"}, b: {"ada", "rob"}, d: {"grace"}}
	var last int64
	for cmt, voters := range votes {
		for _, v := range voters {
			r := s.api.Do(t, "PUT", fmt.Sprintf("%s/v1/topics/%s/comments/%d/vote", s.nginx, root.Topic, cmt.ID), map[string]any{"value": 1, "user": v})
			var res struct{ Position int64 }
			r.JSON(t, &res)
			last = max(last, res.Position)
		}
	}
	s.settle(t, last)
	return root.Topic
}
