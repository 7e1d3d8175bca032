-- Bulk bytes may live in files beside the database (gateway/blob, the
-- folder store.FilesDir names): a row then names its file by the SHA-256
-- of the content and keeps no bytes itself. Small content stays in rows.
ALTER TABLE message_log ADD COLUMN raw_file TEXT NOT NULL DEFAULT '';
ALTER TABLE inbox_attachments ADD COLUMN file TEXT NOT NULL DEFAULT '';
-- The files an outgoing request's attachments are in, space-separated.
ALTER TABLE outbox ADD COLUMN files TEXT NOT NULL DEFAULT '';
CREATE INDEX message_log_raw_file ON message_log(raw_file) WHERE raw_file != '';
CREATE INDEX inbox_attachments_file ON inbox_attachments(file) WHERE file != '';

-- A MessageGUID is accepted once: the mark is on the message's own log
-- entry (one row per message) instead of a table of its own.
ALTER TABLE message_log ADD COLUMN seen INTEGER NOT NULL DEFAULT 0;
UPDATE message_log SET seen = 1 WHERE id IN (SELECT log_id FROM inbound_messages);
CREATE UNIQUE INDEX message_log_seen ON message_log(message_guid) WHERE seen = 1;
DROP TABLE inbound_messages;
