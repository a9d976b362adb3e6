// Package writer is Parley's command side: the HTTP handlers of the write
// API, the decisions each command makes against the current state, and the
// batcher that appends them to the log in group-committed transactions.
package writer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/parley/parley/internal/auth"
	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/httpx"
	"github.com/parley/parley/internal/metrics"
	"github.com/parley/parley/internal/platform"
	"github.com/parley/parley/internal/store"
)

// Module wires the writer: given its Config (supplied by main, which reads
// it before anything starts), the pool and migrations, the batcher,
// the pruner of old idempotency keys, the HTTP server, and the metrics
// (internal/metrics) on METRICS_ADDR.
var Module = fx.Module("writer",
	fx.Provide(
		func(c Config) platform.LogConfig {
			return platform.LogConfig{Level: c.LogLevel, Format: c.LogFormat, Service: "writer"}
		},
		func(c Config) metrics.Config { return metrics.Config{Addr: c.MetricsAddr} },
		newPool,
		func(p *pgxpool.Pool, c Config) *store.Appender { return store.NewAppender(p, c.Store) },
		func() Clock { return comment.Now },
		newFaultDraw,
		newFaults,
		func(c Config) auth.Config { return c.Auth },
		newBatcher,
		func(c Config) *platform.Drain { return platform.NewDrain(c.DrainDelay) },
		NewHandlers,
		httpx.NewEcho,
	),
	auth.Module,
	metrics.Module,
	// The drain's hook is registered last so that it runs first on stop.
	fx.Invoke(func(c Config) { platform.SetGOGC(c.GOGC) }, registerNotifyQueue, runPruner, runCompactor, serve, warnOpen, (*platform.Drain).Hook),
)

// warnOpen says at start that, without tokens, anyone may write as anyone.
func warnOpen(cfg Config, log *zap.Logger) {
	if !cfg.Auth.Enabled() {
		log.Warn("AUTH_MODE=none: a write's author is the name in its body, and anyone may edit or delete any comment; set AUTH_MODE=jwt for a public site")
	}
}

// newPool opens the pool and, on start, applies migrations (unless
// MIGRATE=false), retrying while Postgres is not there yet, up to
// DB_START_TIMEOUT. The pool closes last on stop.
func newPool(lc fx.Lifecycle, cfg Config, log *zap.Logger, reg *prometheus.Registry) (*pgxpool.Pool, error) {
	pool, err := store.NewPool(cfg.Store, "parley-writer")
	if err != nil {
		return nil, err
	}
	if err := metrics.RegisterPool(reg, pool); err != nil {
		return nil, err
	}
	lc.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			if !cfg.Migrate {
				return nil
			}
			return migrateWithRetry(ctx, pool, cfg.StartTimeout, log)
		},
		OnStop: func(context.Context) error {
			pool.Close()
			return nil
		},
	})
	return pool, nil
}

func migrateWithRetry(ctx context.Context, pool *pgxpool.Pool, limit time.Duration, log *zap.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	err := platform.Retry(ctx, 2*time.Second, func(ctx context.Context) error {
		applied, err := store.Migrate(ctx, pool)
		if err == nil {
			log.Info("schema up to date", zap.Strings("applied", applied))
		}
		return err
	}, func(err error, wait time.Duration) {
		log.Warn("migrations failed, retrying", zap.Error(err), zap.Duration("in", wait))
	})
	if err != nil {
		return fmt.Errorf("migrations did not complete within DB_START_TIMEOUT (%s): %w", limit, err)
	}
	return nil
}

// Clock dates the events the writer appends. The module provides
// comment.Now; a test may replace it (fx.Replace) to control the dates.
type Clock func() time.Time

func newBatcher(lc fx.Lifecycle, app *store.Appender, cfg Config, log *zap.Logger, now Clock, reg *prometheus.Registry) (*Batcher, error) {
	b := NewBatcher(app, log.Named("batcher"), cfg.WriteWorkers, cfg.WriteBatchMax, cfg.WriteBatchLinger, now)
	if err := b.Instrument(reg); err != nil {
		return nil, err
	}
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error { b.Start(); return nil },
		OnStop:  b.Stop,
	})
	return b, nil
}

// runPruner deletes expired idempotency keys and old activity buckets every
// PRUNE_INTERVAL. Several writers may prune at once; deletes are idempotent.
func runPruner(lc fx.Lifecycle, app *store.Appender, cfg Config, log *zap.Logger) {
	platform.RunLoops(lc, func(ctx context.Context) {
		platform.Every(ctx, cfg.PruneInterval, func() {
			n, err := app.PruneKeys(ctx, cfg.IdempotencyTTL, cfg.ActivityKeep)
			if err != nil && !errors.Is(err, context.Canceled) {
				log.Warn("prune failed", zap.Error(err))
			} else if n > 0 {
				log.Info("pruned", zap.Int64("rows", n))
			}
		})
	})
}

// compactTopicsPerRun bounds one compaction pass, so that a backlog is
// worked off over several passes rather than in one long one.
const compactTopicsPerRun = 1000

// compactPerComments makes a topic wait for one range per this many of its
// comments before it is folded: a fold reads the whole topic, and folding
// every busy topic each minute grew with the topics (issue 14's soak: the
// read of a topic went from 2 to 6 ms in six minutes).
const compactPerComments = 8

// runCompactor folds the view ranges of busy topics into per-comment counts
// every COMPACT_INTERVAL (store.CompactViews). Several writers may compact
// at once: a range is taken by one of them only.
func runCompactor(lc fx.Lifecycle, app *store.Appender, cfg Config, log *zap.Logger) {
	if cfg.CompactInterval == 0 {
		return
	}
	platform.RunLoops(lc, func(ctx context.Context) {
		platform.Every(ctx, cfg.CompactInterval, func() {
			topics, ranges, err := app.CompactViews(ctx, cfg.CompactMinRanges, compactPerComments, compactTopicsPerRun)
			switch {
			case err != nil && !errors.Is(err, context.Canceled):
				log.Warn("view compaction failed", zap.Int64("topics", topics), zap.Error(err))
			case topics > 0:
				log.Info("view ranges folded", zap.Int64("topics", topics), zap.Int64("ranges", ranges))
			}
		})
	})
}

func serve(lc fx.Lifecycle, e *echo.Echo, h *Handlers, m *metrics.HTTP, cfg Config, log *zap.Logger) {
	e.Use(m.Middleware) // first: it sees every route and what the others answer
	h.Register(e)
	// A client that sends its body slowly, or never, holds a connection and
	// a goroutine; past this it gets 408 and the connection is closed.
	e.Server.ReadTimeout = cfg.BodyTimeout
	httpx.Serve(lc, e, cfg.ListenAddr, log)
	platform.ServeDebug(lc, cfg.DebugAddr, log)
}
