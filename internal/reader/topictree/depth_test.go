package topictree

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
)

// renderWithin renders a depth-bounded page with a pager, chunk comments at
// a time.
func renderWithin(tb testing.TB, tr *Tree, o *Order, parent, after comment.Path, limit, depth, chunk int) Page {
	tb.Helper()
	pg, err := tr.PagerWithin(o, parent, after, limit, depth)
	if err != nil {
		tb.Fatal(err)
	}
	for !pg.Next(chunk, math.MaxInt) {
	}
	return pg.Page()
}

// TestDepthPages: for random trees, in old order and every sort, for the
// whole topic and subtrees, with depth bounds and paging:
//
//	(a) the pages joined are the unbounded walk without the comments more
//	    than depth levels below the top, in the same order;
//	(b) each page's runs are exactly its comments (views count no comment
//	    the page left out);
//	(c) rendering in chunks gives the same page;
//	(d) every comment's reply_count is its number of direct replies.
func TestDepthPages(t *testing.T) {
	for seed := range uint64(3) {
		rng := rand.New(rand.NewPCG(seed, 91))
		tr, paths := randomTree(t, rng, 300)
		maxID := int32(tr.Len() - 1)
		for _, n := range tr.nodes {
			k := int32(0)
			for c := n.firstChild; c != nil; c = c.next {
				k++
			}
			if n.Replies() != k {
				t.Fatalf("%s: reply_count %d, %d replies", n.Path(), n.Replies(), k)
			}
		}
		orders := []*Order{nil}
		for _, s := range allSorts {
			orders = append(orders, tr.NewOrder(s))
		}
		for _, o := range orders {
			s := SortOld
			if o != nil {
				s = o.Sort()
			}
			tops := []comment.Path{comment.RootPath}
			for range 4 {
				tops = append(tops, paths[rng.IntN(len(paths))])
			}
			for _, parent := range tops {
				top := tr.Find(parent)
				for _, depth := range []int{0, 1, 2, 3} {
					var want []*Node
					for _, n := range refWalk(s, top, maxID) {
						if level(n)-level(top) <= int32(depth) {
							want = append(want, n)
						}
					}
					for _, limit := range []int{0, 1, 7, 50} {
						t.Run(fmt.Sprintf("seed%d/%s/%s/depth%d/limit%d", seed, s, parent, depth, limit), func(t *testing.T) {
							var joined []*Node
							var after comment.Path
							for {
								pg := renderWithin(t, tr, o, parent, after, limit, depth, math.MaxInt)
								nodes := pageNodes(t, tr, pg)
								checkRuns(t, pg, nodes, maxID)
								samePage(t, "in chunks of 3", renderWithin(t, tr, o, parent, after, limit, depth, 3), pg)
								joined = append(joined, nodes...)
								if !pg.More {
									break
								}
								p, err := comment.ParsePath(pg.Last.Path())
								if err != nil {
									t.Fatal(err)
								}
								after = p
							}
							if !slices.Equal(joined, want) {
								t.Fatalf("pages joined:\n%s\nwant:\n%s", pathsOf(joined), pathsOf(want))
							}
						})
					}
				}
			}
		}
	}
}

// TestDepthAfterTooDeep: a page cannot start after a comment its depth
// leaves out.
func TestDepthAfterTooDeep(t *testing.T) {
	tr := New()
	for i, p := range []comment.Path{{0}, {0, 1}, {0, 1, 2}} {
		if err := tr.Apply(created(p, "u", "c", t0), nil); err != nil {
			t.Fatalf("%d: %v", i, err)
		}
	}
	if _, err := tr.PagerWithin(nil, comment.RootPath, comment.Path{0, 1, 2}, 1, 1); !errors.Is(err, errs.Invalid) {
		t.Fatalf("after below the depth: %v, want invalid", err)
	}
	if _, err := tr.PagerWithin(nil, comment.RootPath, comment.Path{0, 1}, 1, 1); err != nil {
		t.Fatalf("after at the depth: %v", err)
	}
}
