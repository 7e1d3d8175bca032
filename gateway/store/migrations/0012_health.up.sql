-- One row the readiness check rewrites: a write to the main database file,
-- so a full disk or a read-only file shows as not ready.
CREATE TABLE health (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at TEXT NOT NULL
);

-- Peers' Error notifications name our message by its GUID.
CREATE INDEX outbox_last_message ON outbox(last_message_guid);
