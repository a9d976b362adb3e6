-- +goose Up
-- A replayed response takes its status from its route, as the first one
-- did (the HTTP edge chooses statuses); storing it again was redundant.
ALTER TABLE idempotency_keys DROP COLUMN status;

-- +goose Down
ALTER TABLE idempotency_keys ADD COLUMN status smallint NOT NULL DEFAULT 200;
