-- The mail channel's outgoing queue (gateway/mail/mailq): signed mails,
-- kept byte for byte, waiting for the organisation's submission server.
CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY,
    idempotency_key TEXT UNIQUE,                 -- NULL when the caller gave none
    kind            TEXT NOT NULL,               -- receipt, refusal, document
    ref             TEXT NOT NULL DEFAULT '',    -- what it answers, e.g. an inbox item
    mail_from       TEXT NOT NULL,               -- envelope sender
    rcpt_to         TEXT NOT NULL,               -- envelope recipient (one)
    message_id      TEXT NOT NULL,
    body            BLOB NOT NULL,               -- the signed message as it goes out
    state           TEXT NOT NULL,               -- queued, sending, sent, failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    sent_at         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX mail_outbox_due ON mail_outbox (state, next_attempt_at);
