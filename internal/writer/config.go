package writer

import (
	"time"

	"github.com/parley/parley/internal/auth"
	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/metrics"
	"github.com/parley/parley/internal/platform"
	"github.com/parley/parley/internal/store"
)

// Config is the writer's configuration, read from the environment once at
// start. Every field names its variable, its default and, in its help tag,
// what it sets: -help and the README's tables are made from these tags.
type Config struct {
	Store            store.Config
	Auth             auth.Config
	ListenAddr       string        `env:"LISTEN_ADDR" envDefault:"127.0.0.1:8081" help:"where the writer listens"`
	MaxContentBytes  int           `env:"MAX_CONTENT_BYTES" envDefault:"65536" help:"largest comment content, in bytes (413 above); bodies up to 6× that + 8 KiB"`
	BodyTimeout      time.Duration `env:"BODY_TIMEOUT" envDefault:"10s" help:"a request whose headers and body have not all arrived this long after it began is 408"`
	InternalToken    string        `env:"INTERNAL_TOKEN" help:"bearer token readers send on '/internal/' routes (at least 16 characters); required unless 'LISTEN_ADDR' is a loopback address; 'make run' generates one"`
	Migrate          bool          `env:"MIGRATE" envDefault:"true" help:"apply pending migrations at start, under an advisory lock"`
	StartTimeout     time.Duration `env:"DB_START_TIMEOUT" envDefault:"30s" help:"how long the start waits for Postgres to run migrations"`
	WriteWorkers     int           `env:"WRITE_WORKERS" envDefault:"1" help:"concurrent batch transactions per writer for comments and votes, spread by topic (one more runs view batches and bans)"`
	WriteBatchMax    int           `env:"WRITE_BATCH_MAX" envDefault:"256" help:"most commands in one transaction"`
	WriteBatchLinger time.Duration `env:"WRITE_BATCH_LINGER" envDefault:"5ms" help:"under load (the last batch held several commands and ended this recently), how long a batch waits to gather 16 commands; a lone client never waits; 0 never"`
	IdempotencyTTL   time.Duration `env:"IDEMPOTENCY_TTL" envDefault:"24h" help:"how long Idempotency-Key responses are kept (at least 24h)"`
	ActivityKeep     time.Duration `env:"ACTIVITY_RETENTION" envDefault:"168h" help:"how long per-minute topic activity (hot topics) is kept"`
	PruneInterval    time.Duration `env:"PRUNE_INTERVAL" envDefault:"10m" help:"how often expired keys and activity are deleted"`
	CompactInterval  time.Duration `env:"COMPACT_INTERVAL" envDefault:"1m" help:"how often the view ranges of topics that have 'COMPACT_MIN_RANGES' of them are folded into per-comment counts (readers read fewer rows at start); 0 never"`
	CompactMinRanges int           `env:"COMPACT_MIN_RANGES" envDefault:"32" help:"how many view ranges a topic gathers before they are folded (and at least one per 8 of its comments)"`
	GOGC             string        `env:"GOGC" envDefault:"400" help:"Go's garbage collection target, as for any Go program ('off' or a percentage); the writer's default is 400, not Go's 100: its live heap is about 1 MB, so at 100 it collected up to 60 times a second under load (measured: about 30 µs of CPU a comment, docs/operations.md)"`
	TimerSlack       time.Duration `env:"TIMER_SLACK" envDefault:"1ms" help:"how late the kernel may end the process's sleeps, merging their wake-ups (Linux timer slack, set for every thread by running the binary again at start); at Linux's 50µs, Go's runtime monitor sleeping 20µs at a time made half of a lightly loaded writer's context switches (measured: the mixed run 10-13 % faster at 1ms, docs/operations.md); 0 keeps the slack the process was started with"`
	LogLevel         string        `env:"LOG_LEVEL" envDefault:"info" help:"debug, info, warn, error (JSON logs on stderr)"`
	LogFormat        string        `env:"LOG_FORMAT" envDefault:"json" help:"json (a line of JSON per event) or console (for a person at a terminal)"`
	DrainDelay       time.Duration `env:"DRAIN_DELAY" envDefault:"0s" help:"on SIGTERM, how long '/readyz' fails before the server stops taking requests, for a load balancer to notice; requests in flight always finish"`
	DebugAddr        string        `env:"DEBUG_ADDR" help:"serve Go's pprof on this address (e.g. '127.0.0.1:6061'); never routed by nginx"`
	MetricsAddr      string        `env:"METRICS_ADDR" help:"serve Prometheus metrics at '/metrics' on this address (e.g. '127.0.0.1:9181'); never routed by nginx; empty: none"`
	FaultRate        float64       `env:"FAULT_RATE" envDefault:"0" help:"share of public writes that fail on purpose, for drills (0 to 1): 503 before the write, 503 after it committed, or FAULT_DELAY first; never in production"`
	FaultDelay       time.Duration `env:"FAULT_DELAY" envDefault:"2s" help:"how long a write FAULT_RATE delays waits before it runs"`
}

