-- Overrides (break-glass): each `/warrant override <reason>` comment with a
-- valid reason, as the worker stored it. Kept in step with
-- migrations/sqlite/20261209100000_overrides.sql.
--
-- An override holds for the head commit the change had when the comment was
-- made, and only there: evaluations read the overrides of the head they
-- decide. Whether it counts (who wrote it, under which policy) is decided
-- at each evaluation and recorded with the decision, not here. A comment
-- is stored once, however often its delivery is retried.
CREATE TABLE overrides (
    forge       TEXT    NOT NULL CHECK (forge IN ('github', 'gitlab')),
    repo        TEXT    NOT NULL,
    number      BIGINT  NOT NULL,
    comment_id  BIGINT  NOT NULL,  -- the comment's (GitLab: note's) id
    head_sha    TEXT    NOT NULL,  -- the change's head when it was written
    author      TEXT    NOT NULL,  -- the commenter's login, as the forge wrote it
    author_bot  BIGINT  NOT NULL CHECK (author_bot IN (0, 1)),
    author_id   BIGINT,            -- the forge's id of the commenter, if sent
    reason      TEXT    NOT NULL,
    at          BIGINT  NOT NULL,  -- unix ms the comment was made
    delivery_id TEXT    NOT NULL,
    PRIMARY KEY (forge, repo, number, comment_id)
);

CREATE INDEX overrides_by_head ON overrides (forge, repo, number, head_sha);
