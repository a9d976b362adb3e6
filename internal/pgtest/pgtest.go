// Package pgtest gives integration tests a fresh, migrated Postgres
// database each, on the server DATABASE_URL points at (`make test` starts a
// throwaway cluster and sets it).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley/parley/internal/store"
)

// URL returns the admin URL the tests run against. Without DATABASE_URL
// the test is skipped, loudly, unless PARLEY_REQUIRE_DB is set (as `make
// test` does), in which case it fails: CI never skips a database test.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("DATABASE_URL")
	if u == "" {
		if os.Getenv("PARLEY_REQUIRE_DB") != "" {
			t.Fatal("DATABASE_URL is not set but PARLEY_REQUIRE_DB is")
		}
		t.Skip("SKIPPED: needs Postgres; run `make test`, or set DATABASE_URL")
	}
	return u
}

// NewDatabase creates a database with the schema applied and returns its
// URL. It is dropped when the test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin := URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var buf [6]byte
	_, _ = rand.Read(buf[:])
	name := "test_" + hex.EncodeToString(buf[:])

	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to DATABASE_URL: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("drop database: %v", err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database: %v", err)
		}
	})

	dbURL := withDatabase(t, admin, name)
	pool := Pool(t, dbURL)
	if _, err := store.Migrate(ctx, pool); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return dbURL
}

// Pool opens a pool on url, closed when the test ends.
func Pool(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatalf("pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// withDatabase swaps the database name in a postgres:// URL.
func withDatabase(t testing.TB, raw, db string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("DATABASE_URL: %v", err)
	}
	u.Path = "/" + db
	return u.String()
}

// StoreConfig is a store.Config for url with test-friendly timeouts.
func StoreConfig(url string) store.Config {
	return store.Config{URL: url, MaxConns: 8, ConnectTimeout: 2 * time.Second, StatementTimeout: 5 * time.Second}
}
