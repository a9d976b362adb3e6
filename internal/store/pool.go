package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/puddle/v2"

	"github.com/parley/parley/internal/errs"
)

// NewPool makes a pool whose every connection carries the statement timeout
// and whose connects give up after the connect timeout, so no call into
// Postgres can wait longer than those two bounds. It does not connect yet:
// a service may start while Postgres is away and recover when it returns.
func NewPool(cfg Config, name string) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	if err := errors.Join(cfg.Check()...); err != nil {
		return nil, err
	}
	pc.MaxConns = cfg.MaxConns
	pc.ConnConfig.ConnectTimeout = cfg.ConnectTimeout
	pc.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(cfg.StatementTimeout.Milliseconds(), 10)
	pc.ConnConfig.RuntimeParams["application_name"] = name
	// Plan every statement for its actual parameters. pgx prepares
	// statements, and Postgres would otherwise settle on a generic plan after
	// five runs, costed with the statistics of that moment: on a young
	// database, a sequential scan of a table that then grows to millions of
	// rows (seen here: writes decayed from 7,000/s to 1,200/s in a minute).
	// The writer's batches pin generic plans to index lookups in their
	// transactions instead (pinPlans).
	pc.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	// A connection that sat idle across a Postgres restart is dead; checking
	// before use turns that into a fresh connect instead of a failed request.
	pc.HealthCheckPeriod = 5 * time.Second
	return pgxpool.NewWithConfig(context.Background(), pc)
}

// QueryTimeout is how long the services let one database call run before
// giving up on their side: the server's statement timeout plus a connect
// and some slack, so that the server's own timeout normally fires first.
func (c Config) QueryTimeout() time.Duration {
	return c.StatementTimeout + c.ConnectTimeout + time.Second
}

// translate turns driver errors into the domain's unavailable and timeout
// kinds. Anything else (a bug such as bad SQL) passes unchanged, and the HTTP
// edge logs it and answers 500.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == pgerrcode.QueryCanceled, pgErr.Code == pgerrcode.LockNotAvailable:
			return errs.Timeout.Wrap("storage timed out", err)
		case pgerrcode.IsConnectionException(pgErr.Code),
			pgErr.Code == pgerrcode.AdminShutdown, pgErr.Code == pgerrcode.CrashShutdown,
			pgErr.Code == pgerrcode.CannotConnectNow, pgErr.Code == pgerrcode.TooManyConnections,
			pgErr.Code == pgerrcode.ReadOnlySQLTransaction:
			return errs.Unavailable.Wrap("storage unavailable", err)
		}
		return err
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return errs.Unavailable.Wrap("storage unavailable", err)
	}
	if errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return errs.Timeout.Wrap("storage timed out", err)
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || pgconn.SafeToRetry(err) {
		return errs.Unavailable.Wrap("storage unavailable", err)
	}
	if errors.Is(err, puddle.ErrClosedPool) {
		return errs.Unavailable.Wrap("storage unavailable", err)
	}
	return err
}
