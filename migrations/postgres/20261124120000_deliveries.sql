-- The durable queue of webhook deliveries. Kept in step with
-- migrations/sqlite/20261124120000_deliveries.sql: same columns, same
-- meaning; only the spelling of types differs.
--
-- Times are unix milliseconds (UTC) in BIGINT columns, the one time
-- representation both databases store and compare alike.
CREATE TABLE deliveries (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    forge            TEXT   NOT NULL CHECK (forge IN ('github', 'gitlab')),
    delivery_id      TEXT   NOT NULL,  -- X-GitHub-Delivery, or GitLab's event UUID
    event            TEXT   NOT NULL,  -- X-GitHub-Event / X-Gitlab-Event
    payload          BYTEA  NOT NULL,  -- the raw body, as signed, so a restart can re-evaluate
    received_at      BIGINT NOT NULL,
    state            TEXT   NOT NULL DEFAULT 'queued'
                     CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts         BIGINT NOT NULL DEFAULT 0,  -- claims so far
    next_attempt_at  BIGINT NOT NULL,  -- a queued delivery is not claimed before this
    lease_owner      TEXT,             -- the worker that claimed it last
    lease_expires_at BIGINT,           -- after this, a running delivery may be reclaimed
    last_error       TEXT,             -- why the last attempt was retried or failed
    -- A redelivery of the same webhook is acknowledged, not queued twice.
    UNIQUE (forge, delivery_id),
    CHECK (state <> 'running' OR (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL))
);

-- Claiming looks for the oldest queued or running delivery, and the metrics
-- count by state: both read this index, never the done rows.
CREATE INDEX deliveries_state_received_at ON deliveries (state, received_at);
