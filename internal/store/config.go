// Package store is Parley's Postgres: the pool, the schema migrations, the
// writer's appends (event plus current state in one transaction) and the
// readers' snapshot and tail of the event log.
package store

import (
	"errors"
	"time"
)

// Config is the database part of both services' configuration.
type Config struct {
	URL              string        `env:"DATABASE_URL" envDefault:"postgres://parley@127.0.0.1:5432/parley" help:"Postgres ('make run' sets it to its own cluster)"`
	MaxConns         int32         `env:"DB_MAX_CONNS" envDefault:"16" help:"pool size"`
	ConnectTimeout   time.Duration `env:"DB_CONNECT_TIMEOUT" envDefault:"2s" help:"a connect that takes longer fails (writer: 503)"`
	StatementTimeout time.Duration `env:"DB_STATEMENT_TIMEOUT" envDefault:"5s" help:"Postgres 'statement_timeout' (writer: 524 when it fires)"`
}

// Check reports the values out of range, naming their variables.
func (c Config) Check() []error {
	var errs []error
	if c.MaxConns < 1 {
		errs = append(errs, errors.New("DB_MAX_CONNS must be at least 1"))
	}
	if c.ConnectTimeout <= 0 {
		errs = append(errs, errors.New("DB_CONNECT_TIMEOUT must be positive"))
	}
	if c.StatementTimeout <= 0 {
		errs = append(errs, errors.New("DB_STATEMENT_TIMEOUT must be positive"))
	}
	return errs
}
