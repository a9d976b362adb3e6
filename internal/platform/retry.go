package platform

import (
	"context"
	"time"

	"github.com/sethvargo/go-retry"
)

// Retry calls fn until it returns nil or ctx ends, waiting between attempts
// from 100 ms, doubling up to max (sethvargo/go-retry). onFail hears of
// every failure, with the wait before the next attempt. It returns nil once
// fn succeeded; else fn's last error, or ctx's if fn never ran.
func Retry(ctx context.Context, max time.Duration, fn func(context.Context) error, onFail func(err error, wait time.Duration)) error {
	var last error
	exp := retry.WithCappedDuration(max, retry.NewExponential(100*time.Millisecond))
	backoff := retry.BackoffFunc(func() (time.Duration, bool) {
		wait, stop := exp.Next()
		if onFail != nil {
			onFail(last, wait)
		}
		return wait, stop
	})
	err := retry.Do(ctx, backoff, func(ctx context.Context) error {
		if last = fn(ctx); last != nil {
			return retry.RetryableError(last)
		}
		return nil
	})
	if err != nil && last != nil {
		return last
	}
	return err
}
