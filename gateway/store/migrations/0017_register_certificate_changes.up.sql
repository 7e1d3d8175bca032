-- When our copy of the register saw a participant's transport certificate
-- serial change: the rotation grace rule reads our own entry's last change
-- (a peer's Error that blames our certificate is retried for a while after
-- it), and operators see who rotated when.
CREATE TABLE register_certificate_changes (
    id          INTEGER PRIMARY KEY,
    guid_key    TEXT NOT NULL,             -- lower-case GUID with braces
    old_serial  TEXT NOT NULL,             -- as the register wrote it
    new_serial  TEXT NOT NULL,
    seen_at     TEXT NOT NULL              -- when the sync applied it, RFC 3339
);
CREATE INDEX register_certificate_changes_guid ON register_certificate_changes(guid_key, seen_at);
