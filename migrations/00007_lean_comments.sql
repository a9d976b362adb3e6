-- +goose Up
-- Writes at half the CPU (issue 14). Nothing reads comments_user_latest:
-- readers keep each user's latest comments in memory, built from the
-- topics they load and the log they follow, and yet every comment paid for
-- an entry in it, and every edit and delete too (update_time is in it, so
-- no edit was a HOT update). The foreign key to topics checked, once per
-- inserted row, what the writer has already made sure of in the same
-- transaction: it locks the topic row (or inserts it) before it writes
-- the topic's comments, and no other path inserts comments but the
-- restore, which loads topics first and checks its own counts.
DROP INDEX comments_user_latest;
ALTER TABLE comments DROP CONSTRAINT comments_topic_id_fkey;

-- +goose Down
ALTER TABLE comments ADD CONSTRAINT comments_topic_id_fkey FOREIGN KEY (topic_id) REFERENCES topics;
CREATE INDEX comments_user_latest ON comments (user_name, update_time DESC) WHERE NOT deleted;
