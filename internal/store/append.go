package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
)

// NotifyChannel is the LISTEN/NOTIFY channel on which the writer announces
// new events. A notification is only a wake-up: readers also poll.
const NotifyChannel = "parley_events"

// Lookup names what a batch of commands must read before it can decide.
type Lookup struct {
	Keys     []string          // Idempotency-Key values
	Topics   []comment.TopicID // existing topics the batch may write to; locked
	Known    []comment.TopicID // topics the batch only checks (that they exist, their next id); not locked
	Comments []CommentRef      // comments the batch replies to, edits or deletes
	Bans     []string          // users whose bans the batch checks or changes
	Votes    []VoteRef         // votes the batch changes; their topics are in Topics
}

// VoteRef names one user's vote on a comment.
type VoteRef struct {
	Topic comment.TopicID
	ID    int32
	User  string
}

// VoteState is a vote in force, as the writer checks it.
type VoteState struct {
	Value int8 // 1 or -1
	At    time.Time
}

// CommentRef names a comment.
type CommentRef struct {
	Topic comment.TopicID
	ID    int32
}

// State is what Lookup found. Missing entries do not exist.
type State struct {
	Keys     map[string]KeyRecord
	Topics   map[comment.TopicID]TopicRow
	Comments map[CommentRef]CommentRow
	Bans     map[string]BanState
	Votes    map[VoteRef]VoteState
}

// BanState is a user's ban as the writer checks it.
type BanState struct {
	Until *time.Time // nil: for good
}

// KeyRecord is the stored first response for an idempotency key.
type KeyRecord struct {
	Fingerprint []byte
	Result      []byte // the response body without "position"
	Position    int64
}

// TopicRow is a topic's current state as the writer needs it.
type TopicRow struct {
	NextID       int32
	LastActivity time.Time
}

// CommentRow is a comment's current state as the writer needs it.
type CommentRow struct {
	Path    comment.Path
	User    string
	Author  string // the author's id (a token's sub); "" for nobody's: written without tokens
	Create  time.Time
	Update  time.Time
	Deleted bool
	Up      int32
	Down    int32
}

// Changes is everything one batch writes. Topics and Comments hold the final
// state of each row the batch touched, once each.
type Changes struct {
	Topics   []TopicWrite
	Comments []CommentWrite
	Activity []Activity
	Views    []comment.ViewRange // at most one per distinct range
	Events   []comment.Event     // positions are set by Append
	Keys     []KeyWrite
	Bans     []BanWrite
	Votes    []VoteWrite  // at most one per VoteRef, the last
	Counts   []CountWrite // vote counts of the comments votes changed, at most one per comment, written after the inserts
}

// VoteWrite sets a user's vote on a comment; Value 0 withdraws it.
type VoteWrite struct {
	VoteRef
	Value int8
	At    time.Time
}

// CountWrite is a comment's vote counts after the batch.
type CountWrite struct {
	Topic    comment.TopicID
	ID       int32
	Up, Down int32
}

// BanWrite gives a user's ban (the last one counts).
type BanWrite struct {
	User   string
	Until  *time.Time
	Reason string
	By     string
	At     time.Time
}

// TopicWrite is a topic's state after the batch.
type TopicWrite struct {
	ID           comment.TopicID
	New          bool
	Key          string // a new topic's key (SPEC §13); "" for none
	NextID       int32
	LastActivity time.Time
}

// CommentWrite is a comment's state after the batch. For a comment that
// existed before it, only Content, Deleted and Update are written.
type CommentWrite struct {
	Topic   comment.TopicID
	Path    comment.Path
	New     bool
	User    string
	Author  string
	Content string
	Deleted bool
	Create  time.Time
	Update  time.Time
	Up      int32 // vote counts; written through Changes.Counts
	Down    int32
}

// Activity adds to a topic's activity in one minute bucket.
type Activity struct {
	Topic    comment.TopicID
	Bucket   time.Time
	Comments int32
	Views    int64
	Votes    int32
}

// KeyWrite stores the response to a command given with an idempotency key.
// Event is the index in Changes.Events of the command's event, whose
// position completes the response.
type KeyWrite struct {
	Key         string
	Fingerprint []byte
	Result      []byte
	Event       int
}

// Appender appends batches of commands to the log.
type Appender struct {
	pool    *pgxpool.Pool
	timeout time.Duration
}

