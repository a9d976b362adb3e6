// Package reader is Parley's query side: the in-memory projection of the
// event log (topic trees, summaries, users' lists, rankings), the refresher
// that loads a snapshot and tails the log, the view counter that flushes to
// the writer, and the read API's handlers.
package reader

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/parley/parley/internal/auth"
	"github.com/parley/parley/internal/httpx"
	"github.com/parley/parley/internal/metrics"
	"github.com/parley/parley/internal/platform"
	"github.com/parley/parley/internal/store"
)

// Module wires a reader, given its Config (supplied by main): the read
// pool, the projection, the refresher and its LISTEN connection, the view
// counter, the HTTP server, and the metrics (internal/metrics) on
// METRICS_ADDR. On stop the server goes first, then the last views are
// flushed, then the loops stop, then the pool closes.
var Module = fx.Module("reader",
	fx.Provide(
		func(c Config) platform.LogConfig {
			return platform.LogConfig{Level: c.LogLevel, Format: c.LogFormat, Service: "reader"}
		},
		func(c Config) metrics.Config { return metrics.Config{Addr: c.MetricsAddr} },
		newPool,
		func(p *pgxpool.Pool, c Config) *store.Reader { return store.NewReader(p, c.readStore()) },
		newProjection,
		newRefresher,
		newViewCounter,
		func(c Config) auth.Config { return c.Auth },
		func(c Config) *platform.Drain { return platform.NewDrain(c.DrainDelay) },
		NewHandlers,
		httpx.NewEcho,
	),
	auth.Module,
	metrics.Module,
	// The drain's hook is registered last so that it runs first on stop.
	fx.Invoke(instrument, serve, (*platform.Drain).Hook),
)

func newPool(lc fx.Lifecycle, cfg Config, reg *prometheus.Registry) (*pgxpool.Pool, error) {
	pool, err := store.NewPool(cfg.readStore(), "parley-reader")
	if err != nil {
		return nil, err
	}
	if err := metrics.RegisterPool(reg, pool); err != nil {
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
	r := NewRefresher(p, src, src, cfg.RefreshInterval, cfg.RefreshCoalesce, cfg.RefreshBatch, log.Named("refresh"))
	loops := []func(context.Context){r.Run}
	if cfg.RefreshNotify {
		if cfg.ReadDatabaseURL == "" {
			r.UseNotified()
		}
		loops = append(loops, func(ctx context.Context) {
			store.Listen(ctx, cfg.Store, "parley-reader-listen", r.Notified, log.Named("listen"))
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

func serve(lc fx.Lifecycle, e *echo.Echo, h *Handlers, m *metrics.HTTP, cfg Config, log *zap.Logger) {
	e.Use(m.Middleware) // first: it sees every route and what the others answer
	h.Register(e)
	httpx.Serve(lc, e, cfg.ListenAddr, log)
	platform.ServeDebug(lc, cfg.DebugAddr, log)
}

// instrument registers the reader's families (docs/operations.md,
// "Metrics"). All but the refresh time read, at each scrape, what the
// reader keeps anyway (atomics; the cache's bytes under a brief read lock):
// nothing is added to a request or to applying an event. The refresh time
// is observed once per refresh. It runs before the refresher starts.
func instrument(reg *prometheus.Registry, p *Projection, r *Refresher, v *ViewCounter) error {
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: metrics.Namespace, Subsystem: "reader", Name: name, Help: help}
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts(opts(name, help)), f)
	}
	counter := func(name, help string, f func() int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts(opts(name, help)), func() float64 { return float64(f()) })
	}
	batches := func(result string, pick func(sent, failed, dropped int64) int64) prometheus.Collector {
		o := prometheus.CounterOpts(opts("view_batches_total", "View batches sent to the writer, by result: sent (the writer took it), failed (an attempt failed; it is tried again), dropped (refused by the writer, too old, or beyond VIEW_PENDING_MAX)."))
		o.ConstLabels = prometheus.Labels{"result": result}
		return prometheus.NewCounterFunc(o, func() float64 { return float64(pick(v.Batches())) })
	}
	refreshTime := prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: metrics.Namespace, Subsystem: "reader", Name: "refresh_duration_seconds",
		Help:    "Time of a refresh: reading the log after the applied position and applying it, batch after batch, to its end.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16), // 0.5ms … 16s
	})
	refreshFailures := prometheus.NewCounter(prometheus.CounterOpts(opts("refresh_failures_total",
		"Refreshes that failed (the reader serves what it holds and tries again).")))
	r.observe = func(took time.Duration, err error) {
		refreshTime.Observe(took.Seconds())
		if err != nil && !errors.Is(err, context.Canceled) {
			refreshFailures.Inc()
		}
	}
	return metrics.Register(reg, refreshTime, refreshFailures,
		gauge("applied_position", "Position of the last event applied: every response includes the log up to it.",
			func() float64 { return float64(p.Applied()) }),
		gauge("head_position", "Newest log position the reader knows of: the applied one after each read to the log's end; the log's head while it is more than a batch behind.",
			func() float64 { return float64(r.head.Load()) }),
		gauge("lag_events", "Events the reader knows of and has not applied (head_position − applied_position).",
			func() float64 { n, _ := r.Lag(time.Now()); return float64(n) }),
		gauge("lag_seconds", "Time since the start of the reader's last read that reached the log's end: every event committed before then is applied. Idle, it saw-tooths up to REFRESH_INTERVAL.",
			func() float64 { _, d := r.Lag(time.Now()); return d.Seconds() }),
		gauge("ready", "1 once the start-up snapshot is loaded, else 0.",
			func() float64 { return b2f(p.Ready()) }),
		gauge("apply_wait_max_seconds", "Longest time applying events waited for the projection's lock since start (renders hold it).",
			func() float64 { return float64(p.applyWaitMax.Load()) / 1e9 }),
		gauge("resident_bytes", "Bytes of the topic trees in memory.",
			func() float64 { return float64(p.cacheCounts().bytes) }),
		gauge("cache_max_bytes", "CACHE_MAX_BYTES, the bound of resident_bytes beyond which the least recently read trees are evicted.",
			func() float64 { return float64(p.cacheCounts().maxBytes) }),
		gauge("topics", "Topics held (their summaries always; their trees when resident).",
			func() float64 { return float64(p.cacheCounts().topics) }),
		counter("evictions_total", "Topic trees evicted to keep resident_bytes within CACHE_MAX_BYTES.", p.res.evictions.Load),
		counter("reloads_total", "Evicted topic trees loaded again from Postgres for a request.", p.res.reloads.Load),
		counter("oversized_drops_total", "Trees larger than CACHE_MAX_BYTES alone, dropped as soon as the requests using them were done.", p.res.oversized.Load),
		gauge("view_ranges_pending", "Views counted and not yet confirmed by the writer: ranges in unconfirmed batches (VIEW_PENDING_MAX bounds them), plus pages read since the last flush.",
			func() float64 { return float64(v.Pending()) }),
		counter("view_ranges_dropped_total", "View ranges given up: refused by the writer, too old, or beyond VIEW_PENDING_MAX.", v.Dropped),
		batches("sent", func(s, _, _ int64) int64 { return s }),
		batches("failed", func(_, f, _ int64) int64 { return f }),
		batches("dropped", func(_, _, d int64) int64 { return d }),
	)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
