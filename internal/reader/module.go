// Package reader is Parley's query side: the in-memory projection of the
// event log (topic trees, summaries, users' lists, rankings), the refresher
// that loads a snapshot and tails the log, the view counter that flushes to
// the writer, and the read API's handlers.
package reader

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/parley/parley/internal/auth"
	"github.com/parley/parley/internal/httpx"
	"github.com/parley/parley/internal/platform"
	"github.com/parley/parley/internal/store"
)

// Module wires a reader, given its Config (supplied by main): the read
// pool, the projection, the refresher and its LISTEN connection, the view
// counter, and the HTTP server. On stop the server goes first, then the
// last views are flushed, then the loops stop, then the pool closes.
var Module = fx.Module("reader",
	fx.Provide(
		func(c Config) platform.LogConfig { return platform.LogConfig{Level: c.LogLevel, Service: "reader"} },
		newPool,
		func(p *pgxpool.Pool, c Config) *store.Reader { return store.NewReader(p, c.readStore()) },
		newProjection,
		newRefresher,
		newViewCounter,
		func(c Config) auth.Config { return c.Auth },
		NewHandlers,
		httpx.NewEcho,
	),
	auth.Module,
	fx.Invoke(serve),
)

func newPool(lc fx.Lifecycle, cfg Config) (*pgxpool.Pool, error) {
	pool, err := store.NewPool(cfg.readStore(), "parley-reader")
	if err != nil {
		return nil, err
	}
	lc.Append(fx.StopHook(pool.Close))
	return pool, nil
}

func newProjection(lc fx.Lifecycle, cfg Config, src *store.Reader, log *zap.Logger) *Projection {
	p := NewProjection(cfg.CacheMaxBytes, cfg.hot(), src, log.Named("projection"))
	p.SetRenderBound(cfg.RenderMaxBytes, cfg.RenderWait)
	lc.Append(fx.StopHook(p.Close))
	return p
}

func newRefresher(lc fx.Lifecycle, cfg Config, p *Projection, src *store.Reader, log *zap.Logger) *Refresher {
	r := NewRefresher(p, src, src, cfg.RefreshInterval, cfg.RefreshBatch, log.Named("refresh"))
	loops := []func(context.Context){r.Run}
	if cfg.RefreshNotify {
		loops = append(loops, func(ctx context.Context) {
			store.Listen(ctx, cfg.Store, "parley-reader-listen", r.Wake, log.Named("listen"))
		})
	}
	platform.RunLoops(lc, loops...)
	return r
}

func newViewCounter(lc fx.Lifecycle, cfg Config, log *zap.Logger) (*ViewCounter, error) {
	v, err := NewViewCounter(ViewCounterConfig{WriterURL: cfg.WriterURL, Token: cfg.InternalToken,
		MaxPending: cfg.ViewPendingMax, SpoolDir: cfg.ViewSpoolDir}, log.Named("views"))
	if err != nil {
		return nil, err
	}
	l := platform.NewLoops()
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			l.Go(func(ctx context.Context) { v.run(ctx, cfg.ViewFlushInterval) })
			return nil
		},
		// The server has stopped: no view can be added any more. Deliver
		// what is buffered within the stop's grace period, or spool it.
		OnStop: func(stopCtx context.Context) error {
			l.Stop()
			v.Close(stopCtx)
			return nil
		},
	})
	return v, nil
}

func serve(lc fx.Lifecycle, e *echo.Echo, h *Handlers, cfg Config, log *zap.Logger) {
	h.Register(e)
	httpx.Serve(lc, e, cfg.ListenAddr, log)
	platform.ServeDebug(lc, cfg.DebugAddr, log)
}
