-- The test register's own database: DAEU's side of the register.
CREATE TABLE entities (
    guid_key        TEXT PRIMARY KEY,              -- lower-case GUID with braces
    guid            TEXT NOT NULL,
    eik             TEXT NOT NULL,
    parent_guid     TEXT NOT NULL DEFAULT '',
    name            TEXT NOT NULL,
    phone           TEXT NOT NULL DEFAULT '',
    fax             TEXT NOT NULL DEFAULT '',
    email           TEXT NOT NULL DEFAULT '',
    certificate_sn  TEXT NOT NULL DEFAULT '',      -- upper-case hex
    status          TEXT NOT NULL CHECK (status IN ('Active', 'Inactive', 'TemporarilyInactive')),
    services_json   TEXT NOT NULL DEFAULT '[]',
    last_change     INTEGER NOT NULL               -- Unix seconds (milliseconds from 0002)
);
CREATE INDEX entities_eik ON entities(eik);
CREATE INDEX entities_cert ON entities(certificate_sn);
CREATE INDEX entities_last_change ON entities(last_change);

-- The register-wide LastChange: every change takes a later second than
-- this, so GetNewRecords(LastChange) never misses one.
CREATE TABLE register_meta (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    last_change INTEGER NOT NULL
);

-- Joining cases (PROTOCOL.md §7): dates are civil dates YYYY-MM-DD in Sofia.
CREATE TABLE joining_cases (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    guid_key        TEXT NOT NULL REFERENCES entities(guid_key) ON DELETE CASCADE,
    applied_on      TEXT NOT NULL,
    cert_issued_on  TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL CHECK (state IN ('open', 'activated', 'withdrawn')),
    opened_at       TEXT NOT NULL,                 -- RFC 3339
    closed_at       TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX joining_cases_one_open ON joining_cases(guid_key) WHERE state = 'open';

CREATE TABLE verdicts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id     INTEGER NOT NULL REFERENCES joining_cases(id) ON DELETE CASCADE,
    recorded_at TEXT NOT NULL,                     -- RFC 3339
    verdict     TEXT NOT NULL CHECK (verdict IN ('pass', 'fail')),
    report      TEXT NOT NULL DEFAULT ''           -- path of the conformance report
);
