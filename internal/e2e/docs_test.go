package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley/parley/internal/browsertest"
	"github.com/parley/parley/internal/stacktest"
)

// docOperation is an operation of the OpenAPI document, as Redoc should
// show it.
type docOperation struct {
	id, method, path, summary string
}

// documentOperations reads the operations of an OpenAPI document: every
// method of every path that has an operationId.
func documentOperations(t *testing.T, body []byte) []docOperation {
	t.Helper()
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("/openapi.json does not parse: %v", err)
	}
	if doc.OpenAPI == "" {
		t.Fatalf(`/openapi.json has no "openapi": %.200s`, body)
	}
	var ops []docOperation
	for path, item := range doc.Paths {
		for method, raw := range item {
			switch method {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
			default:
				continue // parameters, summary, $ref …
			}
			var op struct {
				OperationID string `json:"operationId"`
				Summary     string `json:"summary"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("/openapi.json: %s %s: %v", method, path, err)
			}
			if op.OperationID != "" {
				ops = append(ops, docOperation{op.OperationID, method, path, op.Summary})
			}
		}
	}
	if len(ops) == 0 {
		t.Fatal("/openapi.json describes no operation (with an operationId): nothing for /docs/ to show")
	}
	slices.SortFunc(ops, func(a, b docOperation) int { return strings.Compare(a.id, b.id) })
	return ops
}

// TestDocsPage opens the API reference (/docs/, Redoc) in a real browser
// through nginx, under the page's Content-Security-Policy: it must render
// every operation of /openapi.json, with no console error, no CSP
// violation and no request to another origin.
func TestDocsPage(t *testing.T) {
	s := newStack(t, stackOpts{})

	doc := stacktest.Get(t, s.nginx+"/openapi.json")
	if doc.Status != http.StatusOK || !strings.HasPrefix(doc.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /openapi.json: %d %q %.200s", doc.Status, doc.Header.Get("Content-Type"), doc.Body)
	}
	ops := documentOperations(t, doc.Body)

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if res := stacktest.DoWith(t, noFollow, http.MethodGet, s.nginx+"/docs", nil); res.Status != http.StatusMovedPermanently ||
		!strings.HasSuffix(res.Header.Get("Location"), "/docs/") {
		t.Errorf("GET /docs: %d Location %q, want 301 to /docs/", res.Status, res.Header.Get("Location"))
	}
	// What the browser is about to get, checked first for plainer messages.
	page := stacktest.Get(t, s.nginx+"/docs/")
	if page.Status != http.StatusOK || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(page.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("GET /docs/: %d %q, Content-Security-Policy %q", page.Status, page.Header.Get("Content-Type"),
			page.Header.Get("Content-Security-Policy"))
	}
	// Served with nosniff, a script the browser is told is not JavaScript
	// does not run at all.
	if res := stacktest.Get(t, s.nginx+"/docs/vendor/redoc/redoc.standalone.js"); res.Status != http.StatusOK ||
		!strings.Contains(res.Header.Get("Content-Type"), "javascript") {
		t.Errorf("GET the Redoc bundle: %d, Content-Type %q, want JavaScript", res.Status, res.Header.Get("Content-Type"))
	}

	ctx := browsertest.New(t, browsertest.SameOrigin(s.nginx))
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// Redoc fetches the document and renders an element per operation, its
	// summary as a heading.
	if err := chromedp.Do(wctx,
		chromedp.Navigate(s.nginx+"/docs/"),
		chromedp.WaitVisible(chromedp.CSS(`[id="operation/`+ops[0].id+`"] h2`)),
	); err != nil {
		browsertest.Check(t, ctx) // the console errors say why, if any
		t.Fatalf("Redoc did not render operation %s: %v", ops[0].id, err)
	}

	rendered, err := chromedp.Run(wctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('[id^="operation/"]'), e => e.id.slice("operation/".length))`))
	if err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(wctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range ops {
		if !slices.Contains(rendered, op.id) {
			t.Errorf("the page has no element for operation %s (%s %s)", op.id, strings.ToUpper(op.method), op.path)
		}
		if !strings.Contains(text, op.path) || (op.summary != "" && !strings.Contains(text, op.summary)) {
			t.Errorf("the page does not show %s %s (%q)", strings.ToUpper(op.method), op.path, op.summary)
		}
	}

	// The search runs in a worker made from a blob (the CSP's worker-src):
	// a term from the document must find something.
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx,
		chromedp.SendKeys(chromedp.CSS(`input.search-input`), "vote"),
		chromedp.WaitVisible(chromedp.CSS(`[data-role="search:results"] li`)),
	); err != nil {
		t.Errorf("searching the reference for \"vote\": %v", err)
	} else if found, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(`[data-role="search:results"]`))); err != nil {
		t.Error(err)
	} else if !strings.Contains(strings.ToLower(found), "vote") {
		t.Errorf("searching the reference for \"vote\" found %q", found)
	}

	if !slices.Contains(browsertest.Requests(ctx), s.nginx+"/openapi.json") {
		t.Errorf("the page did not fetch /openapi.json; it fetched %q", browsertest.Requests(ctx))
	}
	// Console errors, exceptions, CSP violations and requests to another
	// origin fail the test here (and at its end, for any that come later).
	browsertest.Check(t, ctx)
}
