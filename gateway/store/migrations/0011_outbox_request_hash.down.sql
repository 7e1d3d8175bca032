ALTER TABLE outbox DROP COLUMN request_hash;
