CREATE TABLE inbound_messages (
    message_guid_key TEXT PRIMARY KEY,
    sender_guid_key  TEXT NOT NULL,
    log_id           INTEGER NOT NULL REFERENCES message_log(id),
    received_at      TEXT NOT NULL
);
INSERT INTO inbound_messages (message_guid_key, sender_guid_key, log_id, received_at)
    SELECT message_guid, peer_guid, id, at FROM message_log WHERE seen = 1;
DROP INDEX message_log_seen;
ALTER TABLE message_log DROP COLUMN seen;
DROP INDEX inbox_attachments_file;
DROP INDEX message_log_raw_file;
ALTER TABLE outbox DROP COLUMN files;
ALTER TABLE inbox_attachments DROP COLUMN file;
ALTER TABLE message_log DROP COLUMN raw_file;
