-- +goose Up
-- A replayed response takes its status from its route now (the HTTP edge
-- chooses statuses), so writers no longer store it. The column stays, with a
-- default, so that a writer of the previous version running beside a new one
-- during an upgrade still reads and writes it; a later migration drops it.
-- Such an old writer replays a key a new writer stored with status 200.
ALTER TABLE idempotency_keys ALTER COLUMN status SET DEFAULT 200;

-- +goose Down
ALTER TABLE idempotency_keys ALTER COLUMN status DROP DEFAULT;
