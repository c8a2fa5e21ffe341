-- 0003: the counter and hall-display pages (docs/architecture.md "The
-- counter and display pages").
--
-- identity_packet: what the chip verified about a ticket's holder, sealed
-- with ChaCha20-Poly1305 under the centre's identity key (associated data:
-- the centre's id and the ticket's id, so a row cannot be moved to another
-- ticket). Deleted when its ticket is served or a no-show, and at day end.
CREATE TABLE identity_packet (
    ticket_id   bigint  PRIMARY KEY REFERENCES ticket (id) ON DELETE CASCADE,
    centre_id   text    NOT NULL,
    day         text    NOT NULL CHECK (day ~ '^[0-9]{8}$'),
    nonce       bytea   NOT NULL CHECK (length(nonce) = 12),
    sealed      bytea   NOT NULL,
    stored_at_ms bigint NOT NULL
);
CREATE INDEX identity_packet_day ON identity_packet (centre_id, day);

-- Every attempt to view a packet: who, where, when and what came of it.
-- No personal data (the packet itself is never copied here).
CREATE TABLE identity_view (
    id          bigserial PRIMARY KEY,
    centre_id   text    NOT NULL,
    ticket_id   bigint  NOT NULL,
    staff_id    text    NOT NULL,
    counter     integer NOT NULL,
    at_ms       bigint  NOT NULL,
    outcome     text    NOT NULL CHECK (outcome IN ('shown', 'absent', 'gone', 'not_at_your_counter', 'undecryptable'))
);
CREATE INDEX identity_view_ticket ON identity_view (ticket_id);

-- Failed PINs per staff id on the counter page: 5 in a row lock the id
-- for 5 minutes, across centre restarts.
CREATE TABLE staff_lockout (
    centre_id        text    NOT NULL,
    staff_id         text    NOT NULL,
    failures         integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    locked_until_ms  bigint,
    PRIMARY KEY (centre_id, staff_id)
);

-- Page sessions (a staff member at a counter, or a hall display): only
-- the SHA-256 of the cookie's token is kept.
CREATE TABLE page_session (
    token_sha256   bytea   PRIMARY KEY CHECK (length(token_sha256) = 32),
    centre_id      text    NOT NULL,
    kind           text    NOT NULL CHECK (kind IN ('staff', 'display')),
    principal      text    NOT NULL,
    counter        integer CHECK (counter BETWEEN 1 AND 65535),
    created_at_ms  bigint  NOT NULL,
    expires_at_ms  bigint  NOT NULL
);
CREATE INDEX page_session_expiry ON page_session (expires_at_ms);
