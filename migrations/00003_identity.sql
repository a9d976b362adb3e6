-- +goose Up
-- Identity (SPEC §8): every comment records its author's stable id, a
-- token's sub. '' is nobody's: comments written before, or without tokens
-- (AUTH_MODE=none), where a name proves nothing; with tokens, only a
-- moderator may delete those, and nobody edit them. The default keeps a
-- writer of the previous version, which does not know the column, working
-- beside a new one.
ALTER TABLE comments ADD COLUMN author_id text NOT NULL DEFAULT '';

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
