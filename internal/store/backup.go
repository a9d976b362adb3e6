package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley/parley/internal/comment"
)

// BackupVersion is the format of an export: its first line says it, and
// Import refuses another.
const BackupVersion = 1

// A backup is JSON Lines: a header, then one record per row, table by
// table in a fixed order (topics, comments, votes, views, activity, bans),
// each table ordered by its key, so that exporting the same state twice
// gives the same bytes. Every record names its table in "type".
//
// What it holds is the state the services read (docs/operations.md): the
// event log is not in it, since a restored store starts its log afresh at
// the exported position, and neither are idempotency keys, which only
// guard retries of requests in flight.

// backupHeader is a backup's first line.
type backupHeader struct {
	Type     string    `json:"type"` // "parley-backup"
	Version  int       `json:"version"`
	Position int64     `json:"position"` // the log head the state corresponds to
	At       time.Time `json:"exported_at"`
}

// backupEnd is a backup's last line: how many records of each table it
// holds. Import requires it, so that a file cut short (an interrupted copy,
// a killed export) is refused rather than restored in part.
type backupEnd struct {
	Type   string       `json:"type"` // "end"
	Counts BackupCounts `json:"counts"`
}

type backupTopic struct {
	Type         string          `json:"type"`
	Topic        comment.TopicID `json:"topic_id"`
	Key          *string         `json:"key"`
	NextID       int32           `json:"next_comment_id"`
	LastActivity time.Time       `json:"last_activity"`
}

type backupComment struct {
	Type    string          `json:"type"`
	Topic   comment.TopicID `json:"topic_id"`
	ID      int32           `json:"comment_id"`
	Path    []int32         `json:"path"`
	User    string          `json:"user"`
	Author  string          `json:"author_id"`
	Content string          `json:"content"`
	Deleted bool            `json:"deleted"`
	Create  time.Time       `json:"create_time"`
	Update  time.Time       `json:"update_time"`
	Up      int32           `json:"up"`
	Down    int32           `json:"down"`
	Views   int64           `json:"views"` // folded out of view ranges (CompactViews)
}

type backupVote struct {
	Type  string          `json:"type"`
	Topic comment.TopicID `json:"topic_id"`
	ID    int32           `json:"comment_id"`
	User  string          `json:"user_id"`
	Value int16           `json:"value"`
	At    time.Time       `json:"at"`
}

// backupViews is one row of view_ranges: views are stored as ranges
// (docs/reader.md), and a backup keeps them so, which keeps every count
// exact.
type backupViews struct {
	Type  string          `json:"type"`
	Topic comment.TopicID `json:"topic_id"`
	First []int32         `json:"first_path"`
	Last  []int32         `json:"last_path"`
	MaxID int32           `json:"max_id"`
	Views int64           `json:"views"`
}

type backupActivity struct {
	Type     string          `json:"type"`
	Topic    comment.TopicID `json:"topic_id"`
	Bucket   time.Time       `json:"bucket"`
	Comments int32           `json:"comments"`
	Views    int64           `json:"views"`
	Votes    int32           `json:"votes"`
}

type backupBan struct {
	Type   string     `json:"type"`
	User   string     `json:"user_id"`
	Until  *time.Time `json:"until"`
	Reason string     `json:"reason"`
	By     string     `json:"by"`
	At     time.Time  `json:"at"`
}

// Records are decoded with the JSON v2 package, about twice as fast as
// encoding/json here, which matters for a million comments; it also
// refuses what encoding/json would let pass (a key twice, invalid UTF-8).

// backupTable is one table of a backup: its record type, the query that
// exports it in key order, and the columns COPY fills on import.
type backupTable struct {
	name    string
	export  string
	columns []string
	// row scans an exported row into a record; values gives a decoded
	// record's columns for COPY.
	row    func(pgx.CollectableRow) (any, error)
	decode func([]byte) ([]any, error)
}

