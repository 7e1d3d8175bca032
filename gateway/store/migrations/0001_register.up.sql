-- The local copy of the DAEU participant register.
CREATE TABLE register_entities (
    guid_key        TEXT PRIMARY KEY,          -- lower-case GUID with braces
    guid            TEXT NOT NULL,             -- as the register wrote it
    eik             TEXT NOT NULL,
    parent_guid     TEXT NOT NULL DEFAULT '',
    name            TEXT NOT NULL,
    phone           TEXT NOT NULL DEFAULT '',
    fax             TEXT NOT NULL DEFAULT '',
    email           TEXT NOT NULL DEFAULT '',
    certificate_sn  TEXT NOT NULL DEFAULT '',  -- normalised upper-case hex
    status          TEXT NOT NULL,
    last_change     TEXT NOT NULL,             -- RFC 3339
    removed         INTEGER NOT NULL DEFAULT 0,
    services_json   TEXT NOT NULL DEFAULT '[]',
    synced_at       TEXT NOT NULL
);
CREATE INDEX register_entities_eik ON register_entities(eik);
CREATE INDEX register_entities_cert ON register_entities(certificate_sn);

-- One row: where the sync stands.
CREATE TABLE register_sync (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    last_full_at        TEXT NOT NULL DEFAULT '',
    last_incremental_at TEXT NOT NULL DEFAULT '',
    last_success_at     TEXT NOT NULL DEFAULT '',
    cursor              TEXT NOT NULL DEFAULT '',  -- the register's LastChange, verbatim
    last_error          TEXT NOT NULL DEFAULT '',
    last_error_at       TEXT NOT NULL DEFAULT '',
    consecutive_failures INTEGER NOT NULL DEFAULT 0
);
INSERT INTO register_sync (id) VALUES (1);
