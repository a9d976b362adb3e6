// Package platform holds the process-level pieces every binary wires the
// same way: the zap logger and fx's own logging through it, configuration
// from the environment and its documentation, servers' lifecycles, retries
// with backoff, owners of background goroutines, and small checks of
// secrets and addresses. It imports no domain package.
package platform

import (
	"context"
	"fmt"
	"os"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// LogConfig is what the logger needs from a service's configuration.
type LogConfig struct {
	Level   string // LOG_LEVEL: debug, info, warn or error
	Format  string // LOG_FORMAT: json (the default) or console
	Service string // the binary's name, on every line
}

// CheckFormat validates LOG_FORMAT.
func CheckFormat(format string) error {
	if format != "json" && format != "console" {
		return fmt.Errorf("LOG_FORMAT must be json or console")
	}
	return nil
}

// CheckLevel validates LOG_LEVEL.
func CheckLevel(level string) error {
	if _, err := zapcore.ParseLevel(level); err != nil {
		return fmt.Errorf("LOG_LEVEL must be debug, info, warn or error")
	}
	return nil
}

// NewLogger builds the logger: JSON lines (or, with LOG_FORMAT=console,
// lines for a person at a terminal) at the configured level, on stderr.
// Lines carry no stack traces: an error says what went wrong, and the
// conditions a service expects (a port in use, Postgres away) are not
// bugs; a panic still prints Go's own.
func NewLogger(cfg LogConfig) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(cfg.Level)
	if err != nil {
		return nil, fmt.Errorf("LOG_LEVEL: %w", err)
	}
	zc := zap.NewProductionConfig()
	if cfg.Format == "console" {
		zc.Encoding = "console"
		zc.EncoderConfig.EncodeLevel = zapcore.CapitalLevelEncoder
	} else if cfg.Format != "" && cfg.Format != "json" {
		return nil, CheckFormat(cfg.Format)
	}
	zc.Level = zap.NewAtomicLevelAt(lvl)
	zc.EncoderConfig.TimeKey = "time"
	zc.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	zc.DisableStacktrace = true
	zc.Sampling = nil
	log, err := zc.Build()
	if err != nil {
		return nil, err
	}
	return log.With(zap.String("service", cfg.Service)), nil
}

// Module provides the logger (from a LogConfig the service module provides),
// routes fx's own events through it at debug level (its failures too: Run
// logs a failed start once, in its own words), and flushes it on stop.
// It is a plain fx.Options, not an fx.Module, because fx applies a module's
// WithLogger to that module's events only.
var Module = fx.Options(
	fx.Provide(NewLogger),
	fx.WithLogger(func(log *zap.Logger) fxevent.Logger {
		l := &fxevent.ZapLogger{Logger: log.Named("fx")}
		l.UseLogLevel(zapcore.DebugLevel)
		l.UseErrorLevel(zapcore.DebugLevel)
		return l
	}),
	fx.Invoke(func(lc fx.Lifecycle, log *zap.Logger) {
		lc.Append(fx.StopHook(func(context.Context) error {
			_ = log.Sync() // fails harmlessly on stderr being a terminal
			return nil
		}))
	}),
)

// Run builds the app from opts, starts it, runs it until SIGINT or SIGTERM
// and stops it, as fx.App.Run does, but says why it could not start in one
// line (a port in use, Postgres away past its timeout) instead of fx's
// three, and exits 1.
func Run(opts ...fx.Option) {
	var log *zap.Logger
	app := fx.New(append(opts, fx.Populate(&log))...)
	if err := app.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	startCtx, cancel := context.WithTimeout(context.Background(), app.StartTimeout())
	err := app.Start(startCtx)
	cancel()
	if err != nil {
		log.Error("could not start", zap.Error(err))
		_ = log.Sync()
		os.Exit(1)
	}
	sig := <-app.Wait()
	stopCtx, cancel := context.WithTimeout(context.Background(), app.StopTimeout())
	defer cancel()
	if err := app.Stop(stopCtx); err != nil {
		log.Error("could not stop cleanly", zap.Error(err))
		_ = log.Sync()
		os.Exit(1)
	}
	os.Exit(sig.ExitCode)
}