var backupTables = []backupTable{
	{
		name:    "topic",
		export:  `SELECT topic_id, topic_key, next_comment_id, last_activity FROM topics ORDER BY topic_id`,
		columns: []string{"topic_id", "topic_key", "next_comment_id", "last_activity"},
		row: func(r pgx.CollectableRow) (any, error) {
			v := backupTopic{Type: "topic"}
			err := r.Scan((*[16]byte)(&v.Topic), &v.Key, &v.NextID, &v.LastActivity)
			return v, err
		},
		decode: func(b []byte) ([]any, error) {
			var v backupTopic
			err := jsonv2.Unmarshal(b, &v)
			return []any{[16]byte(v.Topic), v.Key, v.NextID, v.LastActivity}, err
		},
	},
	{
		name: "comment",
		export: `SELECT topic_id, comment_id, path, user_name, author_id, content, deleted, create_time, update_time, up, down, views
			FROM comments ORDER BY topic_id, comment_id`,
		columns: []string{"topic_id", "comment_id", "path", "user_name", "author_id", "content", "deleted", "create_time", "update_time", "up", "down", "views"},
		row: func(r pgx.CollectableRow) (any, error) {
			v := backupComment{Type: "comment"}
			err := r.Scan((*[16]byte)(&v.Topic), &v.ID, &v.Path, &v.User, &v.Author, &v.Content, &v.Deleted, &v.Create, &v.Update, &v.Up, &v.Down, &v.Views)
			return v, err
		},
		decode: func(b []byte) ([]any, error) {
			var v backupComment
			err := jsonv2.Unmarshal(b, &v)
			return []any{[16]byte(v.Topic), v.ID, v.Path, v.User, v.Author, v.Content, v.Deleted, v.Create, v.Update, v.Up, v.Down, v.Views}, err
		},
	},
	{
		name:    "vote",
		export:  `SELECT topic_id, comment_id, user_id, value, at FROM votes ORDER BY topic_id, comment_id, user_id`,
		columns: []string{"topic_id", "comment_id", "user_id", "value", "at"},
		row: func(r pgx.CollectableRow) (any, error) {
			v := backupVote{Type: "vote"}
			err := r.Scan((*[16]byte)(&v.Topic), &v.ID, &v.User, &v.Value, &v.At)
			return v, err
		},
		decode: func(b []byte) ([]any, error) {
			var v backupVote
			err := jsonv2.Unmarshal(b, &v)
			return []any{[16]byte(v.Topic), v.ID, v.User, v.Value, v.At}, err
		},
	},
	{
		name:    "views",
		export:  `SELECT topic_id, first_path, last_path, max_id, views FROM view_ranges ORDER BY topic_id, first_path, last_path, max_id`,
		columns: []string{"topic_id", "first_path", "last_path", "max_id", "views"},
		row: func(r pgx.CollectableRow) (any, error) {
			v := backupViews{Type: "views"}
			err := r.Scan((*[16]byte)(&v.Topic), &v.First, &v.Last, &v.MaxID, &v.Views)
			return v, err
		},
		decode: func(b []byte) ([]any, error) {
			var v backupViews
			err := jsonv2.Unmarshal(b, &v)
			return []any{[16]byte(v.Topic), v.First, v.Last, v.MaxID, v.Views}, err
		},
	},
	{
		name:    "activity",
		export:  `SELECT topic_id, bucket, comments, views, votes FROM topic_activity ORDER BY topic_id, bucket`,
		columns: []string{"topic_id", "bucket", "comments", "views", "votes"},
		row: func(r pgx.CollectableRow) (any, error) {
			v := backupActivity{Type: "activity"}
			err := r.Scan((*[16]byte)(&v.Topic), &v.Bucket, &v.Comments, &v.Views, &v.Votes)
			return v, err
		},
		decode: func(b []byte) ([]any, error) {
			var v backupActivity
			err := jsonv2.Unmarshal(b, &v)
			return []any{[16]byte(v.Topic), v.Bucket, v.Comments, v.Views, v.Votes}, err
		},
	},
	{
		name:    "ban",
		export:  `SELECT user_id, until, reason, banned_by, at FROM bans ORDER BY user_id`,
		columns: []string{"user_id", "until", "reason", "banned_by", "at"},
		row: func(r pgx.CollectableRow) (any, error) {
			v := backupBan{Type: "ban"}
			err := r.Scan(&v.User, &v.Until, &v.Reason, &v.By, &v.At)
			return v, err
		},
		decode: func(b []byte) ([]any, error) {
			var v backupBan
			err := jsonv2.Unmarshal(b, &v)
			return []any{v.User, v.Until, v.Reason, v.By, v.At}, err
		},
	},
}

