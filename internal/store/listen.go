package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
)

// Listen keeps a connection LISTENing on NotifyChannel until ctx ends,
// calling wake after every (re)connect, so events committed while it was
// away are picked up, and on every notification. A dropped connection is
// re-established with backoff; the caller's polling goes on meanwhile.
// Notifications are only ever a hint to poll now.
func Listen(ctx context.Context, cfg Config, name string, wake func(), log *zap.Logger) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := listenOnce(ctx, cfg, name, wake, func() { backoff = 100 * time.Millisecond })
		if ctx.Err() != nil {
			return
		}
		log.Warn("listen connection lost; reconnecting", zap.Error(err), zap.Duration("in", backoff))
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func listenOnce(ctx context.Context, cfg Config, name string, wake, connected func()) error {
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
	connected()
	wake()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		wake()
	}
}
