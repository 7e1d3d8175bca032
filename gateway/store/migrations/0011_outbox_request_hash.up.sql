-- What an idempotency key was first used for (SHA-256 of the request in
-- canonical JSON), so that the key reused for a different document is
-- refused rather than answered with the first one's id. Empty for items
-- queued before this column existed, and for status notifications.
ALTER TABLE outbox ADD COLUMN request_hash TEXT NOT NULL DEFAULT '';
