package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/parley/parley/internal/pgtest"
	"github.com/parley/parley/internal/store"
)

// TestPoolSettings: every connection carries the statement timeout and
// plans statements for their parameters (see NewPool for why).
func TestPoolSettings(t *testing.T) {
	url := pgtest.NewDatabase(t)
	cfg := pgtest.StoreConfig(url)
	cfg.StatementTimeout = 1500 * time.Millisecond
	pool, err := store.NewPool(cfg, "parley-test")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var timeout, planMode, app string
	err = pool.QueryRow(context.Background(),
		`SELECT current_setting('statement_timeout'), current_setting('plan_cache_mode'), current_setting('application_name')`).
		Scan(&timeout, &planMode, &app)
	if err != nil {
		t.Fatal(err)
	}
	if timeout != "1500ms" || planMode != "force_custom_plan" || app != "parley-test" {
		t.Fatalf("statement_timeout %s, plan_cache_mode %s, application_name %s", timeout, planMode, app)
	}
}
