package writer

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley/parley/internal/metrics"
	"github.com/parley/parley/internal/store"
)

// notifyQueue serves parley_writer_notify_queue_usage, read from Postgres
// at each scrape: batches' notifications carry their events, so a listener
// that stopped reading fills the queue far sooner than heads alone did
// (docs/operations.md).
type notifyQueue struct {
	pool *pgxpool.Pool
	desc *prometheus.Desc
}

func registerNotifyQueue(reg *prometheus.Registry, pool *pgxpool.Pool) error {
	return reg.Register(notifyQueue{pool: pool, desc: prometheus.NewDesc(
		metrics.Namespace+"_writer_notify_queue_usage",
		"Share of Postgres's notification queue in use (pg_notification_queue_usage, 0 to 1); at 1 every write fails.",
		nil, nil)})
}

func (q notifyQueue) Describe(ch chan<- *prometheus.Desc) { ch <- q.desc }

// Collect sends no sample when Postgres does not answer within a second:
// the series' absence says so, and the pool's own metrics say why, without
// an error logged at every scrape of an outage.
func (q notifyQueue) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	usage, err := store.NotifyQueueUsage(ctx, q.pool)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(q.desc, prometheus.GaugeValue, usage)
}