// tableNames maps a record type to its table.
var tableNames = map[string]string{"topic": "topics", "comment": "comments", "vote": "votes", "views": "view_ranges", "activity": "topic_activity", "ban": "bans"}

// BackupCounts says how many records of each type a backup holds.
type BackupCounts map[string]int64

// Export writes the whole store to w as JSON Lines, from one snapshot:
// the state exactly as of the log position the header gives.
func Export(ctx context.Context, pool *pgxpool.Pool, w io.Writer) (BackupCounts, error) {
	counts := BackupCounts{}
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	err := snapshotTx(ctx, pool, "", func(tx pgx.Tx) error {
		h := backupHeader{Type: "parley-backup", Version: BackupVersion, At: time.Now().UTC()}
		if err := tx.QueryRow(ctx, `SELECT position FROM log_head`).Scan(&h.Position); err != nil {
			return err
		}
		if err := enc.Encode(h); err != nil {
			return err
		}
		for _, t := range backupTables {
			rows, _ := tx.Query(ctx, t.export)
			var n int64
			for rows.Next() {
				rec, err := t.row(rows)
				if err != nil {
					rows.Close()
					return err
				}
				rec = inUTC(rec)
				if err := enc.Encode(rec); err != nil {
					rows.Close()
					return err
				}
				n++
			}
			if err := rows.Err(); err != nil {
				return err
			}
			counts[t.name] = n
		}
		return enc.Encode(backupEnd{Type: "end", Counts: counts})
	})
	if err != nil {
		return nil, translate(err)
	}
	return counts, bw.Flush()
}

// ErrNotEmpty is an import into a database that already holds a store.
var ErrNotEmpty = errors.New("the database is not empty: import restores into a fresh one (migrated, no topics, no events)")

