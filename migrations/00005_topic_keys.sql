-- +goose Up
-- A site's own name for a thread (SPEC §13): a keyed topic's id is the
-- UUID version 5 of its key (comment.KeyTopicID), so the primary key alone
-- makes two first comments racing on one key end in one topic, and no
-- index on the key is needed. Null for topics started without one.
ALTER TABLE topics ADD COLUMN topic_key text;

-- +goose Down
ALTER TABLE topics DROP COLUMN topic_key;
