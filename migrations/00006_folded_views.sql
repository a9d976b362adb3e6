-- +goose Up
-- Views folded out of view_ranges (issue 13): a writer job moves the ranges
-- of a topic into per-comment counts, in one transaction, so a comment's
-- view count is this column plus the ranges still covering it, the same
-- total before and after. The default keeps a writer of the previous
-- version, which does not know the column, working beside a new one.
ALTER TABLE comments ADD COLUMN views bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE comments DROP COLUMN views;
