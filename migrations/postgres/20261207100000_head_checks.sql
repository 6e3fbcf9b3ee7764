-- One `warrant` check per commit, whatever the number of changes whose head
-- it is. Kept in step with migrations/sqlite/20261207100000_head_checks.sql.
--
-- A check run (GitHub) or commit status (GitLab) belongs to a commit, and
-- every open change whose head is that commit shows it, while each change
-- is decided under its own base's policy. The worker therefore publishes
-- the strictest decision over those changes, one commit at a time.

-- What the check on each head commit shows, and which changes it stands
-- for: the change pages say so when the check is stricter than the
-- change's own decision. Replaced at each publication.
CREATE TABLE head_checks (
    forge        TEXT    NOT NULL CHECK (forge IN ('github', 'gitlab')),
    repo         TEXT    NOT NULL,
    head_sha     TEXT    NOT NULL,
    conclusion   TEXT    NOT NULL,
    title        TEXT    NOT NULL,
    changes      TEXT    NOT NULL,  -- JSON array of {"number", "conclusion"}, strictest first
    published_at BIGINT  NOT NULL,  -- unix ms
    PRIMARY KEY (forge, repo, head_sha)
);

-- One publication at a time per commit across every replica: two workers
-- deciding two changes with one head must not each publish a combination
-- that misses the other's decision. Rows are deleted when released; a
-- lease that outlives a crashed worker expires.
CREATE TABLE head_leases (
    forge      TEXT    NOT NULL CHECK (forge IN ('github', 'gitlab')),
    repo       TEXT    NOT NULL,
    head_sha   TEXT    NOT NULL,
    owner      TEXT    NOT NULL,
    expires_at BIGINT  NOT NULL,
    PRIMARY KEY (forge, repo, head_sha)
);

-- The changes whose latest evaluation names a commit.
CREATE INDEX evaluations_head ON evaluations (forge, repo, head_sha);
