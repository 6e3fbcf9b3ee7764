-- What the audit pages need beyond the evaluations: each change's own
-- title, author, address and state, and how a merged change was merged.
-- Kept in step with migrations/postgres/20261125100000_change_records.sql.

-- The latest known facts about each pull or merge request, one row per
-- change, replaced as webhooks report newer facts (`updated_at` guards
-- against an older delivery overwriting a newer one). This is a cache of
-- the forge's state, not audit evidence: the audit trail is in
-- audit_events and evaluations.
CREATE TABLE changes (
    forge      TEXT    NOT NULL CHECK (forge IN ('github', 'gitlab')),
    repo       TEXT    NOT NULL,  -- owner/name
    number     INTEGER NOT NULL,
    title      TEXT    NOT NULL,  -- as the author wrote it: pages escape it
    author     TEXT,              -- the login that opened it
    url        TEXT,              -- the change's page on the forge
    state      TEXT    NOT NULL CHECK (state IN ('open', 'closed', 'merged')),
    updated_at INTEGER NOT NULL,  -- when the forge reported these facts
    PRIMARY KEY (forge, repo, number)
);

-- How the merge was made, which decides the command that reverts it, and
-- how many commits a rebase added (to revert them as a range).
ALTER TABLE merges ADD COLUMN merge_method TEXT
    CHECK (merge_method IN ('merge', 'squash', 'rebase'));
ALTER TABLE merges ADD COLUMN commit_count INTEGER;
CREATE INDEX merges_change ON merges (forge, repo, number, id);
