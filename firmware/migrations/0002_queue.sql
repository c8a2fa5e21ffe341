-- 0002: queue tickets.
--
-- One row per number drawn. The display number (`A012`, `AU003`) restarts
-- every Vietnamese local day and never repeats within one (UNIQUE); the row
-- id is the ticket's identity. A row is written in the same IMMEDIATE
-- transaction that reads the last number, so a crash or power cut between
-- drawing and printing leaves the number used, never handed out twice.
--
-- A ticket counts as issued only once `printed_at_unix_ms` is set; until
-- then it is shown on screen and stays re-printable. No personal data:
-- priority is the category only, verification the way identity was checked.
CREATE TABLE queue_ticket (
    id                  INTEGER PRIMARY KEY,
    day                 TEXT    NOT NULL CHECK (length(day) = 8),
    service             TEXT    NOT NULL,
    lane                TEXT    NOT NULL CHECK (lane IN ('normal', 'priority')),
    seq                 INTEGER NOT NULL CHECK (seq BETWEEN 1 AND 999),
    number              TEXT    NOT NULL,
    priority            TEXT    CHECK (priority IN ('elderly', 'disabled', 'pregnant', 'small_child')),
    verification        TEXT    NOT NULL,
    drawn_at_unix_ms    INTEGER NOT NULL,
    printed_at_unix_ms  INTEGER,
    print_attempts      INTEGER NOT NULL DEFAULT 0,
    last_print_problem  TEXT,
    called_at_unix_ms   INTEGER,
    counter             INTEGER,
    UNIQUE (day, number),
    UNIQUE (day, service, lane, seq)
);
CREATE INDEX queue_ticket_waiting ON queue_ticket (day, service, called_at_unix_ms);
