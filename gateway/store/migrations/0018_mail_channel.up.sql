-- The e-mail channel wired into the inbox and the outbox (gateway/mail/mailbox):
-- a received document says which channel brought it; one that came by
-- e-mail names its sender's address (sender_guid is then empty).
ALTER TABLE inbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'seos';   -- seos, email
ALTER TABLE inbox ADD COLUMN sender_email TEXT NOT NULL DEFAULT '';

-- Every mail taken into the inbox, so that a re-delivery is taken once:
-- the intake's name for it (stable over IMAP) and its SHA-256 (an MTA that
-- lost our 250 sends the same bytes again under a new SMTP transaction).
CREATE TABLE inbound_mail (
    intake_id   TEXT PRIMARY KEY,
    sha256      TEXT NOT NULL,                 -- hex, lower case
    inbox_id    INTEGER NOT NULL REFERENCES inbox(id),
    received_at TEXT NOT NULL
);
CREATE INDEX inbound_mail_sha256 ON inbound_mail(sha256);

-- A document the AIS sent by e-mail: its outbox row stands for it in the
-- AIS's numbering; the signed mail waits in mail_outbox (mail_id), whose
-- state is the document's. 0 for documents sent over SEOS.
ALTER TABLE outbox ADD COLUMN mail_id INTEGER NOT NULL DEFAULT 0;
