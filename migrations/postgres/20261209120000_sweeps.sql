-- Periodic sweeps that must run once across replicas (the daily sweep of
-- lapsing registrations, docs/alerts.md): the replica that records a
-- sweep's day here, in the transaction that writes what the sweep found,
-- is the one that ran it; the others find the row and do nothing. Kept in
-- step with migrations/sqlite/20261209120000_sweeps.sql.
CREATE TABLE sweeps (
    name     TEXT    NOT NULL,  -- agent.lapsing
    day      TEXT    NOT NULL,  -- YYYY-MM-DD, UTC
    ran_at   BIGINT  NOT NULL,  -- unix ms
    worker   TEXT    NOT NULL,  -- the replica that ran it
    found    BIGINT  NOT NULL,  -- how many things it reported
    PRIMARY KEY (name, day)
);
