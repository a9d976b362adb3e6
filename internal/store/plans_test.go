package store_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/parley/parley/internal/pgtest"
	"github.com/parley/parley/internal/store"
)

// TestPinnedPlans: on an empty database, where statistics would make a
// sequential scan look cheapest, the generic plan each keyed statement of
// a batch gets under the batch's settings finds rows through indexes, so
// the plan a connection keeps is still right when the tables hold
// millions of rows.
func TestPinnedPlans(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t, pgtest.NewDatabase(t))
	params := regexp.MustCompile(`\$(\d+)`)
	i := 0
	for name, q := range store.KeyedStatements {
		i++
		stmt := fmt.Sprint("pinned", i) // prepared statements outlive the transaction
		t.Run(name, func(t *testing.T) {
			tx, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			for _, set := range store.PinnedPlans {
				if _, err := tx.Exec(ctx, set); err != nil {
					t.Fatal(err)
				}
			}
			n := 0
			for _, m := range params.FindAllStringSubmatch(q, -1) {
				var k int
				fmt.Sscan(m[1], &k)
				n = max(n, k)
			}
			if _, err := tx.Exec(ctx, "PREPARE "+stmt+" AS "+q, pgx.QueryExecModeSimpleProtocol); err != nil {
				t.Fatal(err)
			}
			rows, _ := tx.Query(ctx, "EXPLAIN (COSTS OFF) EXECUTE "+stmt+"("+strings.TrimSuffix(strings.Repeat("NULL,", n), ",")+")", pgx.QueryExecModeSimpleProtocol)
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			plan := strings.Join(lines, "\n")
			for _, bad := range []string{"Seq Scan", "Hash Join", "Merge Join", "Hash Cond"} {
				if strings.Contains(plan, bad) {
					t.Errorf("the generic plan has a %s:\n%s", bad, plan)
				}
			}
			if !strings.Contains(plan, "Index") {
				t.Errorf("the generic plan uses no index:\n%s", plan)
			}
		})
	}
}
