package store

import (
	"cmp"
	"context"
	"math"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/parley/parley/internal/comment"
)

// Compaction of views (issue 13): view_ranges gains a row at almost every
// flush of an active topic, since a range's key holds the topic's newest
// id, and a loading reader walks every row. CompactViews folds a topic's
// ranges into its comments' own counts (comments.views) in one
// transaction: a snapshot sees the ranges or the counts, never both or
// neither, so no view count a reader shows changes. It appends no event:
// readers that hold the topic already count the same totals.

const (
	// A fold reads every comment of its topic, so a topic may wait for
	// ranges in proportion to its size: at least one for every $2
	// comments (0: no such rule), which bounds the work to a few comments
	// read per range removed. Folding every topic with minRanges every
	// minute grew with the topics: in a soak of 200 topics taking ~600
	// comments a minute between them, the fold's read of a topic went from
	// 2 to 6 ms in six minutes.
	qTopicsToCompact = `SELECT r.topic_id FROM view_ranges r JOIN topics t USING (topic_id)
		GROUP BY r.topic_id, t.next_comment_id
		HAVING count(*) >= greatest($1, t.next_comment_id / nullif($2, 0))
		ORDER BY count(*) DESC LIMIT $3`
	// Deleting locks the rows taken: a flush that adds to one of them waits,
	// then finds it gone and inserts a new one, which the next compaction
	// takes. No view is lost or counted twice.
	qTakeRanges  = `DELETE FROM view_ranges WHERE topic_id = $1 RETURNING first_path, last_path, max_id, views`
	qTopicPaths  = `SELECT comment_id, path FROM comments WHERE topic_id = $1`
	qFoldedViews = `UPDATE comments c SET views = LEAST(c.views::numeric + x.n, ` + maxBigint + `)::bigint
		FROM unnest($2::integer[], $3::bigint[]) AS x(id, n) WHERE c.topic_id = $1 AND c.comment_id = x.id`
)

// CompactViews folds the view ranges of up to maxTopics topics that have
// at least minRanges of them, and at least one for every perComments of
// their comments (0: whatever their size), one transaction per topic, and
// returns how many topics and ranges it folded.
func (a *Appender) CompactViews(ctx context.Context, minRanges, perComments, maxTopics int) (topics, ranges int64, err error) {
	qctx, cancel := context.WithTimeout(ctx, a.timeout)
	rows, _ := a.pool.Query(qctx, qTopicsToCompact, minRanges, perComments, maxTopics)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[[16]byte])
	cancel()
	if err != nil {
		return 0, 0, translate(err)
	}
	for _, id := range ids {
		n, err := a.compactTopic(ctx, id)
		if err != nil {
			return topics, ranges, translate(err)
		}
		topics, ranges = topics+1, ranges+n
	}
	return topics, ranges, nil
}

func (a *Appender) compactTopic(ctx context.Context, topic [16]byte) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	var taken int64
	err := pgx.BeginFunc(ctx, a.pool, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, qTakeRanges, topic)
		var rs []comment.ViewRange
		var first, last []int32
		var r comment.ViewRange
		_, err := pgx.ForEachRow(rows, []any{&first, &last, &r.MaxID, &r.Count}, func() error {
			r.First, r.Last = first, last
			rs = append(rs, r)
			first, last = nil, nil
			return nil
		})
		if err != nil || len(rs) == 0 {
			return err
		}
		taken = int64(len(rs))
		rows, _ = tx.Query(ctx, qTopicPaths, topic)
		var cs []pathID
		var id int32
		var path []int32
		_, err = pgx.ForEachRow(rows, []any{&id, &path}, func() error {
			cs = append(cs, pathID{id: id, path: path})
			path = nil
			return nil
		})
		if err != nil {
			return err
		}
		cids, counts := foldRanges(cs, rs)
		_, err = tx.Exec(ctx, qFoldedViews, topic, cids, counts)
		return err
	})
	return taken, err
}

// pathID is a comment's id and path.
type pathID struct {
	id   int32
	path comment.Path
}

// foldRanges gives each comment the views of the ranges covering it: those
// whose first and last paths enclose its path in tree order (the paths'
// lexicographic order) and whose max id is at least its id. It returns the
// comments with views and their counts, which saturate as stored sums do.
// Offline, in O((C + R) log C): comments by descending id, each range
// added to a Fenwick tree over tree-order positions when the walk reaches
// ids it covers.
func foldRanges(cs []pathID, rs []comment.ViewRange) ([]int32, []int64) {
	slices.SortFunc(cs, func(a, b pathID) int { return a.path.Compare(b.path) })
	pos := func(p comment.Path, after bool) int { // first position with path ≥ p (> p when after)
		i, found := slices.BinarySearchFunc(cs, p, func(c pathID, p comment.Path) int { return c.path.Compare(p) })
		if found && after {
			i++
		}
		return i
	}
	type span struct {
		lo, hi int // positions [lo, hi)
		maxID  int32
		n      int64
	}
	spans := make([]span, 0, len(rs))
	for _, r := range rs {
		if lo, hi := pos(r.First, false), pos(r.Last, true); lo < hi {
			spans = append(spans, span{lo, hi, r.MaxID, r.Count})
		}
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(b.maxID, a.maxID) })
	byID := make([]int, len(cs)) // indexes into cs, by descending id
	for i := range byID {
		byID[i] = i
	}
	slices.SortFunc(byID, func(a, b int) int { return cmp.Compare(cs[b].id, cs[a].id) })
	// Differences in a Fenwick tree: a point's total is the prefix sum up
	// to it. int64 sums wrap on overflow and stay exact modulo 2^64, so a
	// total that fits comes out right; float64 sums beside them tell a
	// total that would not fit, which saturates as stored sums do.
	fen, approx := make([]int64, len(cs)+1), make([]float64, len(cs)+1)
	add := func(i int, v int64) {
		for i++; i < len(fen); i += i & -i {
			fen[i] += v
			approx[i] += float64(v)
		}
	}
	at := func(i int) int64 {
		var s int64
		var f float64
		for i++; i > 0; i -= i & -i {
			s += fen[i]
			f += approx[i]
		}
		if f > 9e18 {
			return math.MaxInt64
		}
		return s
	}
	var ids []int32
	var counts []int64
	next := 0
	for _, i := range byID {
		for ; next < len(spans) && spans[next].maxID >= cs[i].id; next++ {
			add(spans[next].lo, spans[next].n)
			add(spans[next].hi, -spans[next].n)
		}
		if n := at(i); n > 0 {
			ids, counts = append(ids, cs[i].id), append(counts, n)
		}
	}
	return ids, counts
}
