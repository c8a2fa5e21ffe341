-- 0003: online service requests: the outbox and the receipts.
--
-- `outbox` holds each request until the portal confirms it (DESIGN.md §6).
-- The payload (the form with personal data, and the consent record) is
-- sealed with ChaCha20-Poly1305 under the kiosk's own key (RFC 8439; the
-- key file is named in the board configuration), with a fresh 12-byte
-- nonce per row and the idempotency key as associated data, so no name or
-- ID number is ever in this file in plaintext, and a payload moved to
-- another row does not open.
--
-- States: `pending` (waiting for `next_attempt_at_unix_ms`), `sending`
-- (claimed by a delivery pass: a row still `sending` at start-up was cut
-- off mid-send and goes back to `pending`; the idempotency key makes the
-- re-send harmless), `failed` (the portal refused it with a 4xx: terminal,
-- for staff). A row is deleted in the same transaction that records the
-- portal's dossier code in `request_receipt`.
--
-- `request_receipt` keeps, without personal data, what the citizen's
-- paper refers to: the kiosk's reference, the procedure, and once
-- delivered the dossier code, so a status lookup by either works.
CREATE TABLE outbox (
    id                        INTEGER PRIMARY KEY,
    idempotency_key           TEXT    NOT NULL UNIQUE CHECK (length(idempotency_key) = 32),
    reference                 TEXT    NOT NULL UNIQUE,
    procedure                 TEXT    NOT NULL,
    state                     TEXT    NOT NULL CHECK (state IN ('pending', 'sending', 'failed')),
    attempts                  INTEGER NOT NULL DEFAULT 0,
    created_at_unix_ms        INTEGER NOT NULL,
    next_attempt_at_unix_ms   INTEGER NOT NULL,
    claimed_at_unix_ms        INTEGER,
    last_error                TEXT,
    failed_http_status        INTEGER,
    nonce                     BLOB    NOT NULL CHECK (length(nonce) = 12),
    payload                   BLOB    NOT NULL
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at_unix_ms);

CREATE TABLE request_receipt (
    reference                 TEXT    PRIMARY KEY,
    idempotency_key           TEXT    NOT NULL UNIQUE,
    procedure                 TEXT    NOT NULL,
    state                     TEXT    NOT NULL CHECK (state IN ('queued', 'delivered', 'failed')),
    created_at_unix_ms        INTEGER NOT NULL,
    dossier_code              TEXT    UNIQUE,
    delivered_at_unix_ms      INTEGER,
    failed_http_status        INTEGER
);
