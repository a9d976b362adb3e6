package store

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/parley/parley/internal/comment"
)

// TestFoldRanges: for random trees and ranges, each comment's folded count
// is the sum over the ranges that cover it, as the readers count them
// (tree order between the ends, ids up to max id), by brute force.
func TestFoldRanges(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 5))
		paths := []comment.Path{comment.RootPath}
		for id := int32(1); id < int32(1+rng.IntN(200)); id++ {
			parent := paths[rng.IntN(len(paths))]
			paths = append(paths, parent.Child(id))
		}
		var rs []comment.ViewRange
		for range rng.IntN(60) {
			a, b := paths[rng.IntN(len(paths))], paths[rng.IntN(len(paths))]
			if a.Compare(b) > 0 {
				a, b = b, a
			}
			rs = append(rs, comment.ViewRange{First: a, Last: b, MaxID: int32(rng.IntN(len(paths) + 5)), Count: int64(1 + rng.IntN(1000))})
		}
		cs := make([]pathID, len(paths))
		for i, p := range paths {
			cs[i] = pathID{id: p.ID(), path: p}
		}
		rng.Shuffle(len(cs), func(i, j int) { cs[i], cs[j] = cs[j], cs[i] })
		ids, counts := foldRanges(cs, rs)
		got := map[int32]int64{}
		for i, id := range ids {
			got[id] = counts[i]
		}
		for _, p := range paths {
			var want int64
			for _, r := range rs {
				if r.First.Compare(p) <= 0 && p.Compare(r.Last) <= 0 && p.ID() <= r.MaxID {
					want += r.Count
				}
			}
			if got[p.ID()] != want {
				t.Fatalf("seed %d: comment %s folded %d, want %d", seed, p, got[p.ID()], want)
			}
		}
	}
	// Totals past the largest bigint saturate, as stored sums do.
	cs := []pathID{{0, comment.RootPath}}
	rs := []comment.ViewRange{{First: comment.RootPath, Last: comment.RootPath, Count: math.MaxInt64}, {First: comment.RootPath, Last: comment.RootPath, Count: 5}}
	if _, counts := foldRanges(cs, rs); len(counts) != 1 || counts[0] != math.MaxInt64 {
		t.Fatalf("saturation: %v", counts)
	}
}
