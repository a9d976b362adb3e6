package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/jackc/pgx/v5/pgxpool"
)

// baselineTable is what the honest write baseline inserts into: a comment
// row as the simplest service would keep it, with nothing else.
const baselineTable = `CREATE TABLE IF NOT EXISTS baseline_comments (
	id          bigserial   PRIMARY KEY,
	topic_id    uuid        NOT NULL,
	parent_path text        NOT NULL,
	user_name   text        NOT NULL,
	content     text        NOT NULL,
	create_time timestamptz NOT NULL DEFAULT now()
)`

// serveBaseline is the honest write baseline of issue 14, what the
// simplest comment service does: a trivial Go handler that decodes the
// body Parley's POST /post_comment takes and INSERTs the comment, one
// autocommitted statement per request, behind the same nginx. Parley does
// more for the same request (an event log, the current state, readers
// kept fresh); this is the cost of a comment without any of it.
func serveBaseline(addr, db string) {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(db)
	fail(err)
	cfg.MaxConns = 32 // one per client connection of the write rounds
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	fail(err)
	_, err = pool.Exec(ctx, baselineTable)
	fail(err)
	fail(http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			TopicID    string `json:"topic_id"`
			ParentPath string `json:"parent_path"`
			User       string `json:"user"`
			Content    string `json:"content"`
		}
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/healthz" {
			_, _ = w.Write([]byte(`{}`))
			return
		}
		if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&in) != nil || in.User == "" || in.Content == "" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"bad request"}`))
			return
		}
		var id int64
		err := pool.QueryRow(r.Context(), `INSERT INTO baseline_comments (topic_id, parent_path, user_name, content) VALUES ($1, $2, $3, $4) RETURNING id`,
			in.TopicID, in.ParentPath, in.User, in.Content).Scan(&id)
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"error":"insert failed"}`))
			return
		}
		out := append([]byte(`{"topic_id":"`), in.TopicID...)
		out = append(out, `","comment_id":`...)
		out = strconv.AppendInt(out, id, 10)
		_, _ = w.Write(append(out, '}'))
	})))
}
