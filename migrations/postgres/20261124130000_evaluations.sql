-- What the worker publishes. Kept in step with
-- migrations/sqlite/20261124130000_evaluations.sql.
--
-- Both tables are append-only in use: a re-evaluation adds a row, so the
-- history of decisions on a change stays readable (and can later be
-- hash-chained into the audit trail).

-- The `warrant` check run of each head commit, so that a re-evaluation
-- updates it instead of creating another (and spends no request finding it).
CREATE TABLE check_runs (
    forge        TEXT    NOT NULL CHECK (forge IN ('github', 'gitlab')),
    repo         TEXT    NOT NULL,  -- owner/name
    head_sha     TEXT    NOT NULL,
    check_run_id BIGINT  NOT NULL,
    created_at   BIGINT  NOT NULL,
    PRIMARY KEY (forge, repo, head_sha)
);

-- One row per evaluation published on a change.
CREATE TABLE evaluations (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    forge        TEXT    NOT NULL CHECK (forge IN ('github', 'gitlab')),
    repo         TEXT    NOT NULL,
    number       BIGINT  NOT NULL,
    head_sha     TEXT    NOT NULL,
    base_sha     TEXT,              -- NULL when the change could not be read
    check_run_id BIGINT,
    conclusion   TEXT    NOT NULL,
    title        TEXT    NOT NULL,
    decision     TEXT,              -- the engine's decision as JSON; NULL when none was reached
    delivery_id  TEXT,              -- the webhook delivery that caused it
    evaluated_at BIGINT  NOT NULL
);
CREATE INDEX evaluations_change ON evaluations (forge, repo, number, id);

-- Merge commits of merged pull requests, as webhooks report them.
CREATE TABLE merges (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    forge            TEXT    NOT NULL CHECK (forge IN ('github', 'gitlab')),
    repo             TEXT    NOT NULL,
    number           BIGINT  NOT NULL,
    head_sha         TEXT    NOT NULL,
    merge_commit_sha TEXT,
    delivery_id      TEXT,
    recorded_at      BIGINT  NOT NULL
);
