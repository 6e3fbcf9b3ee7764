-- The audit trail: governance events, append-only and hash-chained per
-- repository. Kept in step with
-- migrations/postgres/20261125090000_audit_events.sql.
--
-- Rows are never updated or deleted. Each row carries the SHA-256 of its
-- canonical contents (`hash`), which include the hash of the previous row of
-- the same repository (`prev_hash`) and the row's position in that chain
-- (`seq`, from 1). Altering a row breaks its hash; deleting or reordering
-- rows breaks the links. `warrant audit verify` walks the chains; the
-- canonical form is written out in docs/audit.md and src/audit/mod.rs.
CREATE TABLE audit_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    forge         TEXT    NOT NULL CHECK (forge IN ('github', 'gitlab')),
    repo          TEXT    NOT NULL,  -- owner/name (GitLab: the project's full path)
    seq           INTEGER  NOT NULL,  -- position in the repository's chain, from 1
    at            INTEGER  NOT NULL,  -- unix milliseconds, UTC
    kind          TEXT    NOT NULL,  -- see audit::EventKind
    change_number INTEGER,            -- the pull or merge request, when there is one
    head_sha      TEXT,
    base_sha      TEXT,
    policy_blob   TEXT,              -- git blob id of the policy applied
    agent_id      TEXT,              -- the agent id (a catalog id for shadow automation; see detail.registration)
    role          TEXT,
    owner         TEXT,              -- the agent's accountable human
    actor         TEXT,              -- the account that acted (the agent's, a reviewer's, Warrant's)
    requester     TEXT,              -- the human who asked the agent
    paths         TEXT    NOT NULL,  -- JSON array of repository paths
    approval      TEXT,              -- approval status: counted, refused, waiting, approved, not_required
    decision      TEXT,              -- the check's conclusion
    detail        TEXT    NOT NULL,  -- JSON object: reasons, ids, anything kind-specific
    prev_hash     TEXT    NOT NULL,  -- hex SHA-256 of the previous row of this repo; 64 zeros for the first
    hash          TEXT    NOT NULL,  -- hex SHA-256 of this row's canonical contents
    UNIQUE (forge, repo, seq)
);

-- The pages read a change's events, and the agents' inventory reads by agent.
CREATE INDEX audit_events_change ON audit_events (forge, repo, change_number, seq);
CREATE INDEX audit_events_agent ON audit_events (agent_id, at);
