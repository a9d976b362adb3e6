package reader

import (
	"net/url"
	"time"

	"github.com/parley/parley/internal/auth"
	"github.com/parley/parley/internal/metrics"
	"github.com/parley/parley/internal/platform"
	"github.com/parley/parley/internal/store"
)

// Config is the reader's configuration, read from the environment once at
// start. Every field names its variable, its default and, in its help tag,
// what it sets: -help and the README's tables are made from these tags.
type Config struct {
	Store             store.Config
	Auth              auth.Config
	ReadDatabaseURL   string        `env:"READ_DATABASE_URL" help:"a streaming replica to load and tail from; LISTEN stays on 'DATABASE_URL'"`
	ListenAddr        string        `env:"LISTEN_ADDR" envDefault:"127.0.0.1:8091" help:"where the reader listens"`
	WriterURL         string        `env:"WRITER_URL" envDefault:"http://127.0.0.1:8081" help:"where view batches go ('POST /internal/views')"`
	InternalToken     string        `env:"INTERNAL_TOKEN" help:"bearer token sent with view batches to the writer and required on this reader's '/internal/' routes; the writer's 'INTERNAL_TOKEN'; required unless 'LISTEN_ADDR' is a loopback address"`
	RefreshInterval   time.Duration `env:"REFRESH_INTERVAL" envDefault:"1s" help:"how often the log is polled"`
	RefreshNotify     bool          `env:"REFRESH_NOTIFY" envDefault:"true" help:"also wake on the writer's NOTIFY"`
	RefreshCoalesce   time.Duration `env:"REFRESH_COALESCE" envDefault:"5ms" help:"wake-ups (notifications, min_position reads) sooner than this after a refresh began fold into one refresh at its end; 0: none"`
	RefreshBatch      int           `env:"REFRESH_BATCH" envDefault:"5000" help:"events read per query"`
	MinPositionWait   time.Duration `env:"MIN_POSITION_WAIT" envDefault:"2s" help:"how long a 'min_position' read waits before 503"`
	MaxStaleness      time.Duration `env:"MAX_STALENESS" envDefault:"10s" help:"'/readyz' is 503 when the last refresh is older"`
	ViewCounting      bool          `env:"VIEW_COUNTING" envDefault:"true" help:"count views; 'false' makes this reader's responses count none (for benchmarks, or a reader serving internal traffic)"`
	ViewFlushInterval time.Duration `env:"VIEW_FLUSH_INTERVAL" envDefault:"1s" help:"how often counted views are sent to the writer"`
	ViewSpoolDir      string        `env:"VIEW_SPOOL_DIR" help:"where a stopping reader writes the views it could not deliver, and where a starting one takes them from; without it such views are lost (and logged)"`
	ViewPendingMax    int           `env:"VIEW_PENDING_MAX" envDefault:"1000000" help:"view ranges kept while the writer is unreachable; the oldest go beyond"`
	CacheMaxBytes     int64         `env:"CACHE_MAX_BYTES" envDefault:"1073741824" help:"memory bound of resident topic trees; the least recently read are evicted"`
	RenderMaxBytes    int64         `env:"RENDER_MAX_BYTES" envDefault:"268435456" help:"bytes of large '/topic_comments' pages (over 1,000 comments) rendered and being sent at once; beyond, a page waits"`
	RenderWait        time.Duration `env:"RENDER_WAIT" envDefault:"2s" help:"how long a large page waits for room under 'RENDER_MAX_BYTES' before it is 503 with 'Retry-After'"`
	HotHalfLife       time.Duration `env:"HOT_HALF_LIFE" envDefault:"1h" help:"half-life of hot-topic activity (at least 1m)"`
	HotCommentWeight  float64       `env:"HOT_COMMENT_WEIGHT" envDefault:"5" help:"weight of a comment in the hot score"`
	HotViewWeight     float64       `env:"HOT_VIEW_WEIGHT" envDefault:"1" help:"weight of a read of the topic in the hot score"`
	HotVoteWeight     float64       `env:"HOT_VOTE_WEIGHT" envDefault:"2" help:"weight of a vote given or changed in the hot score"`
	TimerSlack        time.Duration `env:"TIMER_SLACK" envDefault:"1ms" help:"how late the kernel may end the process's sleeps, merging their wake-ups (Linux timer slack, set for every thread by running the binary again at start); at Linux's 50µs, Go's runtime monitor sleeping 20µs at a time took about 7 % of a reader's CPU serving GETs (measured: the mixed run 10-13 % faster at 1ms, docs/operations.md); 0 keeps the slack the process was started with"`
	LogLevel          string        `env:"LOG_LEVEL" envDefault:"info" help:"debug, info, warn, error (JSON logs on stderr)"`
	LogFormat         string        `env:"LOG_FORMAT" envDefault:"json" help:"json (a line of JSON per event) or console (for a person at a terminal)"`
	DrainDelay        time.Duration `env:"DRAIN_DELAY" envDefault:"0s" help:"on SIGTERM, how long '/readyz' fails before the server stops taking requests, for a load balancer to notice; requests in flight always finish"`
	DebugAddr         string        `env:"DEBUG_ADDR" help:"serve Go's pprof on this address (e.g. '127.0.0.1:6061'); never routed by nginx"`
	MetricsAddr       string        `env:"METRICS_ADDR" help:"serve Prometheus metrics at '/metrics' on this address (e.g. '127.0.0.1:9181'); never routed by nginx; empty: none"`
}

