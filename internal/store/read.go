package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/parley/parley/internal/comment"
)

// Reader reads what the read side needs: consistent snapshots of the
// current state with the log position they correspond to, and the log
// after a position.
type Reader struct {
	pool    *pgxpool.Pool
	timeout time.Duration
}

// NewReader returns a Reader on pool (a replica's pool works too).
func NewReader(pool *pgxpool.Pool, cfg Config) *Reader {
	return &Reader{pool: pool, timeout: cfg.QueryTimeout()}
}

// Snap is an open snapshot: every read through it sees the state exactly as
// of Position, because each event and its state change commit together.
type Snap struct {
	tx       pgx.Tx
	pool     *pgxpool.Pool
	Position int64
}

// Snapshot runs fn in a REPEATABLE READ, READ ONLY transaction whose first
// statement reads the log head; that statement fixes the snapshot, so the
// state fn reads is exactly "all events up to Position". fn's reads are not
// bounded by the query timeout: a start-up load of millions of rows takes
// what it takes, and ctx bounds it.
func (r *Reader) Snapshot(ctx context.Context, fn func(*Snap) error) error {
	err := snapshotTx(ctx, r.pool, "", func(tx pgx.Tx) error {
		s := &Snap{tx: tx, pool: r.pool}
		if err := tx.QueryRow(ctx, `SELECT position FROM log_head`).Scan(&s.Position); err != nil {
			return err
		}
		return fn(s)
	})
	return translate(err)
}

// snapshotTx runs fn in a REPEATABLE READ, READ ONLY transaction without a
// statement timeout (ctx bounds it), on the exported snapshot imported
// when imported is not "".
func snapshotTx(ctx context.Context, pool *pgxpool.Pool, imported string, fn func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if imported != "" { // must come first in the transaction
			if _, err := tx.Exec(ctx, "SET TRANSACTION SNAPSHOT '"+imported+"'"); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, "SET LOCAL statement_timeout = 0"); err != nil {
			return err
		}
		return fn(tx)
	})
}

// SummaryRow is a topic with its root comment.
type SummaryRow struct {
	Topic        comment.TopicID
	Key          string // the site's own key (SPEC §13); "" for none
	Count        int32  // comments ever posted, deleted ones included
	LastActivity time.Time
	User         string // the root's
	Content      string
	Deleted      bool
	Create       time.Time
	Update       time.Time
	Up, Down     int32 // the root's votes
}

// TreeRow is one comment as a reader loads it. Path, User and Content point
// into the driver's buffer: they are valid only during the callback that
// receives the row (copy what you keep), which spares an allocation and a
// copy of every comment's text during a load.
type TreeRow struct {
	Topic   comment.TopicID
	ID      int32
	Parent  int32  // -1 for the root
	Path    []byte // "0/4/17"
	User    []byte
	Content []byte
	Deleted bool
	Create  time.Time
	Update  time.Time
	Up      int32
	Down    int32
	Views   int64 // folded out of view ranges (CompactViews); the ranges add the rest
}

// ActivityRow is one topic's activity in one minute.
type ActivityRow struct {
	Topic    comment.TopicID
	Bucket   time.Time
	Comments int32
	Views    int64
	Votes    int32
}

// RangeRow is an aggregated view range (comment.ViewRange).
type RangeRow = comment.ViewRange

// UserRow places a live comment in its user's list, and in the rankings
// of voted comments.
type UserRow struct {
	User     string
	Topic    comment.TopicID
	ID       int32
	Create   time.Time
	Update   time.Time
	Up, Down int32
}

// VoteRow is a user's vote in force. User points into the driver's
// buffer, valid only during the callback that receives the row.
type VoteRow struct {
	User  []byte
	Topic comment.TopicID
	ID    int32
	Value int8
	At    time.Time
}

const (
	qSummaries = `SELECT t.topic_id, coalesce(t.topic_key, ''), t.next_comment_id, t.last_activity,
			c.user_name, c.content, c.deleted, c.create_time, c.update_time, c.up, c.down
		FROM topics t JOIN comments c ON c.topic_id = t.topic_id AND c.comment_id = 0
		ORDER BY t.last_activity DESC, t.topic_id`
	qActivityRows = `SELECT topic_id, bucket, comments, views, votes FROM topic_activity ORDER BY topic_id, bucket`
	// No ORDER BY: sorting a million rows would cost Postgres more than
	// the reader spends linking them in id order itself.
	qTreeColumns = `SELECT topic_id, comment_id, array_to_string(path, '/'), coalesce(path[cardinality(path) - 1], -1),
			user_name, content, deleted, create_time, update_time, up, down, views FROM comments`
	qTreesOf   = qTreeColumns + ` WHERE topic_id = ANY($1)`
	qRangesOf  = `SELECT topic_id, first_path, last_path, max_id, views FROM view_ranges WHERE topic_id = ANY($1)`
	qAllRanges = `SELECT topic_id, first_path, last_path, max_id, views FROM view_ranges`
	// The sum saturates as the writer's and the readers' own sums do.
	qRootViews = `SELECT c.topic_id, LEAST(c.views + coalesce(r.n, 0), ` + maxBigint + `)::bigint
		FROM comments c LEFT JOIN (SELECT topic_id, sum(views) AS n FROM view_ranges WHERE first_path = '{0}' GROUP BY topic_id) r USING (topic_id)
		WHERE c.comment_id = 0 AND (c.views > 0 OR r.n IS NOT NULL)`
	qUserEntries  = `SELECT user_name, topic_id, comment_id, create_time, update_time, up, down FROM comments WHERE topic_id = ANY($1) AND NOT deleted`
	qVotes        = `SELECT user_id, topic_id, comment_id, value, at FROM votes`
	qEventsAfter  = `SELECT position, kind, topic_id, at, payload FROM events WHERE position > $1 ORDER BY position LIMIT $2`
	qHeadPosition = `SELECT position FROM log_head`
)