// NewAppender returns an Appender on pool.
func NewAppender(pool *pgxpool.Pool, cfg Config) *Appender {
	return &Appender{pool: pool, timeout: cfg.QueryTimeout()}
}

// maxAttempts bounds retries of a batch that Postgres aborted for a deadlock
// or a serialization failure; both are transient by definition.
const maxAttempts = 3

// Append runs one transaction: it locks and reads what lookup names, lets
// decide turn that state into changes, writes them and their events, takes
// the events' positions from the log head as the last step, and commits.
// It returns the position of the first event; the others follow in order.
// decide may run more than once (on a retried deadlock) and must be pure.
// A batch without events writes nothing and returns 0.
func (a *Appender) Append(ctx context.Context, lookup Lookup, decide func(State) (Changes, error)) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	var err error
	// A lost race to create a keyed topic does not count against the
	// attempts: each one the batch loses leaves a topic it finds when run
	// again, so there are at most as many as the topics it names.
	for attempts, lost := 0, 0; attempts < maxAttempts && lost <= len(lookup.Topics); {
		var first int64
		first, err = a.appendOnce(ctx, lookup, decide)
		switch {
		case lostTopicRace(err):
			lost++
			continue
		case retryable(err):
			attempts++
			continue
		case err != nil:
			if _, ok := errs.Classified(err); ok {
				return 0, err
			}
			return 0, translate(err)
		}
		return first, nil
	}
	// Still aborted by concurrent batches: nothing was written, and the
	// same request may be sent again.
	return 0, errs.Unavailable.Wrap("the write conflicted with concurrent ones; retry", err)
}

// retryable tells whether a batch that failed with err may succeed run
// again from the start: Postgres aborted it for a deadlock or a
// serialization failure, both transient by definition.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) &&
		(pgErr.Code == pgerrcode.DeadlockDetected || pgErr.Code == pgerrcode.SerializationFailure)
}

// lostTopicRace tells whether another writer created a topic this batch
// also created. Only a keyed topic can be created twice, as its id comes
// from its key (comment.KeyTopicID); the batch run again reads the topic
// and replies in it.
func lostTopicRace(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == pgerrcode.UniqueViolation && pgErr.ConstraintName == "topics_pkey"
}

// appendOnce runs the transaction in two round trips: BEGIN and the reads
// in one pipeline, the writes and COMMIT in another (pgx.BeginFunc would
// add a round trip for each of BEGIN and COMMIT, and the log head is held
// across the last one).
func (a *Appender) appendOnce(ctx context.Context, lookup Lookup, decide func(State) (Changes, error)) (first int64, err error) {
	conn, err := a.pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release() // the pool drops a connection left in a transaction
	inTx := false
	defer func() {
		if err != nil && inTx {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			_, _ = conn.Exec(rctx, "ROLLBACK")
			cancel()
		}
	}()
	inTx = true
	st, err := readState(ctx, conn, lookup)
	if err != nil {
		return 0, err
	}
	ch, err := decide(st)
	if err != nil {
		return 0, err
	}
	if len(ch.Events) == 0 {
		_, err = conn.Exec(ctx, "COMMIT")
		return 0, err
	}
	return writeChanges(ctx, conn, ch)
}

// keyLockID maps a name (an idempotency key, a user's bans) to an advisory
// lock, so that two batches about one name, on any writer, run one after
// the other. A collision only makes two unrelated names wait for each
// other.
func keyLockID(key string) int64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	return int64(h.Sum64())
}

const (
	qLockKeys = `SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS k`
	qKeys     = `SELECT key, fingerprint, result, position FROM idempotency_keys WHERE key = ANY($1)`
	// Rows are locked in topic_id order, so concurrent batches cannot deadlock on them.
	qTopics = `SELECT topic_id, next_comment_id, last_activity FROM topics WHERE topic_id = ANY($1) ORDER BY topic_id FOR UPDATE`
	// A topic's next id only grows, so a check against it needs no lock.
	qKnown    = `SELECT topic_id, next_comment_id, last_activity FROM topics WHERE topic_id = ANY($1)`
	qBansOf   = `SELECT user_id, until FROM bans WHERE user_id = ANY($1)`
	qComments = `SELECT c.topic_id, c.comment_id, c.path, c.user_name, c.author_id, c.create_time, c.update_time, c.deleted, c.up, c.down
		FROM comments c JOIN unnest($1::uuid[], $2::integer[]) AS r(t, id) ON c.topic_id = r.t AND c.comment_id = r.id`
	qVotesOf = `SELECT v.topic_id, v.comment_id, v.user_id, v.value, v.at
		FROM votes v JOIN unnest($1::uuid[], $2::integer[], $3::text[]) AS r(t, id, u)
			ON v.topic_id = r.t AND v.comment_id = r.id AND v.user_id = r.u`
)