// LoadConfig reads Config from the environment. An unparsable or out of
// range value is an error that names its variable.
func LoadConfig() (Config, error) {
	return platform.LoadConfig(func(cfg *Config, c *platform.Checks) {
		check := c.Check
		check(cfg.MaxContentBytes >= 1 && cfg.MaxContentBytes <= 16<<20, "MAX_CONTENT_BYTES", "must be between 1 and 16777216")
		check(cfg.BodyTimeout > 0, "BODY_TIMEOUT", "must be positive")
		c.CheckInternalToken(cfg.InternalToken, cfg.ListenAddr)
		check(cfg.WriteWorkers >= 1 && cfg.WriteWorkers <= 64, "WRITE_WORKERS", "must be between 1 and 64")
		check(cfg.WriteBatchMax >= 1 && cfg.WriteBatchMax <= 10000, "WRITE_BATCH_MAX", "must be between 1 and 10000")
		check(cfg.WriteBatchLinger >= 0 && cfg.WriteBatchLinger <= time.Second, "WRITE_BATCH_LINGER", "must be between 0 and 1s")
		check(cfg.IdempotencyTTL >= 24*time.Hour, "IDEMPOTENCY_TTL", "must be at least 24h")
		check(cfg.ActivityKeep >= time.Hour, "ACTIVITY_RETENTION", "must be at least 1h")
		check(cfg.PruneInterval > 0, "PRUNE_INTERVAL", "must be positive")
		check(cfg.CompactInterval >= 0, "COMPACT_INTERVAL", "must not be negative")
		check(cfg.CompactMinRanges >= 1, "COMPACT_MIN_RANGES", "must be at least 1")
		check(cfg.StartTimeout > 0, "DB_START_TIMEOUT", "must be positive")
		check(cfg.FaultRate >= 0 && cfg.FaultRate <= 1, "FAULT_RATE", "must be between 0 and 1")
		check(cfg.FaultDelay > 0, "FAULT_DELAY", "must be positive")
		c.Add(cfg.Store.Check()...)
		cfg.Auth.Check(c)
		c.Add(platform.CheckGOGC(cfg.GOGC))
		c.CheckTimerSlack(cfg.TimerSlack)
		c.Add(platform.CheckLevel(cfg.LogLevel))
		c.Add(platform.CheckFormat(cfg.LogFormat))
		check(cfg.DrainDelay >= 0 && cfg.DrainDelay <= time.Minute, "DRAIN_DELAY", "must be between 0 and 1m")
		c.Add(metrics.CheckAddr(cfg.MetricsAddr, cfg.ListenAddr))
	})
}

// MaxBodyBytes is the largest request body for MAX_CONTENT_BYTES; see
// comment.MaxBodyBytes, which nginx's limit uses too.
func (c Config) MaxBodyBytes() int64 {
	return comment.MaxBodyBytes(c.MaxContentBytes)
}