// Alongside runs fn on another connection, in a transaction that shares
// this snapshot (pg_export_snapshot), so that a load reads two tables at
// once and sees one state. fn's Snap is fn's alone.
func (s *Snap) Alongside(ctx context.Context, fn func(*Snap) error) (wait func() error, err error) {
	var id string
	if err := s.tx.QueryRow(ctx, `SELECT pg_export_snapshot()`).Scan(&id); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() {
		done <- snapshotTx(ctx, s.pool, id, func(tx pgx.Tx) error {
			return fn(&Snap{tx: tx, pool: s.pool, Position: s.Position})
		})
	}()
	return func() error { return translate(<-done) }, nil
}

// AllTreesParallel streams every comment of every topic, split into n
// parts read at once, each on its own connection in a transaction that
// shares this snapshot (pg_export_snapshot), each part by its own call of
// fn on its own goroutine. The parts are ranges of the table's pages
// (a TID range scan), so each backend reads only its share.
func (s *Snap) AllTreesParallel(ctx context.Context, n int, fn func(part int, r *TreeRow) error) error {
	var id string
	var pages int64
	err := s.tx.QueryRow(ctx, `SELECT pg_export_snapshot(),
		(pg_relation_size('comments') / current_setting('block_size')::bigint) + 1`).Scan(&id, &pages)
	if err != nil {
		return err
	}
	per := pages/int64(n) + 1
	g, gctx := errgroup.WithContext(ctx)
	for part := range n {
		// The last part has no upper bound: it takes whatever pages the
		// table grew by after pg_relation_size was read.
		q, args := qTreeColumns+` WHERE ctid >= $1::tid`, []any{fmt.Sprintf("(%d,0)", int64(part)*per)}
		if part < n-1 {
			q += ` AND ctid < $2::tid`
			args = append(args, fmt.Sprintf("(%d,0)", int64(part+1)*per))
		}
		g.Go(func() error {
			return snapshotTx(gctx, s.pool, id, func(tx pgx.Tx) error {
				rows, _ := tx.Query(gctx, q, args...)
				return scanTrees(rows, func(r *TreeRow) error { return fn(part, r) })
			})
		})
	}
	return g.Wait()
}

// Summaries streams every topic with its root, most recently active first.
func (s *Snap) Summaries(ctx context.Context, fn func(*SummaryRow) error) error {
	rows, _ := s.tx.Query(ctx, qSummaries)
	var r SummaryRow
	var id [16]byte
	_, err := pgx.ForEachRow(rows, []any{&id, &r.Key, &r.Count, &r.LastActivity,
		&r.User, &r.Content, &r.Deleted, &r.Create, &r.Update, &r.Up, &r.Down}, func() error {
		r.Topic = id
		return fn(&r)
	})
	return err
}

// Activity streams the activity buckets, by topic and time.
func (s *Snap) Activity(ctx context.Context, fn func(*ActivityRow) error) error {
	rows, _ := s.tx.Query(ctx, qActivityRows)
	var r ActivityRow
	var id [16]byte
	_, err := pgx.ForEachRow(rows, []any{&id, &r.Bucket, &r.Comments, &r.Views, &r.Votes}, func() error {
		r.Topic = id
		return fn(&r)
	})
	return err
}

// BanRow is a ban as the readers list it.
type BanRow struct {
	User   string
	Until  *time.Time // nil: for good
	Reason string
	By     string
	At     time.Time
}

const qBans = `SELECT user_id, until, reason, banned_by, at FROM bans`

// Bans streams every stored ban, lifted and expired ones included (a
// reader filters by time as it answers).
func (s *Snap) Bans(ctx context.Context, fn func(*BanRow) error) error {
	rows, _ := s.tx.Query(ctx, qBans)
	var r BanRow
	_, err := pgx.ForEachRow(rows, []any{&r.User, &r.Until, &r.Reason, &r.By, &r.At}, func() error {
		return fn(&r)
	})
	return err
}

