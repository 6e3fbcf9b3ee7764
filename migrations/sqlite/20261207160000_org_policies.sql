-- The organisation policy of each organisation's repository as last read
-- (GitLab reads it with a request of its own, so it is kept here for every
-- replica, refreshed when a push changes it and after a while; see
-- docs/gitlab-api.md). Kept in step with
-- migrations/postgres/20261207160000_org_policies.sql.
CREATE TABLE org_policies (
    forge      TEXT    NOT NULL CHECK (forge IN ('github', 'gitlab')),
    repo       TEXT    NOT NULL,  -- the organisation's repository: acme/gitlab-profile
    blob_id    TEXT,              -- NULL: no warrant-org.yml there
    path       TEXT,
    text       TEXT,
    truncated  BIGINT  NOT NULL DEFAULT 0 CHECK (truncated IN (0, 1)),  -- 1: the forge returned part of the file
    read_at    BIGINT  NOT NULL,  -- unix ms
    PRIMARY KEY (forge, repo)
);
