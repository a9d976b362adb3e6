package browsertest

import (
	"context"
	"fmt"
	"strings"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// FrameContext finds the frame of ctx's tab whose URL contains urlPart
// (an iframe's page, of the same site as its parent: another origin's
// frame of another site runs in its own process, which this does not
// reach) and answers a JavaScript context in it for EvalIn and UntilIn.
// The context is an isolated world: it shares the frame's DOM, not its
// script's variables, so a test reads and drives the page as a person
// would, through the document.
func FrameContext(ctx context.Context, urlPart string) (runtime.ExecutionContextID, error) {
	return chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (runtime.ExecutionContextID, error) {
		tree, err := cdp.Call(ctx, t, page.GetFrameTree, cdp.Empty{})
		if err != nil {
			return 0, err
		}
		var found *cdp.Frame
		var walk func(ft *page.FrameTree)
		walk = func(ft *page.FrameTree) {
			if ft == nil || found != nil {
				return
			}
			if ft.Frame != nil && ft.Frame.ParentID != "" && strings.Contains(ft.Frame.URL, urlPart) {
				found = ft.Frame
				return
			}
			for _, c := range ft.ChildFrames {
				walk(c)
			}
		}
		walk(tree.FrameTree)
		if found == nil {
			return 0, fmt.Errorf("no frame whose URL contains %q", urlPart)
		}
		w, err := cdp.Call(ctx, t, page.CreateIsolatedWorld, page.CreateIsolatedWorldParams{FrameID: found.ID, WorldName: "browsertest"})
		if err != nil {
			return 0, err
		}
		return w.ExecutionContextID, nil
	})
}