// readState opens the transaction and reads, in one pipeline.
func readState(ctx context.Context, conn *pgxpool.Conn, lk Lookup) (State, error) {
	st := State{
		Keys:     make(map[string]KeyRecord, len(lk.Keys)),
		Topics:   make(map[comment.TopicID]TopicRow, len(lk.Topics)+len(lk.Known)),
		Comments: make(map[CommentRef]CommentRow, len(lk.Comments)),
		Bans:     make(map[string]BanState, len(lk.Bans)),
		Votes:    make(map[VoteRef]VoteState, len(lk.Votes)),
	}
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	pinPlans(b)
	queueLocks(b, lk)
	queueKeyReads(b, lk.Keys, st.Keys)
	queueTopicReads(b, lk, st.Topics)
	queueCommentReads(b, lk.Comments, st.Comments)
	queueBanReads(b, lk.Bans, st.Bans)
	queueVoteReads(b, lk.Votes, st.Votes)
	return st, conn.SendBatch(ctx, b).Close()
}

// pinPlans makes the batch's statements run on plans that Postgres made
// once per connection, and that are right whatever the statistics.
// Planning every execution (the pool's force_custom_plan) cost more than
// a third of Postgres's CPU per comment: each batch plans about ten
// statements, 40-90 µs each. A cached generic plan, on the other hand, is
// costed with the statistics of the moment it is made, and on a young
// database that was a sequential scan of a table that then grew to
// millions of rows. Every statement of a batch reads or writes rows by
// their keys, a few at a time, so a nested loop over index lookups is the
// right plan at any size; with sequential scans and hash or merge joins
// disabled for the transaction, it is the plan Postgres makes, empty
// table or not. SET LOCAL ends with the transaction, so the pool's other
// users (compaction, pruning) plan as usual.
func pinPlans(b *pgx.Batch) {
	for _, set := range pinnedPlans {
		b.Queue(set)
	}
}

var pinnedPlans = [...]string{
	"SET LOCAL plan_cache_mode = force_generic_plan",
	"SET LOCAL enable_seqscan = off",
	"SET LOCAL enable_hashjoin = off",
	"SET LOCAL enable_mergejoin = off",
}

// queueLocks takes, in one statement and a fixed order (so two batches
// cannot deadlock on them), the advisory locks that make batches with one
// idempotency key, or about one user's ban, run one after the other: a
// write cannot read a user's bans while a ban of that user is being given
// and commit after it.
func queueLocks(b *pgx.Batch, lk Lookup) {
	locks := make([]int64, 0, len(lk.Keys)+len(lk.Bans))
	for _, k := range lk.Keys {
		locks = append(locks, keyLockID("key\x00"+k))
	}
	for _, u := range lk.Bans {
		locks = append(locks, keyLockID("ban\x00"+u))
	}
	if len(locks) == 0 {
		return
	}
	slices.Sort(locks)
	b.Queue(qLockKeys, slices.Compact(locks))
}

// queueKeyReads reads the keys' records (their locks are held).
func queueKeyReads(b *pgx.Batch, keys []string, into map[string]KeyRecord) {
	if len(keys) == 0 {
		return
	}
	b.Queue(qKeys, keys).Query(func(rows pgx.Rows) error {
		var key string
		var r KeyRecord
		_, err := pgx.ForEachRow(rows, []any{&key, &r.Fingerprint, &r.Result, &r.Position}, func() error {
			into[key] = r
			r = KeyRecord{}
			return nil
		})
		return err
	})
}

