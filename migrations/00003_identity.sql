-- +goose Up
-- Identity (SPEC §8): every comment records its author's stable id (a
-- token's sub; in AUTH_MODE=none, the user name). Rows from before have ''
-- and are read as their user_name; the default keeps a writer of the
-- previous version, which does not know the column, working beside a new one.
ALTER TABLE comments ADD COLUMN author_id text NOT NULL DEFAULT '';
UPDATE comments SET author_id = user_name;

-- Bans in force or past: a user's writes are refused until `until` (for
-- good when null). One row per user, the last ban given.
CREATE TABLE bans (
    user_id   text        PRIMARY KEY,
    until     timestamptz,
    reason    text        NOT NULL DEFAULT '',
    banned_by text        NOT NULL,
    at        timestamptz NOT NULL
);

ALTER TABLE events DROP CONSTRAINT events_kind_check;
ALTER TABLE events ADD CONSTRAINT events_kind_check CHECK (kind IN ('created', 'edited', 'deleted', 'views', 'banned'));

-- +goose Down
ALTER TABLE events DROP CONSTRAINT events_kind_check;
ALTER TABLE events ADD CONSTRAINT events_kind_check CHECK (kind IN ('created', 'edited', 'deleted', 'views'));
DROP TABLE bans;
ALTER TABLE comments DROP COLUMN author_id;
