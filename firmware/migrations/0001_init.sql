-- 0001: the audit log and a small settings table.
--
-- The audit log records what the kiosk did (journeys ended, staff called,
-- database moved aside, ...). `detail` is JSON and NEVER holds personal
-- data: no name, ID number, date of birth, address, photo or face data.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at_unix_ms  INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    detail      TEXT    NOT NULL CHECK (json_valid(detail))
);
CREATE INDEX audit_log_at ON audit_log (at_unix_ms);

-- Kiosk settings that change at run time (install identity, last reset).
CREATE TABLE kv (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
