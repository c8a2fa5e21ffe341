-- 0005: tickets of the centre's queue (docs/centre-api.yaml).
--
-- A kiosk of a centre takes its numbers from the centre (`kiosk-centre`);
-- it keeps a copy of each one here, for printing and re-printing
-- (`origin = 'centre'`). When the centre cannot be reached within the
-- deadline it numbers from the block the centre assigned it
-- (`origin = 'offline'`), and keeps those rows until the centre
-- acknowledges them (`acked_at_unix_ms`, `centre_ticket_id`). A kiosk of
-- its own (no centre) numbers as before (`origin = 'local'`).
--
-- `idempotency_key` is the key of the request that gave the number (unique,
-- so a retry never stores a ticket twice); `attempted_key` is, for an
-- offline ticket, the key of the centre request that timed out, so the
-- centre can void a number it issued but the kiosk never received.
ALTER TABLE queue_ticket ADD COLUMN origin TEXT NOT NULL DEFAULT 'local'
    CHECK (origin IN ('local', 'centre', 'offline'));
ALTER TABLE queue_ticket ADD COLUMN idempotency_key TEXT;
ALTER TABLE queue_ticket ADD COLUMN attempted_key TEXT;
ALTER TABLE queue_ticket ADD COLUMN centre_ticket_id INTEGER;
ALTER TABLE queue_ticket ADD COLUMN acked_at_unix_ms INTEGER;
CREATE UNIQUE INDEX queue_ticket_idempotency ON queue_ticket (idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX queue_ticket_unacked ON queue_ticket (origin, acked_at_unix_ms);

-- A request for a number sent to the centre whose answer is not in yet. A
-- row left here by a crash names a number nobody holds: the next
-- reconciliation asks the centre to void it if it is still waiting.
CREATE TABLE centre_attempt (
    idempotency_key     TEXT    PRIMARY KEY,
    service             TEXT    NOT NULL,
    started_at_unix_ms  INTEGER NOT NULL
) WITHOUT ROWID;
