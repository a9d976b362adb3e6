package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/parley/parley/internal/platform"
)

// Listen keeps a connection LISTENing on NotifyChannel until ctx ends,
// calling wake after every (re)connect, so events committed while it was
// away are picked up, and on every notification, with the log head the
// notifying commit left (0 when not known: on a connect) and the events
// it carried. The connection
// is to the primary, so the head is the primary's even for a reader that
// reads a replica: what the replica has yet to replay is known. A connection that cannot
// be made is tried again with backoff; one that is lost is made again
// after a short pause. The caller's polling goes on meanwhile: notifications are only
// ever a hint to poll now.
func Listen(ctx context.Context, cfg Config, name string, wake func(Notification), log *zap.Logger) {
	for ctx.Err() == nil {
		_ = platform.Retry(ctx, 5*time.Second, func(ctx context.Context) error {
			err := listenOnce(ctx, cfg, name, wake)
			if errors.Is(err, errLost) && ctx.Err() == nil {
				log.Warn("listen connection lost; reconnecting", zap.Error(err))
				// A fresh backoff for the next connection, after a pause, so
				// that a server that accepts and drops at once is not a loop.
				select {
				case <-ctx.Done():
				case <-time.After(100 * time.Millisecond):
				}
				return nil
			}
			return err
		}, func(err error, wait time.Duration) {
			if ctx.Err() == nil {
				log.Warn("listen connection failed; retrying", zap.Error(err), zap.Duration("in", wait))
			}
		})
	}
}

// errLost marks a LISTEN connection that worked, then failed.
var errLost = errors.New("listen connection lost")

func listenOnce(ctx context.Context, cfg Config, name string, wake func(Notification)) error {
	pc, err := pgx.ParseConfig(cfg.URL)
	if err != nil {
		return err
	}
	pc.ConnectTimeout = cfg.ConnectTimeout
	pc.RuntimeParams["application_name"] = name
	cctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	conn, err := pgx.ConnectConfig(cctx, pc)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	lctx, cancel := context.WithTimeout(ctx, cfg.QueryTimeout())
	_, err = conn.Exec(lctx, "LISTEN "+NotifyChannel)
	cancel()
	if err != nil {
		return err
	}
	wake(Notification{})
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("%w: %w", errLost, err)
		}
		wake(ParseNotification(n.Payload))
	}
}
