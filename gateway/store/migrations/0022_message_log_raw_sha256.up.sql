-- When retention drops a logged message's exact bytes, the row keeps their
-- SHA-256 (hex), so the record still proves which bytes crossed the wire.
ALTER TABLE message_log ADD COLUMN raw_sha256 TEXT NOT NULL DEFAULT '';
