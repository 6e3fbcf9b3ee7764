-- Hardened access to the audit pages: users' GitHub tokens sealed at rest,
-- and access granted by the forge's repository id rather than its name.
-- Kept in step with migrations/postgres/20261207130000_harden_access.sql.

-- A signed-in user's GitHub token is no longer stored as GitHub handed it
-- out: sealed with WARRANT_TOKEN_KEY (XChaCha20-Poly1305, `v1.` and
-- base64url), or not stored at all (NULL) when no key is set, and then kept
-- in the memory of the replica that signed the user in. Sessions started
-- before this migration hold their token in clear: they are ended (their
-- users sign in again), never read as if sealed.
DELETE FROM sessions;
ALTER TABLE sessions DROP COLUMN github_token;
ALTER TABLE sessions ADD COLUMN sealed_token TEXT;

-- The forge's id of each repository (GitHub) or project (GitLab) Warrant
-- keeps a trail of, as the first webhook naming it reported it. A name can
-- be reused once a repository is deleted or renamed; the id cannot, so
-- readers of a new repository under an old name do not see the old trail.
-- The first id is kept: a webhook naming the same repository with another
-- id is logged and does not replace it.
CREATE TABLE repositories (
    forge   TEXT    NOT NULL CHECK (forge IN ('github', 'gitlab')),
    repo    TEXT    NOT NULL,  -- owner/name, as in the audit trail
    repo_id INTEGER NOT NULL,  -- the forge's id of the repository or project
    seen_at INTEGER NOT NULL,  -- unix milliseconds, UTC: when first recorded
    PRIMARY KEY (forge, repo)
);
