-- 0002: satisfaction ratings sent by kiosks (POST /v1/ratings), counted by
-- the statistics (GET /v1/stats, the Prometheus text). No personal data: a
-- score, what was rated and the service, the kiosk and the time.
CREATE TABLE rating (
    id               bigserial PRIMARY KEY,
    centre_id        text     NOT NULL,
    day              text     NOT NULL CHECK (day ~ '^[0-9]{8}$'),
    kiosk_id         text     NOT NULL,
    idempotency_key  text     NOT NULL CHECK (length(idempotency_key) BETWEEN 8 AND 128),
    score            smallint NOT NULL CHECK (score BETWEEN 1 AND 5),
    kind             text     NOT NULL CHECK (kind IN ('ticket', 'request', 'visit')),
    service          text,
    at_ms            bigint   NOT NULL,
    -- A kiosk's retry of one rating is counted once.
    CONSTRAINT rating_idempotency_unique UNIQUE (centre_id, kiosk_id, idempotency_key)
);
CREATE INDEX rating_day ON rating (centre_id, day);