// queueTopicReads reads the topics to check, then locks and reads those to
// write: where a topic is in both lists, the locked (newest) row is kept.
func queueTopicReads(b *pgx.Batch, lk Lookup, into map[comment.TopicID]TopicRow) {
	read := func(rows pgx.Rows) error {
		var id [16]byte
		var r TopicRow
		_, err := pgx.ForEachRow(rows, []any{&id, &r.NextID, &r.LastActivity}, func() error {
			into[id] = r
			return nil
		})
		return err
	}
	if len(lk.Known) > 0 {
		b.Queue(qKnown, uuids(lk.Known)).Query(read)
	}
	if len(lk.Topics) > 0 {
		b.Queue(qTopics, uuids(lk.Topics)).Query(read)
	}
}

// queueCommentReads reads the comments the batch replies to or changes.
func queueCommentReads(b *pgx.Batch, refs []CommentRef, into map[CommentRef]CommentRow) {
	if len(refs) == 0 {
		return
	}
	ts := make([][16]byte, len(refs))
	ids := make([]int32, len(refs))
	for i, c := range refs {
		ts[i], ids[i] = c.Topic, c.ID
	}
	b.Queue(qComments, ts, ids).Query(func(rows pgx.Rows) error {
		var ref CommentRef
		var topic [16]byte
		var row CommentRow
		var path []int32
		_, err := pgx.ForEachRow(rows, []any{&topic, &ref.ID, &path, &row.User, &row.Author, &row.Create, &row.Update, &row.Deleted, &row.Up, &row.Down}, func() error {
			ref.Topic = topic
			row.Path = path
			into[ref] = row
			path = nil
			return nil
		})
		return err
	})
}

// queueBanReads reads the senders' bans.
func queueBanReads(b *pgx.Batch, users []string, into map[string]BanState) {
	if len(users) == 0 {
		return
	}
	b.Queue(qBansOf, users).Query(func(rows pgx.Rows) error {
		var user string
		var ban BanState
		_, err := pgx.ForEachRow(rows, []any{&user, &ban.Until}, func() error {
			into[user] = ban
			ban = BanState{}
			return nil
		})
		return err
	})
}

// queueVoteReads reads the votes the batch changes. Their topics' rows are
// locked (Lookup.Votes), so no other batch changes them meanwhile.
func queueVoteReads(b *pgx.Batch, refs []VoteRef, into map[VoteRef]VoteState) {
	if len(refs) == 0 {
		return
	}
	ts, ids, users := make([][16]byte, len(refs)), make([]int32, len(refs)), make([]string, len(refs))
	for i, v := range refs {
		ts[i], ids[i], users[i] = v.Topic, v.ID, v.User
	}
	b.Queue(qVotesOf, ts, ids, users).Query(func(rows pgx.Rows) error {
		var ref VoteRef
		var topic [16]byte
		var row VoteState
		_, err := pgx.ForEachRow(rows, []any{&topic, &ref.ID, &ref.User, &row.Value, &row.At}, func() error {
			ref.Topic = topic
			into[ref] = row
			return nil
		})
		return err
	})
}

// maxBigint is where stored view counts stop growing: a sum that would
// overflow stays at the largest bigint instead of failing the batch.
const maxBigint = "9223372036854775807"

