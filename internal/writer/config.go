package writer

import (
	"time"

	"github.com/parley/parley/internal/platform"
	"github.com/parley/parley/internal/store"
)

// Config is the writer's configuration, read from the environment once at
// start. Every field names its variable and default.
type Config struct {
	Store           store.Config
	ListenAddr      string        `env:"LISTEN_ADDR" envDefault:"127.0.0.1:8081"`
	MaxContentBytes int           `env:"MAX_CONTENT_BYTES" envDefault:"65536"`
	Migrate         bool          `env:"MIGRATE" envDefault:"true"`
	StartTimeout    time.Duration `env:"DB_START_TIMEOUT" envDefault:"30s"`
	WriteWorkers    int           `env:"WRITE_WORKERS" envDefault:"2"`
	WriteBatchMax   int           `env:"WRITE_BATCH_MAX" envDefault:"256"`
	IdempotencyTTL  time.Duration `env:"IDEMPOTENCY_TTL" envDefault:"24h"`
	ActivityKeep    time.Duration `env:"ACTIVITY_RETENTION" envDefault:"168h"`
	PruneInterval   time.Duration `env:"PRUNE_INTERVAL" envDefault:"10m"`
	LogLevel        string        `env:"LOG_LEVEL" envDefault:"info"`
	DebugAddr       string        `env:"DEBUG_ADDR"`
}

// LoadConfig reads Config from the environment. An unparsable or out of
// range value is an error that names its variable.
func LoadConfig() (Config, error) {
	return platform.LoadConfig(func(cfg *Config, c *platform.Checks) {
		check := c.Check
		check(cfg.MaxContentBytes >= 1 && cfg.MaxContentBytes <= 16<<20, "MAX_CONTENT_BYTES", "must be between 1 and 16777216")
		check(cfg.WriteWorkers >= 1 && cfg.WriteWorkers <= 64, "WRITE_WORKERS", "must be between 1 and 64")
		check(cfg.WriteBatchMax >= 1 && cfg.WriteBatchMax <= 10000, "WRITE_BATCH_MAX", "must be between 1 and 10000")
		check(cfg.IdempotencyTTL >= 24*time.Hour, "IDEMPOTENCY_TTL", "must be at least 24h")
		check(cfg.ActivityKeep >= time.Hour, "ACTIVITY_RETENTION", "must be at least 1h")
		check(cfg.PruneInterval > 0, "PRUNE_INTERVAL", "must be positive")
		check(cfg.StartTimeout > 0, "DB_START_TIMEOUT", "must be positive")
		c.Add(cfg.Store.Check()...)
		c.Add(platform.CheckLevel(cfg.LogLevel))
	})
}

// MaxBodyBytes is the largest request body: content at its limit may grow
// up to six times when every byte is written as a \u00XX escape, plus room
// for the other fields.
func (c Config) MaxBodyBytes() int64 {
	return int64(c.MaxContentBytes)*6 + 8192
}
