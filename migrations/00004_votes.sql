-- +goose Up
-- Votes (SPEC §10). A comment's counts are kept on its row, written with
-- the vote in the same transaction, so that a reader loading a tree reads
-- them with the comment and the writer answers them without counting. The
-- defaults keep a writer of the previous version working beside a new one.
ALTER TABLE comments ADD COLUMN up integer NOT NULL DEFAULT 0, ADD COLUMN down integer NOT NULL DEFAULT 0;

-- One row per user and comment with a vote in force: the last one given.
-- A withdrawn vote (0) deletes the row.
CREATE TABLE votes (
    topic_id   uuid        NOT NULL,
    comment_id integer     NOT NULL,
    user_id    text        NOT NULL,
    value      smallint    NOT NULL CHECK (value IN (-1, 1)),
    at         timestamptz NOT NULL,
    PRIMARY KEY (topic_id, comment_id, user_id)
);

-- Votes given per topic and minute feed the hot score (HOT_VOTE_WEIGHT).
ALTER TABLE topic_activity ADD COLUMN votes integer NOT NULL DEFAULT 0;

ALTER TABLE events DROP CONSTRAINT events_kind_check;
ALTER TABLE events ADD CONSTRAINT events_kind_check CHECK (kind IN ('created', 'edited', 'deleted', 'views', 'banned', 'voted'));

-- +goose Down
ALTER TABLE events DROP CONSTRAINT events_kind_check;
ALTER TABLE events ADD CONSTRAINT events_kind_check CHECK (kind IN ('created', 'edited', 'deleted', 'views', 'banned'));
ALTER TABLE topic_activity DROP COLUMN votes;
DROP TABLE votes;
ALTER TABLE comments DROP COLUMN up, DROP COLUMN down;