const (
	qInsertTopics = `INSERT INTO topics (topic_id, next_comment_id, last_activity, topic_key)
		SELECT x.id, x.n, x.a, nullif(x.k, '') FROM unnest($1::uuid[], $2::integer[], $3::timestamptz[], $4::text[]) AS x(id, n, a, k)`
	qUpdateTopics = `UPDATE topics t SET next_comment_id = u.n, last_activity = u.a
		FROM unnest($1::uuid[], $2::integer[], $3::timestamptz[]) AS u(id, n, a) WHERE t.topic_id = u.id`
	qInsertComments = `INSERT INTO comments (topic_id, comment_id, path, user_name, author_id, content, deleted, create_time, update_time)
		SELECT x.t, x.id, x.p::integer[], x.u, x.a, x.c, x.d, x.ct, x.ut
		FROM unnest($1::uuid[], $2::integer[], $3::text[], $4::text[], $5::text[], $6::text[], $7::boolean[], $8::timestamptz[], $9::timestamptz[])
			AS x(t, id, p, u, a, c, d, ct, ut)`
	qBanUsers = `INSERT INTO bans (user_id, until, reason, banned_by, at)
		SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::timestamptz[])
		ON CONFLICT (user_id) DO UPDATE SET until = excluded.until, reason = excluded.reason, banned_by = excluded.banned_by, at = excluded.at`
	qUpdateComments = `UPDATE comments c SET content = x.c, deleted = x.d, update_time = x.ut
		FROM unnest($1::uuid[], $2::integer[], $3::text[], $4::boolean[], $5::timestamptz[]) AS x(t, id, c, d, ut)
		WHERE c.topic_id = x.t AND c.comment_id = x.id`
	qActivity = `INSERT INTO topic_activity AS a (topic_id, bucket, comments, views, votes)
		SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::integer[], $4::bigint[], $5::integer[])
		ON CONFLICT (topic_id, bucket) DO UPDATE SET comments = a.comments + excluded.comments, votes = a.votes + excluded.votes,
			views = CASE WHEN a.views > ` + maxBigint + ` - excluded.views THEN ` + maxBigint + ` ELSE a.views + excluded.views END`
	qViews = `INSERT INTO view_ranges AS v (topic_id, first_path, last_path, max_id, views)
		SELECT x.t, x.f::integer[], x.l::integer[], x.m, x.n
		FROM unnest($1::uuid[], $2::text[], $3::text[], $4::integer[], $5::bigint[]) AS x(t, f, l, m, n)
		ON CONFLICT (topic_id, first_path, last_path, max_id) DO UPDATE
			SET views = CASE WHEN v.views > ` + maxBigint + ` - excluded.views THEN ` + maxBigint + ` ELSE v.views + excluded.views END`
	qSetVotes = `INSERT INTO votes (topic_id, comment_id, user_id, value, at)
		SELECT * FROM unnest($1::uuid[], $2::integer[], $3::text[], $4::smallint[], $5::timestamptz[])
		ON CONFLICT (topic_id, comment_id, user_id) DO UPDATE SET value = excluded.value, at = excluded.at`
	qWithdrawVotes = `DELETE FROM votes v USING unnest($1::uuid[], $2::integer[], $3::text[]) AS x(t, id, u)
		WHERE v.topic_id = x.t AND v.comment_id = x.id AND v.user_id = x.u`
	qCounts = `UPDATE comments c SET up = x.u, down = x.d
		FROM unnest($1::uuid[], $2::integer[], $3::integer[], $4::integer[]) AS x(t, id, u, d)
		WHERE c.topic_id = x.t AND c.comment_id = x.id`
	// The head row is updated last: its row lock, held until COMMIT, is what
	// orders positions by commit (docs/event-log.md). Statements after it in
	// this transaction read the new head, so they need no round trip.
	qTakePositions = `UPDATE log_head SET position = position + $1 RETURNING position`
	qInsertEvents  = `INSERT INTO events (position, kind, topic_id, at, payload)
		SELECT h.position - $1 + x.ord, x.k, x.t, x.at, x.p
		FROM log_head h, unnest($2::text[], $3::uuid[], $4::timestamptz[], $5::bytea[]) WITH ORDINALITY AS x(k, t, at, p, ord)`
	qInsertKeys = `INSERT INTO idempotency_keys (key, fingerprint, result, position)
		SELECT x.k, x.f, x.r, h.position - $1 + x.e
		FROM log_head h, unnest($2::text[], $3::bytea[], $4::bytea[], $5::integer[]) AS x(k, f, r, e)`
	// The payload is the head this transaction leaves (readers learn from
	// the primary how far the log goes, a replica's lag included), then
	// the batch's events when they fit (notifyEvents): a reader that reads
	// the primary applies them without reading the log.
	qNotify = `SELECT pg_notify('` + NotifyChannel + `', (SELECT position::text FROM log_head) || $1::text)`
)