// Trees streams the comments of the given topics, in
// no particular order.
func (s *Snap) Trees(ctx context.Context, topics []comment.TopicID, fn func(*TreeRow) error) error {
	rows, _ := s.tx.Query(ctx, qTreesOf, uuids(topics))
	return scanTrees(rows, fn)
}

func scanTrees(rows pgx.Rows, fn func(*TreeRow) error) error {
	var r TreeRow
	var id [16]byte
	var path, user, content pgtype.DriverBytes
	_, err := pgx.ForEachRow(rows, []any{&id, &r.ID, &path, &r.Parent, &user, &content, &r.Deleted, &r.Create, &r.Update, &r.Up, &r.Down, &r.Views}, func() error {
		r.Topic, r.Path, r.User, r.Content = id, path, user, content
		return fn(&r)
	})
	return err
}

// Ranges streams the view ranges of the given topics (all when nil).
func (s *Snap) Ranges(ctx context.Context, topics []comment.TopicID, fn func(*RangeRow) error) error {
	var rows pgx.Rows
	if topics == nil {
		rows, _ = s.tx.Query(ctx, qAllRanges)
	} else {
		rows, _ = s.tx.Query(ctx, qRangesOf, uuids(topics))
	}
	var r RangeRow
	var id [16]byte
	var first, last []int32
	_, err := pgx.ForEachRow(rows, []any{&id, &first, &last, &r.MaxID, &r.Count}, func() error {
		r.Topic, r.First, r.Last = id, first, last
		first, last = nil, nil
		return fn(&r)
	})
	return err
}

// RootViews streams, per topic, the root's folded views and those of the
// ranges that start at the root (every range that covers the root does):
// the root's view count, for topics whose tree is not loaded.
func (s *Snap) RootViews(ctx context.Context, fn func(comment.TopicID, int64) error) error {
	rows, _ := s.tx.Query(ctx, qRootViews)
	var id [16]byte
	var n int64
	_, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error { return fn(id, n) })
	return err
}

// UserEntries streams the live comments of the given topics for the users'
// lists, without their content.
func (s *Snap) UserEntries(ctx context.Context, topics []comment.TopicID, fn func(*UserRow) error) error {
	rows, _ := s.tx.Query(ctx, qUserEntries, uuids(topics))
	var r UserRow
	var id [16]byte
	_, err := pgx.ForEachRow(rows, []any{&r.User, &id, &r.ID, &r.Create, &r.Update, &r.Up, &r.Down}, func() error {
		r.Topic = id
		return fn(&r)
	})
	return err
}

// Votes streams every vote in force, in no particular order.
func (s *Snap) Votes(ctx context.Context, fn func(*VoteRow) error) error {
	rows, _ := s.tx.Query(ctx, qVotes)
	var r VoteRow
	var id [16]byte
	var user pgtype.DriverBytes
	_, err := pgx.ForEachRow(rows, []any{&user, &id, &r.ID, &r.Value, &r.At}, func() error {
		r.Topic, r.User = id, user
		return fn(&r)
	})
	return err
}

// Events returns up to limit events after position, in order. Positions
// are gap-free and commit-ordered (docs/event-log.md), so these are exactly
// the next events, none skipped.
func (r *Reader) Events(ctx context.Context, after int64, limit int) ([]comment.Event, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	rows, _ := r.pool.Query(ctx, qEventsAfter, after, limit)
	var out []comment.Event
	var e comment.Event
	var kind string
	var topic *[16]byte
	var payload []byte
	_, err := pgx.ForEachRow(rows, []any{&e.Position, &kind, &topic, &e.At, &payload}, func() error {
		e.Kind = comment.EventKind(kind)
		e.Topic = comment.TopicID{}
		if topic != nil {
			e.Topic = *topic
		}
		ev := comment.Event{Position: e.Position, Kind: e.Kind, Topic: e.Topic, At: e.At}
		if err := ev.DecodePayload(payload); err != nil {
			return err
		}
		out = append(out, ev)
		return nil
	})
	if err != nil {
		return nil, translate(err)
	}
	return out, nil
}

// Head returns the newest position in the log.
func (r *Reader) Head(ctx context.Context) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	var p int64
	err := r.pool.QueryRow(ctx, qHeadPosition).Scan(&p)
	return p, translate(err)
}

// LoadTopic reads one topic's comments (by id) and view ranges from one
// snapshot and returns the snapshot's position.
func (r *Reader) LoadTopic(ctx context.Context, id comment.TopicID, rows func(*TreeRow) error, ranges func(*RangeRow) error) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 4*r.timeout)
	defer cancel()
	var pos int64
	err := r.Snapshot(ctx, func(s *Snap) error {
		pos = s.Position
		if err := s.Trees(ctx, []comment.TopicID{id}, rows); err != nil {
			return err
		}
		return s.Ranges(ctx, []comment.TopicID{id}, ranges)
	})
	return pos, err
}
