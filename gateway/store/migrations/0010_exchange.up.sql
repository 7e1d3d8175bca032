-- The message log: every message in and out, as the exact bytes that crossed
-- the wire (the SOAP envelope), with what we made of it.
CREATE TABLE message_log (
    id            INTEGER PRIMARY KEY,
    direction     TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    at            TEXT NOT NULL,             -- RFC 3339, UTC
    peer_guid     TEXT NOT NULL DEFAULT '',
    peer_serial   TEXT NOT NULL DEFAULT '',  -- TLS certificate serial of the peer
    message_type  TEXT NOT NULL DEFAULT '',
    message_guid  TEXT NOT NULL DEFAULT '',
    document_guid TEXT NOT NULL DEFAULT '',
    reply_to      INTEGER REFERENCES message_log(id),
    outcome       TEXT NOT NULL,             -- accepted, refused, replied, sent, failed ...
    reason        TEXT NOT NULL DEFAULT '',  -- refusal or failure reason
    detail        TEXT NOT NULL DEFAULT '',
    size          INTEGER NOT NULL,          -- bytes that crossed the wire
    truncated     INTEGER NOT NULL DEFAULT 0,-- raw holds only a prefix (refused oversize input)
    raw           BLOB NOT NULL
);
CREATE INDEX message_log_at ON message_log(at);
CREATE INDEX message_log_message ON message_log(message_guid);
CREATE INDEX message_log_document ON message_log(document_guid);
CREATE INDEX message_log_peer ON message_log(peer_guid, at);

-- MessageGUIDs of accepted inbound messages, never accepted twice.
CREATE TABLE inbound_messages (
    message_guid_key TEXT PRIMARY KEY,       -- lower case
    sender_guid_key  TEXT NOT NULL,
    log_id           INTEGER NOT NULL REFERENCES message_log(id),
    received_at      TEXT NOT NULL
);

-- Documents received for registration, as the AIS sees them.
CREATE TABLE inbox (
    id                INTEGER PRIMARY KEY,
    sender_guid_key   TEXT NOT NULL,
    sender_guid       TEXT NOT NULL,
    sender_eik        TEXT NOT NULL,
    sender_name       TEXT NOT NULL,
    document_guid_key TEXT NOT NULL,
    document_guid     TEXT NOT NULL,
    message_guid      TEXT NOT NULL,
    received_at       TEXT NOT NULL,
    log_id            INTEGER NOT NULL REFERENCES message_log(id),
    kind              TEXT NOT NULL,
    about             TEXT NOT NULL DEFAULT '',
    document_json     TEXT NOT NULL,          -- the Document without attachment bodies
    comment           TEXT NOT NULL DEFAULT '',
    state             TEXT NOT NULL,          -- received, registered, rejected, closed, stopped
    reg_number        TEXT NOT NULL DEFAULT '',
    reg_date          TEXT NOT NULL DEFAULT '',
    reg_uri_json      TEXT NOT NULL DEFAULT '',
    rejection_reason  TEXT NOT NULL DEFAULT '',
    expect_close      TEXT NOT NULL DEFAULT '',
    updated_at        TEXT NOT NULL,
    UNIQUE (sender_guid_key, document_guid_key)
);
CREATE INDEX inbox_state ON inbox(state, received_at);

CREATE TABLE inbox_attachments (
    inbox_id  INTEGER NOT NULL REFERENCES inbox(id),
    idx       INTEGER NOT NULL,
    file_name TEXT NOT NULL,
    mime_type TEXT NOT NULL,
    comment   TEXT NOT NULL DEFAULT '',
    size      INTEGER NOT NULL,
    content   BLOB NOT NULL,
    PRIMARY KEY (inbox_id, idx)
);

-- Everything we send, durable before the first attempt: documents for
-- registration, status notifications about received ones, status requests.
CREATE TABLE outbox (
    id                 INTEGER PRIMARY KEY,
    kind               TEXT NOT NULL CHECK (kind IN ('registration', 'status', 'status_request')),
    idempotency_key    TEXT UNIQUE,
    recipient_guid_key TEXT NOT NULL,
    recipient_guid     TEXT NOT NULL,
    document_guid_key  TEXT NOT NULL,
    document_guid      TEXT NOT NULL,
    inbox_id           INTEGER REFERENCES inbox(id),
    request_json       TEXT NOT NULL,         -- what the AIS asked to send
    state              TEXT NOT NULL,         -- queued, sending, delivered, failed
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at    TEXT NOT NULL,
    last_error         TEXT NOT NULL DEFAULT '',
    last_message_guid  TEXT NOT NULL DEFAULT '',
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    -- What the recipient says about a sent registration request:
    doc_status         TEXT NOT NULL DEFAULT '',  -- DS_* as last reported
    peer_number        TEXT NOT NULL DEFAULT '',
    peer_date          TEXT NOT NULL DEFAULT '',
    peer_uri_json      TEXT NOT NULL DEFAULT '',
    rejection_reason   TEXT NOT NULL DEFAULT '',
    expect_close       TEXT NOT NULL DEFAULT '',
    status_asked_at    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
CREATE INDEX outbox_document ON outbox(recipient_guid_key, document_guid_key);

CREATE TABLE outbox_events (
    id        INTEGER PRIMARY KEY,
    outbox_id INTEGER NOT NULL REFERENCES outbox(id),
    at        TEXT NOT NULL,
    event     TEXT NOT NULL,
    detail    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_events_outbox ON outbox_events(outbox_id, id);
