// Package metrics holds the Prometheus pieces both services share (SPEC
// §12): the registry, which is the app's own and never the global one, with
// the Go runtime and process collectors; the server of /metrics on
// METRICS_ADDR, a port of its own that nginx never routes to; the echo
// middleware that counts and times requests by route; and the connection
// pool's statistics. The services register their own families on the
// registry (writer: batches and queue; reader: position, lag, residency,
// views). It imports no domain package.
package metrics

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/IBM/pgxpoolprometheus"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/parley/parley/internal/platform"
)

// Namespace prefixes every family of Parley's own.
const Namespace = "parley"

// Config is what the metrics module needs from a service's configuration.
type Config struct {
	Addr string // METRICS_ADDR; "" serves no metrics
}

// CheckAddr checks METRICS_ADDR: empty, or a host:port of its own (not
// the service's LISTEN_ADDR, which nginx routes to).
func CheckAddr(addr, listen string) error {
	if addr == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("METRICS_ADDR must be host:port: %w", err)
	}
	if addr == listen {
		return errors.New("METRICS_ADDR must differ from LISTEN_ADDR: nginx routes to LISTEN_ADDR, never to metrics")
	}
	return nil
}

// Module provides the registry and the request metrics (HTTP), and serves
// /metrics on Config.Addr, given a Config the service module provides.
var Module = fx.Module("metrics",
	fx.Provide(
		NewRegistry,
		func(reg *prometheus.Registry) (*HTTP, error) { return NewHTTP(reg) },
	),
	fx.Invoke(Serve),
)

// NewRegistry returns a registry of its own (no global state: two services
// in one test process each have theirs) with the Go runtime's and the
// process's collectors (go_*, process_*).
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Register registers every collector and reports every failure.
func Register(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	var errList []error
	for _, c := range cs {
		errList = append(errList, reg.Register(c))
	}
	return errors.Join(errList...)
}

// RegisterPool registers pool's statistics (pgxpool_*: connections
// acquired, idle, constructing, total and the maximum; acquires, waits for
// an empty pool, and their durations), read from pool.Stat() at each scrape.
func RegisterPool(reg prometheus.Registerer, pool *pgxpool.Pool) error {
	return reg.Register(pgxpoolprometheus.NewCollector(pool, nil))
}

// Serve serves reg at /metrics on cfg.Addr for the app's lifetime
// (platform.Serve: a port in use fails the start, stop waits for scrapes in
// flight). An empty Addr serves nothing. Every other path is 404.
func Serve(lc fx.Lifecycle, cfg Config, reg *prometheus.Registry, log *zap.Logger) {
	if cfg.Addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", Handler(reg, log))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	platform.Serve(lc, srv, cfg.Addr, "metrics server", log, nil)
}

// Handler is promhttp's handler for reg: a collector that fails is logged
// and the others are still served; promhttp_metric_handler_* count the
// scrapes themselves and their errors.
func Handler(reg *prometheus.Registry, log *zap.Logger) http.Handler {
	return promhttp.InstrumentMetricHandler(reg, promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:            zap.NewStdLog(log.Named("metrics")),
		Registry:            reg, // promhttp_metric_handler_errors_total
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	}))
}
