package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// PollInterval is how often Until evaluates its condition.
const PollInterval = 50 * time.Millisecond

// Until evaluates the JavaScript expression in ctx's tab every PollInterval
// until it is truthy, and fails after timeout with the last value or error
// it saw. Unlike chromedp.Poll, which builds its predicate with new
// Function, it runs under a Content-Security-Policy without 'unsafe-eval':
// DevTools evaluation is not the page's script.
func Until(ctx context.Context, timeout time.Duration, expr string) error {
	return UntilIn(ctx, timeout, expr, 0)
}

// UntilIn is Until in a given JavaScript context (a frame's, from
// FrameContext); 0 is the tab's main frame.
func UntilIn(ctx context.Context, timeout time.Duration, expr string, in runtime.ExecutionContextID) error {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last string
	for {
		v, err := chromedp.Run(wctx, chromedp.Evaluate[*runtime.RemoteObject]("!!("+expr+")", inContext(in), chromedp.EvalAwaitPromise))
		switch {
		case err == nil && v != nil && string(v.Value) == "true":
			return nil
		case err != nil && wctx.Err() == nil:
			last = err.Error()
		case err == nil:
			last = "false"
		}
		select {
		case <-wctx.Done():
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("after %v, still not true (last: %s): %s", timeout, last, expr)
		case <-time.After(PollInterval):
		}
	}
}

// Eval evaluates a JavaScript expression in ctx's tab (awaiting a promise)
// and decodes its JSON value into T.
func Eval[T any](ctx context.Context, expr string) (T, error) {
	return EvalIn[T](ctx, expr, 0)
}

// EvalIn is Eval in a given JavaScript context; 0 is the main frame's.
func EvalIn[T any](ctx context.Context, expr string, in runtime.ExecutionContextID) (T, error) {
	var out T
	v, err := chromedp.Run(ctx, chromedp.Evaluate[*runtime.RemoteObject](expr, inContext(in), chromedp.EvalAwaitPromise,
		func(p *runtime.EvaluateParams) { p.ReturnByValue = ptr(true) }))
	if err != nil {
		return out, err
	}
	if v == nil || len(v.Value) == 0 {
		if v != nil && v.Type == runtime.RemoteObjectTypeUndefined {
			return out, errors.New("the expression is undefined")
		}
		return out, nil
	}
	err = json.Unmarshal(v.Value, &out)
	return out, err
}

func inContext(id runtime.ExecutionContextID) chromedp.EvaluateOption {
	return func(p *runtime.EvaluateParams) {
		if id != 0 {
			p.ContextID = id
		}
	}
}

func ptr[T any](v T) *T { return &v }