// writeChanges writes in one pipeline, ending with COMMIT.
func writeChanges(ctx context.Context, conn *pgxpool.Conn, ch Changes) (int64, error) {
	b := &pgx.Batch{}
	queueTopics(b, ch.Topics)
	queueComments(b, ch.Comments)
	queueBans(b, ch.Bans)
	queueVotes(b, ch.Votes, ch.Counts)
	if len(ch.Views) > 0 {
		n := len(ch.Views)
		ts, fs, ls, ms, cs := make([][16]byte, n), make([]string, n), make([]string, n), make([]int32, n), make([]int64, n)
		for i, v := range ch.Views {
			ts[i], fs[i], ls[i], ms[i], cs[i] = v.Topic, v.First.PGText(), v.Last.PGText(), v.MaxID, v.Count
		}
		b.Queue(qViews, ts, fs, ls, ms, cs)
	}
	// Activity rows are shared: every batch about a topic in one minute
	// adds to the same row, and holds its lock until it commits. They are
	// written last before the head, so a view batch does not hold a
	// minute of two hundred topics while it writes its ranges.
	queueActivity(b, ch.Activity)

	n := len(ch.Events)
	var last int64
	// The one-row head is read by a sequential scan: through its index,
	// which gains an entry whenever an update cannot stay on the page,
	// taking positions cost 50 ms a batch (measured).
	b.Queue("SET LOCAL enable_seqscan = on")
	b.Queue(qTakePositions, n).QueryRow(func(row pgx.Row) error { return row.Scan(&last) })
	kinds, topics, ats, payloads := make([]string, n), make([]pgtype.UUID, n), make([]time.Time, n), make([][]byte, n)
	for i := range ch.Events {
		e := &ch.Events[i]
		p, err := e.Payload()
		if err != nil {
			return 0, err
		}
		kinds[i], ats[i], payloads[i] = string(e.Kind), e.At, p
		if e.Topic != (comment.TopicID{}) {
			topics[i] = pgtype.UUID{Bytes: e.Topic, Valid: true}
		}
	}
	b.Queue(qInsertEvents, n, kinds, topics, ats, payloads)
	if len(ch.Keys) > 0 {
		k := len(ch.Keys)
		keys, fps, res, evs := make([]string, k), make([][]byte, k), make([][]byte, k), make([]int32, k)
		for i, kw := range ch.Keys {
			keys[i], fps[i], res[i], evs[i] = kw.Key, kw.Fingerprint, kw.Result, int32(kw.Event+1)
		}
		b.Queue(qInsertKeys, n, keys, fps, res, evs)
	}
	b.Queue(qNotify, notifyEvents(ch.Events, payloads))
	b.Queue("COMMIT")
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return 0, err
	}
	if last < int64(n) {
		return 0, fmt.Errorf("log head %d below batch size %d", last, n)
	}
	first := last - int64(n) + 1
	for i := range ch.Events {
		ch.Events[i].Position = first + int64(i)
	}
	return first, nil
}

func queueActivity(b *pgx.Batch, activity []Activity) {
	if len(activity) == 0 {
		return
	}
	n := len(activity)
	ts, buckets, cs, vs, votes := make([][16]byte, n), make([]time.Time, n), make([]int32, n), make([]int64, n), make([]int32, n)
	for i, a := range activity {
		ts[i], buckets[i], cs[i], vs[i], votes[i] = a.Topic, a.Bucket, a.Comments, a.Views, a.Votes
	}
	b.Queue(qActivity, ts, buckets, cs, vs, votes)
}

func queueTopics(b *pgx.Batch, topics []TopicWrite) {
	var ins, upd struct {
		ids  [][16]byte
		next []int32
		at   []time.Time
		keys []string
	}
	for _, t := range topics {
		dst := &upd
		if t.New {
			dst = &ins
		}
		dst.ids = append(dst.ids, t.ID)
		dst.next = append(dst.next, t.NextID)
		dst.at = append(dst.at, t.LastActivity)
		dst.keys = append(dst.keys, t.Key)
	}
	if len(ins.ids) > 0 {
		sortTopicRows(ins.ids, ins.next, ins.at, ins.keys)
		b.Queue(qInsertTopics, ins.ids, ins.next, ins.at, ins.keys)
	}
	if len(upd.ids) > 0 {
		b.Queue(qUpdateTopics, upd.ids, upd.next, upd.at)
	}
}

func queueComments(b *pgx.Batch, comments []CommentWrite) {
	var ins struct {
		ts                 [][16]byte
		ids                []int32
		paths, users, text []string
		authors            []string
		del                []bool
		ct, ut             []time.Time
	}
	var upd struct {
		ts   [][16]byte
		ids  []int32
		text []string
		del  []bool
		ut   []time.Time
	}
	for _, c := range comments {
		if c.New {
			ins.ts = append(ins.ts, c.Topic)
			ins.ids = append(ins.ids, c.Path.ID())
			ins.paths = append(ins.paths, c.Path.PGText())
			ins.users = append(ins.users, c.User)
			ins.authors = append(ins.authors, c.Author)
			ins.text = append(ins.text, c.Content)
			ins.del = append(ins.del, c.Deleted)
			ins.ct = append(ins.ct, c.Create)
			ins.ut = append(ins.ut, c.Update)
			continue
		}
		upd.ts = append(upd.ts, c.Topic)
		upd.ids = append(upd.ids, c.Path.ID())
		upd.text = append(upd.text, c.Content)
		upd.del = append(upd.del, c.Deleted)
		upd.ut = append(upd.ut, c.Update)
	}
	if len(ins.ts) > 0 {
		b.Queue(qInsertComments, ins.ts, ins.ids, ins.paths, ins.users, ins.authors, ins.text, ins.del, ins.ct, ins.ut)
	}
	if len(upd.ts) > 0 {
		b.Queue(qUpdateComments, upd.ts, upd.ids, upd.text, upd.del, upd.ut)
	}
}

