-- What workers share across replicas and restarts. Kept in step with
-- migrations/sqlite/20261125120000_worker_coordination.sql.

-- The teams each policy of a repository names, so that the next
-- evaluation's single query can resolve them with the pull request (see
-- docs/github-api.md). A repository with no row has never been evaluated.
CREATE TABLE policy_teams (
    forge       TEXT    NOT NULL CHECK (forge IN ('github', 'gitlab')),
    repo        TEXT    NOT NULL,
    policy_blob TEXT    NOT NULL,  -- git blob id of the policy file
    teams       TEXT    NOT NULL,  -- JSON array of `org/team` names
    seen_at     BIGINT  NOT NULL,  -- unix ms of the last evaluation under this policy
    PRIMARY KEY (forge, repo, policy_blob)
);

-- One evaluation at a time per change across every replica: two workers
-- evaluating one pull request at once would each create a check run, and a
-- slower, older decision could overwrite a newer one. A lease that outlives
-- a crashed worker expires; rows are deleted when released.
CREATE TABLE change_leases (
    forge      TEXT    NOT NULL CHECK (forge IN ('github', 'gitlab')),
    repo       TEXT    NOT NULL,
    number     BIGINT  NOT NULL,
    owner      TEXT    NOT NULL,
    expires_at BIGINT  NOT NULL,
    PRIMARY KEY (forge, repo, number)
);
