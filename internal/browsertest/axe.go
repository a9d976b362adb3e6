package browsertest

import (
	"context"
	_ "embed"
	"fmt"
	"strings"

	"github.com/chromedp/cdproto/runtime"
)

// axeSource is axe-core (axe/axe.min.js, version and license beside it),
// committed so that the tests need no network.
//
//go:embed axe/axe.min.js
var axeSource string

// AxeViolation is one rule axe-core found broken, with the elements that
// break it.
type AxeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"` // minor, moderate, serious, critical
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

// String is the violation in one line per element, for a test's log.
func (v AxeViolation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s", v.ID, v.Impact, v.Help)
	for i, n := range v.Nodes {
		if i == 5 {
			fmt.Fprintf(&b, "\n    … and %d more", len(v.Nodes)-5)
			break
		}
		fmt.Fprintf(&b, "\n    %v: %s", n.Target, strings.ReplaceAll(n.Summary, "\n", " "))
	}
	return b.String()
}

// Axe runs axe-core on the document of ctx's tab (or, with a context from
// FrameContext, of that frame: axe runs in an isolated world there) and
// answers its violations of the WCAG 2.x A and AA rules and axe's best
// practices. It injects axe through DevTools, so the page's
// Content-Security-Policy need not allow it.
func Axe(ctx context.Context, in runtime.ExecutionContextID) ([]AxeViolation, error) {
	if _, err := EvalIn[bool](ctx, axeSource+";\ntrue", in); err != nil {
		return nil, fmt.Errorf("inject axe-core: %w", err)
	}
	return EvalIn[[]AxeViolation](ctx, `axe.run(document, {
		runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
		resultTypes: ["violations"],
	}).then(r => r.violations)`, in)
}

// Serious keeps the violations of impact serious or critical.
func Serious(vs []AxeViolation) []AxeViolation {
	var out []AxeViolation
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			out = append(out, v)
		}
	}
	return out
}