func queueBans(b *pgx.Batch, bans []BanWrite) {
	if len(bans) == 0 {
		return
	}
	n := len(bans)
	users, untils, reasons, bys, ats := make([]string, n), make([]*time.Time, n), make([]string, n), make([]string, n), make([]time.Time, n)
	for i, w := range bans {
		users[i], untils[i], reasons[i], bys[i], ats[i] = w.User, w.Until, w.Reason, w.By, w.At
	}
	b.Queue(qBanUsers, users, untils, reasons, bys, ats)
}

// queueVotes sets and withdraws votes and writes the counts they change.
func queueVotes(b *pgx.Batch, votes []VoteWrite, counts []CountWrite) {
	var set, drop struct {
		ts     [][16]byte
		ids    []int32
		users  []string
		values []int8
		at     []time.Time
	}
	for _, v := range votes {
		dst := &set
		if v.Value == 0 {
			dst = &drop
		}
		dst.ts = append(dst.ts, v.Topic)
		dst.ids = append(dst.ids, v.ID)
		dst.users = append(dst.users, v.User)
		dst.values = append(dst.values, v.Value)
		dst.at = append(dst.at, v.At)
	}
	if len(set.ts) > 0 {
		b.Queue(qSetVotes, set.ts, set.ids, set.users, set.values, set.at)
	}
	if len(drop.ts) > 0 {
		b.Queue(qWithdrawVotes, drop.ts, drop.ids, drop.users)
	}
	if len(counts) > 0 {
		n := len(counts)
		ts, ids, ups, downs := make([][16]byte, n), make([]int32, n), make([]int32, n), make([]int32, n)
		for i, c := range counts {
			ts[i], ids[i], ups[i], downs[i] = c.Topic, c.ID, c.Up, c.Down
		}
		b.Queue(qCounts, ts, ids, ups, downs)
	}
}

// PruneKeys deletes idempotency keys older than ttl and activity buckets
// older than retention; it returns how many rows went.
func (a *Appender) PruneKeys(ctx context.Context, ttl, retention time.Duration) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	b := &pgx.Batch{}
	var n1, n2 int64
	b.Queue(`DELETE FROM idempotency_keys WHERE created_at < now() - $1::interval`, intervalText(ttl)).Exec(func(ct pgconn.CommandTag) error {
		n1 = ct.RowsAffected()
		return nil
	})
	b.Queue(`DELETE FROM topic_activity WHERE bucket < now() - $1::interval`, intervalText(retention)).Exec(func(ct pgconn.CommandTag) error {
		n2 = ct.RowsAffected()
		return nil
	})
	err := a.pool.SendBatch(ctx, b).Close()
	return n1 + n2, translate(err)
}

func intervalText(d time.Duration) string {
	return strconv.FormatInt(d.Microseconds(), 10) + " microseconds"
}

func uuids(ids []comment.TopicID) [][16]byte {
	out := make([][16]byte, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// sortTopicRows puts new topics in id order, all four columns alike: two
// batches that create the same keyed topics insert them in one order, and
// the second waits for the first instead of deadlocking with it.
func sortTopicRows(ids [][16]byte, next []int32, at []time.Time, keys []string) {
	idx := make([]int, len(ids))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return bytes.Compare(ids[a][:], ids[b][:]) })
	ids2, next2, at2, keys2 := slices.Clone(ids), slices.Clone(next), slices.Clone(at), slices.Clone(keys)
	for to, from := range idx {
		ids[to], next[to], at[to], keys[to] = ids2[from], next2[from], at2[from], keys2[from]
	}
}
