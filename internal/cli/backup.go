package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley/parley/internal/store"
)

func init() {
	commands["export"] = command{"[-database URL] [FILE]",
		"write the whole store (topics, comments, votes, views, bans) as JSON Lines\n\n" + backupHelp, flagsExport}
	commands["import"] = command{"[-database URL] [FILE]",
		"restore an export into an empty database, all of it or nothing\n\n" + backupHelp, flagsImport}
}

const backupHelp = `Both talk to Postgres directly (-database, or $DATABASE_URL), not to the
site: export reads one consistent snapshot while the site runs; import wants
a migrated database with no topics (start a writer on it once, or run
'parley import' after 'writer' has migrated it), and sets the log position to
the export's. FILE is - (the default) for stdin or stdout. docs/operations.md
tells more.`

func flagsExport(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	db := fs.String("database", "", "Postgres URL; or $DATABASE_URL")
	return func(ctx context.Context, e *env, args []string) error {
		return withStore(ctx, e, *db, args, func(pool *pgxpool.Pool, file string) error {
			out, done, err := create(file, e.out)
			if err != nil {
				return err
			}
			began := time.Now()
			counts, err := store.Export(ctx, pool, out)
			if err := done(err); err != nil {
				return err
			}
			fmt.Fprintf(e.errOut, "exported %s in %s\n", countsText(counts), time.Since(began).Round(time.Millisecond))
			return nil
		})
	}
}

func flagsImport(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	db := fs.String("database", "", "Postgres URL; or $DATABASE_URL")
	return func(ctx context.Context, e *env, args []string) error {
		return withStore(ctx, e, *db, args, func(pool *pgxpool.Pool, file string) error {
			in := io.Reader(os.Stdin)
			if file != "-" {
				f, err := os.Open(file)
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			}
			began := time.Now()
			counts, err := store.Import(ctx, pool, in)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.errOut, "imported %s in %s\n", countsText(counts), time.Since(began).Round(time.Millisecond))
			return nil
		})
	}
}

// withStore opens a pool on the database the flag or $DATABASE_URL names
// and runs fn with it and the file argument ("-" when absent).
func withStore(ctx context.Context, e *env, db string, args []string, fn func(*pgxpool.Pool, string) error) error {
	if len(args) > 1 {
		return errUsage
	}
	file := "-"
	if len(args) == 1 {
		file = args[0]
	}
	if db == "" {
		db = e.getenv("DATABASE_URL")
	}
	if db == "" {
		return errors.New("no database: give -database or set DATABASE_URL")
	}
	// Export and import lift the statement timeout for their own long
	// statements; the others are short.
	pool, err := store.NewPool(store.Config{URL: db, MaxConns: 2, ConnectTimeout: 10 * time.Second, StatementTimeout: time.Minute}, "parley-backup")
	if err != nil {
		return err
	}
	defer pool.Close()
	return fn(pool, file)
}

// create opens file for writing, or stdout for "-"; done closes it. A
// file is written beside its name and renamed over it once complete, so
// an export that fails or is killed leaves no half file under the name
// (and an older backup there stays whole).
func create(file string, stdout io.Writer) (io.Writer, func(failed error) error, error) {
	if file == "-" {
		return stdout, func(error) error { return nil }, nil
	}
	f, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*.partial")
	if err != nil {
		return nil, nil, err
	}
	return f, func(failed error) error {
		err := errors.Join(failed, f.Sync(), f.Close())
		if err == nil {
			err = os.Rename(f.Name(), file)
		}
		if err != nil {
			_ = os.Remove(f.Name())
		}
		return err
	}, nil
}

// countsText is "3 topics, 40 comments, ..." in the backup's table order.
func countsText(c store.BackupCounts) string {
	names := make([]string, 0, len(c))
	for n := range c {
		names = append(names, n)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%d %s", c[n], n)
	}
	return strings.Join(parts, ", ")
}
