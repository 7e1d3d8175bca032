-- Status polling backs off per document: how many DocumentStatusRequests
-- about it went out without moving it past "waiting", and when the next
-- one may go ('' until the first).
ALTER TABLE outbox ADD COLUMN status_asks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN status_next_at TEXT NOT NULL DEFAULT '';
