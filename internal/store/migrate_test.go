package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/parley/parley/internal/pgtest"
	"github.com/parley/parley/internal/store"
)

// TestMigrateConcurrently: writers starting together apply the schema once;
// the later ones find nothing to do.
func TestMigrateConcurrently(t *testing.T) {
	url := pgtest.NewDatabase(t) // already migrated once
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pool := pgtest.Pool(t, url)
			applied, err := store.Migrate(context.Background(), pool)
			if err != nil || len(applied) != 0 {
				t.Errorf("applied %v, %v", applied, err)
			}
		}()
	}
	wg.Wait()
}
