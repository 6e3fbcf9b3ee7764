-- Approvals as Warrant saw them given. Kept in step with
-- migrations/postgres/20261126090000_approvals_seen.sql.

-- GitLab's API lists who approved a merge request, but not on which commit:
-- an approval given before new commits were pushed stays listed. Warrant
-- records the head commit of each approval webhook (and each withdrawal),
-- so that `stale_on_push` can tell an approval of the head from an older
-- one. The latest event per approver wins, by the time GitLab sent it.
CREATE TABLE approvals_seen (
    forge     TEXT    NOT NULL CHECK (forge IN ('github', 'gitlab')),
    repo      TEXT    NOT NULL,
    number    INTEGER  NOT NULL,
    approver  TEXT    NOT NULL,  -- the approver's login, lower-cased
    head_sha  TEXT    NOT NULL,  -- the change's head when the event was sent
    state     TEXT    NOT NULL CHECK (state IN ('approved', 'withdrawn')),
    at        INTEGER  NOT NULL,  -- unix ms the event was received
    PRIMARY KEY (forge, repo, number, approver)
);
