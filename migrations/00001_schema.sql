-- +goose Up

-- The log's head: the last position handed out. Every append takes its
-- positions by updating this one row as its last statement before COMMIT, so
-- positions are given in commit order and without gaps (docs/event-log.md).
CREATE TABLE log_head (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    position  bigint  NOT NULL
);
INSERT INTO log_head (position) VALUES (0);

-- The append-only event log: one row per accepted command.
CREATE TABLE events (
    position bigint      PRIMARY KEY,
    kind     text        NOT NULL CHECK (kind IN ('created', 'edited', 'deleted', 'views')),
    topic_id uuid,                -- null for view batches, which span topics
    at       timestamptz NOT NULL,
    payload  bytea       NOT NULL -- the event's JSON (comment.Event); bytes, not jsonb:
                                  -- appends stay cheap and the database never looks inside
);

-- Current state, written in the same transaction as the event it follows from.
-- Every topic table is keyed by topic_id first so it can be distributed by it.
CREATE TABLE topics (
    topic_id        uuid        PRIMARY KEY,
    next_comment_id integer     NOT NULL, -- also the topic's comment count
    last_activity   timestamptz NOT NULL  -- newest create or edit of any comment
);

CREATE TABLE comments (
    topic_id    uuid        NOT NULL REFERENCES topics,
    comment_id  integer     NOT NULL,
    path        integer[]   NOT NULL, -- ids from the root; array order is tree order
    user_name   text        NOT NULL,
    content     text        NOT NULL, -- '' once deleted
    deleted     boolean     NOT NULL DEFAULT false,
    create_time timestamptz NOT NULL,
    update_time timestamptz NOT NULL,
    PRIMARY KEY (topic_id, comment_id)
);

-- A user's latest comments, newest first, without reading anybody else's.
CREATE INDEX comments_user_latest ON comments (user_name, update_time DESC) WHERE NOT deleted;

-- Views, aggregated: each row counts GET responses that returned the same
-- range of a topic (comment.ViewRange). A flush upserts one row per distinct
-- range, so its cost depends neither on the number of GETs nor on how many
-- comments a range covers; a comment's view count is the sum over the ranges
-- that cover it.
CREATE TABLE view_ranges (
    topic_id   uuid      NOT NULL,
    first_path integer[] NOT NULL,
    last_path  integer[] NOT NULL,
    max_id     integer   NOT NULL,
    views      bigint    NOT NULL,
    PRIMARY KEY (topic_id, first_path, last_path, max_id)
);

-- Activity per topic and minute, from which the readers compute the decayed
-- hot-topic score with their own half-life and weights.
CREATE TABLE topic_activity (
    topic_id uuid        NOT NULL,
    bucket   timestamptz NOT NULL,
    comments integer     NOT NULL DEFAULT 0,
    views    bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (topic_id, bucket)
);

-- Idempotency-Key: the first successful response for a key, kept at least
-- IDEMPOTENCY_TTL (24h by default).
CREATE TABLE idempotency_keys (
    key         text        PRIMARY KEY,
    fingerprint bytea       NOT NULL, -- sha256 of the route and the raw body
    status      smallint    NOT NULL,
    result      bytea       NOT NULL, -- the response body (JSON) without "position"
    position    bigint      NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys, topic_activity, view_ranges, comments, topics, events, log_head;