// Import reads a backup from r into an empty, migrated database, in one
// transaction: all of it or nothing. The log head is set to the backup's
// position, so that positions clients hold stay meaningful.
func Import(ctx context.Context, pool *pgxpool.Pool, r io.Reader) (BackupCounts, error) {
	sc := bufio.NewScanner(r)
	// A line holds one comment: MAX_CONTENT_BYTES is at most 16 MiB, six
	// times that escaped at the worst.
	sc.Buffer(make([]byte, 0, 1<<20), 128<<20)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, err
		}
		return nil, errors.New("the backup is empty")
	}
	var h backupHeader
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil || h.Type != "parley-backup" {
		return nil, fmt.Errorf("line 1 is not a Parley backup header")
	}
	if h.Version != BackupVersion {
		return nil, fmt.Errorf("backup version %d; this build reads version %d", h.Version, BackupVersion)
	}
	counts := BackupCounts{}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL statement_timeout = 0"); err != nil {
			return err
		}
		// The head's row lock, held to the end, keeps a writer (or a second
		// import) from appending between the check and the import.
		var used bool
		if err := tx.QueryRow(ctx, `SELECT position <> 0 FROM log_head FOR UPDATE`).Scan(&used); err != nil {
			return err
		}
		var rows bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM topics) OR EXISTS (SELECT 1 FROM comments) OR EXISTS (SELECT 1 FROM events)
			OR EXISTS (SELECT 1 FROM bans) OR EXISTS (SELECT 1 FROM votes) OR EXISTS (SELECT 1 FROM view_ranges)
			OR EXISTS (SELECT 1 FROM topic_activity) OR EXISTS (SELECT 1 FROM idempotency_keys)`).Scan(&rows); err != nil {
			return err
		}
		used = used || rows
		if used {
			return ErrNotEmpty
		}
		src := &recordSource{sc: sc, line: 1, tables: map[string]*backupTable{}}
		for i := range backupTables {
			src.tables[backupTables[i].name] = &backupTables[i]
		}
		// One COPY per run of records of one table, streamed: pgx sends
		// rows as the source decodes them, so decoding here and inserting
		// there overlap.
		for src.start() {
			n, err := tx.CopyFrom(ctx, pgx.Identifier{tableNames[src.cur.name]}, src.cur.columns, src)
			if err := errors.Join(src.err, err); err != nil {
				return err
			}
			counts[src.cur.name] += n
		}
		if src.err != nil {
			return src.err
		}
		if src.end == nil {
			return fmt.Errorf("the backup ends at line %d without its end record: it was cut short", src.line)
		}
		for name := range tableNames {
			if src.end.Counts[name] != counts[name] {
				return fmt.Errorf("the backup's end record counts %d %s records, the file holds %d", src.end.Counts[name], name, counts[name])
			}
		}
		_, err := tx.Exec(ctx, `UPDATE log_head SET position = $1`, h.Position)
		return err
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

// recordSource feeds COPY the records of a backup, one table's run at a
// time: Next stops at the first record of another table, which the next
// run starts with.
type recordSource struct {
	sc     *bufio.Scanner
	line   int
	tables map[string]*backupTable
	cur    *backupTable
	next   *backupTable // the table of the line read ahead; nil at the end
	held   bool         // a line is read ahead
	vals   []any
	end    *backupEnd // the end record, once read
	err    error
}

// read reads the next line and its table into next; false at the end or
// on an error.
func (s *recordSource) read() bool {
	if s.held {
		return true
	}
	if !s.sc.Scan() {
		s.err = s.sc.Err()
		return false
	}
	s.line++
	kind, err := recordType(s.sc.Bytes())
	if err != nil {
		s.err = fmt.Errorf("line %d: %w", s.line, err)
		return false
	}
	if kind == "end" {
		var end backupEnd
		if err := jsonv2.Unmarshal(s.sc.Bytes(), &end); err != nil {
			s.err = fmt.Errorf("line %d: %w", s.line, err)
			return false
		}
		if s.sc.Scan() {
			s.err = fmt.Errorf("line %d: records after the end record", s.line+1)
			return false
		}
		s.end = &end
		return false
	}
	t, ok := s.tables[kind]
	if !ok {
		s.err = fmt.Errorf("line %d: unknown record type %q", s.line, kind)
		return false
	}
	s.next, s.held = t, true
	return true
}

// start begins the next run; false when there is none.
func (s *recordSource) start() bool {
	if s.err != nil || !s.read() {
		return false
	}
	s.cur = s.next
	return true
}

// Next moves to the run's next record.
func (s *recordSource) Next() bool {
	if s.err != nil || !s.read() || s.next != s.cur {
		return false
	}
	s.held = false
	s.vals, s.err = s.cur.decode(s.sc.Bytes())
	if s.err != nil {
		s.err = fmt.Errorf("line %d: %w", s.line, s.err)
		return false
	}
	return true
}

// Values are the record's columns.
func (s *recordSource) Values() ([]any, error) { return s.vals, nil }

// Err is what stopped the run, if it was not its end.
func (s *recordSource) Err() error { return s.err }

// recordType reads a record's "type", which Export writes first: a look at
// the line's start instead of decoding it twice; anything else is decoded.
func recordType(line []byte) (string, error) {
	const prefix = `{"type":"`
	if bytes.HasPrefix(line, []byte(prefix)) {
		rest := line[len(prefix):]
		if i := bytes.IndexByte(rest, '"'); i >= 0 && bytes.IndexByte(rest[:i], '\\') < 0 {
			return string(rest[:i]), nil
		}
	}
	var kind struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(line, &kind); err != nil {
		return "", err
	}
	return kind.Type, nil
}

// inUTC returns the record with its times in UTC: pgx reads them in the
// process's zone, and a backup is the same bytes wherever it is made.
func inUTC(rec any) any {
	utc := func(t *time.Time) {
		if t != nil {
			*t = t.UTC()
		}
	}
	switch r := rec.(type) {
	case backupTopic:
		utc(&r.LastActivity)
		return r
	case backupComment:
		utc(&r.Create)
		utc(&r.Update)
		return r
	case backupVote:
		utc(&r.At)
		return r
	case backupActivity:
		utc(&r.Bucket)
		return r
	case backupBan:
		utc(r.Until)
		utc(&r.At)
		return r
	}
	return rec
}
