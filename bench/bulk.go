package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/store"
)

// bulkStore fills an empty, migrated database with topics×perTopic comments
// of contentSize bytes, as the writer would have left it (state tables, one
// created event per comment, the log head), using COPY: posting a million
// comments through the API would take the whole benchmark's time budget.
// Each comment replies to a random earlier comment of its topic, which
// gives trees of logarithmic depth.
func bulkStore(ctx context.Context, dbURL string, topics, perTopic, contentSize, votesPer int) error {
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := store.Migrate(ctx, pool); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields("the of and a to in is you that it he was for on are as with his they at be this have from or one had by word but not what all were we when your can said there use an each which she do how their if will up other about out many then them these so some her would make like him into time has look two more write go see number no way could people my than first water been call who oil its now find long down day did get come made may part")
	text := func() string {
		var b strings.Builder
		for b.Len() < contentSize {
			b.WriteString(words[rng.IntN(len(words))])
			b.WriteByte(' ')
		}
		return b.String()[:contentSize]
	}
	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	type row struct {
		topic    comment.TopicID
		id       int32
		path     comment.Path
		user     string
		text     string
		at       time.Time
		up, down int32
	}
	var pos int64
	var rows []row
	var topicRows, activityRows, voteRows [][]any
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		if _, err := pool.CopyFrom(ctx, pgx.Identifier{"topics"}, []string{"topic_id", "next_comment_id", "last_activity"},
			pgx.CopyFromRows(topicRows)); err != nil {
			return err
		}
		if _, err := pool.CopyFrom(ctx, pgx.Identifier{"topic_activity"}, []string{"topic_id", "bucket", "comments", "views"},
			pgx.CopyFromRows(activityRows)); err != nil {
			return err
		}
		_, err := pool.CopyFrom(ctx, pgx.Identifier{"comments"},
			[]string{"topic_id", "comment_id", "path", "user_name", "content", "deleted", "create_time", "update_time", "up", "down"},
			pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
				r := rows[i]
				return []any{[16]byte(r.topic), r.id, []int32(r.path), r.user, r.text, false, r.at, r.at, r.up, r.down}, nil
			}))
		if err != nil {
			return err
		}
		if _, err := pool.CopyFrom(ctx, pgx.Identifier{"votes"}, []string{"topic_id", "comment_id", "user_id", "value", "at"},
			pgx.CopyFromRows(voteRows)); err != nil {
			return err
		}
		_, err = pool.CopyFrom(ctx, pgx.Identifier{"events"}, []string{"position", "kind", "topic_id", "at", "payload"},
			pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
				r := rows[i]
				payload, _ := json.Marshal(comment.Created{Path: r.path, User: r.user, Content: r.text})
				return []any{pos + int64(i) + 1, "created", [16]byte(r.topic), r.at, payload}, nil
			}))
		if err != nil {
			return err
		}
		pos += int64(len(rows))
		rows, topicRows, activityRows, voteRows = rows[:0], topicRows[:0], activityRows[:0], voteRows[:0]
		return nil
	}
	for t := range topics {
		topic := comment.NewTopicID()
		paths := make([]comment.Path, perTopic)
		var last time.Time
		for i := range perTopic {
			if i == 0 {
				paths[0] = comment.RootPath
			} else {
				paths[i] = paths[rng.IntN(i)].Child(int32(i))
			}
			last = start.Add(time.Duration(t*perTopic+i) * time.Microsecond).Truncate(time.Millisecond)
			r := row{topic: topic, id: int32(i), path: paths[i], user: fmt.Sprint("user", rng.IntN(10000)), text: text(), at: last}
			// Each comment gets votesPer votes from distinct voters, each up
			// two times in three. The log does not hold them: the snapshot
			// is what readers load, and the head sits past the comments.
			for v := range votesPer {
				value := int16(1)
				if rng.IntN(3) == 0 {
					value = -1
					r.down++
				} else {
					r.up++
				}
				voteRows = append(voteRows, []any{[16]byte(topic), int32(i), fmt.Sprint("voter", (i+v*7919)%100000), value, last})
			}
			rows = append(rows, r)
		}
		topicRows = append(topicRows, []any{[16]byte(topic), int32(perTopic), last})
		activityRows = append(activityRows, []any{[16]byte(topic), last.Truncate(time.Minute), int32(perTopic), int64(0)})
		if len(rows) >= 50000 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	_, err = pool.Exec(ctx, `UPDATE log_head SET position = $1`, pos)
	if err == nil {
		_, err = pool.Exec(ctx, `ANALYZE`)
	}
	return err
}

// rawBytes is the data the comments carry: content, user, path (4 bytes an
// id), topic id, comment id, two times and the deleted flag.
func rawBytes(ctx context.Context, dbURL string) (raw, table int64, err error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close(ctx)
	err = conn.QueryRow(ctx, `SELECT sum(octet_length(content) + octet_length(user_name) + 4*cardinality(path) + 16 + 4 + 16 + 1)::bigint,
		pg_total_relation_size('comments') FROM comments`).Scan(&raw, &table)
	return raw, table, err
}
