-- The alerts' durable outbox (see docs/alerts.md). An alert is written in
-- the same transaction as the audit event that caused it, with one
-- delivery per receiver configured then; each receiver's deliveries are
-- claimed under a lease, as the webhook queue's are, so that several
-- replicas deliver each alert once between them. Receivers are named by a
-- key (`webhook:<sha256 of the URL, 16 hex>`, `slack:...`): an incoming
-- webhook URL is a secret and is never stored. Kept in step with
-- migrations/sqlite/20261208120000_alerts.sql.
CREATE TABLE alerts (
    id          TEXT    NOT NULL PRIMARY KEY,  -- the CloudEvent id, stable across retries
    type        TEXT    NOT NULL,
    subject     TEXT    NOT NULL,              -- FORGE:OWNER/NAME[#N]
    event       TEXT    NOT NULL,              -- the CloudEvent, as JSON
    created_at  BIGINT  NOT NULL               -- unix ms
);

CREATE TABLE alert_deliveries (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- the order alerts were queued in
    alert_id          TEXT    NOT NULL REFERENCES alerts (id),
    receiver          TEXT    NOT NULL,
    state             TEXT    NOT NULL CHECK (state IN ('pending', 'running', 'delivered', 'failed')),
    attempts          BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at   BIGINT  NOT NULL,        -- unix ms
    lease_owner       TEXT,
    lease_expires_at  BIGINT,
    last_error        TEXT,
    created_at        BIGINT  NOT NULL,
    ended_at          BIGINT,
    UNIQUE (alert_id, receiver)
);

CREATE INDEX alert_deliveries_due ON alert_deliveries (receiver, state, next_attempt_at);
