ALTER TABLE message_log DROP COLUMN raw_sha256;