// LoadConfig reads Config from the environment. An unparsable or out of
// range value is an error that names its variable.
func LoadConfig() (Config, error) {
	return platform.LoadConfig(func(cfg *Config, c *platform.Checks) {
		check := c.Check
		u, uerr := url.Parse(cfg.WriterURL)
		check(uerr == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "", "WRITER_URL", "must be an http:// or https:// URL")
		c.CheckInternalToken(cfg.InternalToken, cfg.ListenAddr)
		check(cfg.RefreshInterval > 0, "REFRESH_INTERVAL", "must be positive")
		check(cfg.RefreshCoalesce >= 0 && cfg.RefreshCoalesce <= time.Second, "REFRESH_COALESCE", "must be between 0 and 1s")
		check(cfg.RefreshBatch >= 1 && cfg.RefreshBatch <= 100000, "REFRESH_BATCH", "must be between 1 and 100000")
		check(cfg.MinPositionWait >= 0, "MIN_POSITION_WAIT", "must not be negative")
		check(cfg.MaxStaleness > 0, "MAX_STALENESS", "must be positive")
		check(cfg.ViewFlushInterval > 0, "VIEW_FLUSH_INTERVAL", "must be positive")
		check(cfg.ViewPendingMax >= 1, "VIEW_PENDING_MAX", "must be at least 1")
		check(cfg.RenderMaxBytes >= 1<<20, "RENDER_MAX_BYTES", "must be at least 1048576")
		check(cfg.RenderWait > 0, "RENDER_WAIT", "must be positive")
		check(cfg.CacheMaxBytes >= 1, "CACHE_MAX_BYTES", "must be at least 1")
		check(cfg.HotHalfLife >= time.Minute, "HOT_HALF_LIFE", "must be at least 1m (activity is kept per minute)")
		check(cfg.HotCommentWeight >= 0, "HOT_COMMENT_WEIGHT", "must not be negative")
		check(cfg.HotViewWeight >= 0, "HOT_VIEW_WEIGHT", "must not be negative")
		check(cfg.HotVoteWeight >= 0, "HOT_VOTE_WEIGHT", "must not be negative")
		c.Add(cfg.Store.Check()...)
		cfg.Auth.Check(c)
		c.CheckTimerSlack(cfg.TimerSlack)
		c.Add(platform.CheckLevel(cfg.LogLevel))
		c.Add(platform.CheckFormat(cfg.LogFormat))
		check(cfg.DrainDelay >= 0 && cfg.DrainDelay <= time.Minute, "DRAIN_DELAY", "must be between 0 and 1m")
		c.Add(metrics.CheckAddr(cfg.MetricsAddr, cfg.ListenAddr))
	})
}

func (c Config) hot() hotParams {
	return hotParams{halfLife: c.HotHalfLife.Seconds(), commentWeight: c.HotCommentWeight, viewWeight: c.HotViewWeight, voteWeight: c.HotVoteWeight}
}

// readStore is the database configuration for reads: the replica when
// READ_DATABASE_URL is set. LISTEN always goes to DATABASE_URL, because a
// replica does not relay notifications.
func (c Config) readStore() store.Config {
	s := c.Store
	if c.ReadDatabaseURL != "" {
		s.URL = c.ReadDatabaseURL
	}
	return s
}
