ALTER TABLE outbox DROP COLUMN status_next_at;
ALTER TABLE outbox DROP COLUMN status_asks;
