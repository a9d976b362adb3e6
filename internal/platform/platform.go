// Package platform holds the process-level pieces every binary wires the
// same way: the zap logger and fx's own logging through it, configuration
// from the environment and its documentation, servers' lifecycles, retries
// with backoff, owners of background goroutines, and small checks of
// secrets and addresses. It imports no domain package.
package platform

import (
	"context"
	"fmt"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// LogConfig is what the logger needs from a service's configuration.
type LogConfig struct {
	Level   string // LOG_LEVEL: debug, info, warn or error
	Service string // the binary's name, on every line
}

// CheckLevel validates LOG_LEVEL.
func CheckLevel(level string) error {
	if _, err := zapcore.ParseLevel(level); err != nil {
		return fmt.Errorf("LOG_LEVEL must be debug, info, warn or error")
	}
	return nil
}

// NewLogger builds a JSON production logger at the configured level.
func NewLogger(cfg LogConfig) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(cfg.Level)
	if err != nil {
		return nil, fmt.Errorf("LOG_LEVEL: %w", err)
	}
	zc := zap.NewProductionConfig()
	zc.Level = zap.NewAtomicLevelAt(lvl)
	zc.EncoderConfig.TimeKey = "time"
	zc.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	zc.Sampling = nil
	log, err := zc.Build()
	if err != nil {
		return nil, err
	}
	return log.With(zap.String("service", cfg.Service)), nil
}

// Module provides the logger (from a LogConfig the service module provides),
// routes fx's own events through it at debug level, and flushes it on stop.
// It is a plain fx.Options, not an fx.Module, because fx applies a module's
// WithLogger to that module's events only.
var Module = fx.Options(
	fx.Provide(NewLogger),
	fx.WithLogger(func(log *zap.Logger) fxevent.Logger {
		l := &fxevent.ZapLogger{Logger: log.Named("fx")}
		l.UseLogLevel(zapcore.DebugLevel)
		return l
	}),
	fx.Invoke(func(lc fx.Lifecycle, log *zap.Logger) {
		lc.Append(fx.StopHook(func(context.Context) error {
			_ = log.Sync() // fails harmlessly on stderr being a terminal
			return nil
		}))
	}),
)
