-- 0001: the centre's queue (docs/centre-api.yaml, docs/architecture.md
-- "The centre").
--
-- Shaped after Novo SGA's atendimento (one row per ticket with its arrival,
-- call and end times and a status) and TheQ's periods (each change of
-- state is a row of its own: `ticket_event`, what waiting and service
-- times and no-shows are counted from). No personal data anywhere: numbers,
-- codes, times, kiosk and counter ids.

-- One row per centre, local day and service: the issue transaction updates
-- it (a row lock that serialises numbering of one service, nothing else),
-- and calls lock it so two counters never take the same ticket.
CREATE TABLE service_day (
    centre_id      text    NOT NULL,
    day            text    NOT NULL CHECK (day ~ '^[0-9]{8}$'),
    service        text    NOT NULL,
    issued         integer NOT NULL DEFAULT 0 CHECK (issued >= 0),
    last_normal    integer NOT NULL DEFAULT 0 CHECK (last_normal BETWEEN 0 AND 999),
    last_priority  integer NOT NULL DEFAULT 0 CHECK (last_priority BETWEEN 0 AND 999),
    PRIMARY KEY (centre_id, day, service)
);

CREATE TABLE ticket (
    id                 bigserial PRIMARY KEY,
    centre_id          text     NOT NULL,
    day                text     NOT NULL CHECK (day ~ '^[0-9]{8}$'),
    issued_service     text     NOT NULL,
    lane               text     NOT NULL CHECK (lane IN ('normal', 'priority')),
    seq                integer  NOT NULL CHECK (seq BETWEEN 1 AND 999),
    number             text     NOT NULL,
    service            text     NOT NULL,
    priority           text     CHECK (priority IN ('elderly', 'disabled', 'pregnant', 'small_child')),
    verification       text     NOT NULL,
    kiosk_id           text     NOT NULL,
    idempotency_key    text     NOT NULL CHECK (length(idempotency_key) BETWEEN 8 AND 128),
    origin             text     NOT NULL CHECK (origin IN ('centre', 'offline')),
    state              text     NOT NULL CHECK (state IN ('waiting', 'called', 'served', 'no_show', 'void')),
    drawn_at_ms        bigint   NOT NULL,
    received_at_ms     bigint   NOT NULL,
    counter            integer  CHECK (counter BETWEEN 1 AND 65535),
    called_at_ms       bigint,
    first_called_at_ms bigint,
    finished_at_ms     bigint,
    recalls            integer  NOT NULL DEFAULT 0,
    -- Numbers are unique per centre, local day and service across every
    -- kiosk: this constraint, not the application, is what guarantees it.
    CONSTRAINT ticket_number_unique UNIQUE (centre_id, day, issued_service, lane, seq),
    CONSTRAINT ticket_display_unique UNIQUE (centre_id, day, number),
    -- A kiosk's retry with the same key finds its first ticket.
    CONSTRAINT ticket_idempotency_unique UNIQUE (centre_id, kiosk_id, idempotency_key)
);
CREATE INDEX ticket_waiting ON ticket (centre_id, day, service) WHERE state = 'waiting';
CREATE INDEX ticket_at_counter ON ticket (centre_id, day, counter) WHERE state = 'called';

-- Every change of a ticket's state, append-only: issued, recorded
-- (offline), called, recalled, served, no_show, transferred, voided.
CREATE TABLE ticket_event (
    id         bigserial PRIMARY KEY,
    ticket_id  bigint  NOT NULL REFERENCES ticket (id),
    at_ms      bigint  NOT NULL,
    kind       text    NOT NULL,
    counter    integer,
    detail     text
);
CREATE INDEX ticket_event_ticket ON ticket_event (ticket_id);
