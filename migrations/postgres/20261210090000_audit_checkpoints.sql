-- Signed checkpoints of the audit trail (docs/audit.md, "Checkpoints"):
-- each states every chain's size and Merkle root and names the previous
-- checkpoint by its hash. A checkpoint chain must never fork: two replicas
-- writing at once both try the next seq after the same previous hash, and
-- the primary key and the unique previous let exactly one of them in.
-- Rows are never updated or deleted. Kept in step with
-- migrations/sqlite/20261210090000_audit_checkpoints.sql.
CREATE TABLE audit_checkpoints (
    seq       BIGINT  NOT NULL PRIMARY KEY,  -- 1, 2, 3, ...
    previous  TEXT    NOT NULL UNIQUE,       -- the previous checkpoint's hash
    hash      TEXT    NOT NULL UNIQUE,       -- this one's (SHA-256 of what is signed)
    at        BIGINT  NOT NULL,              -- unix ms
    line      TEXT    NOT NULL               -- the signed checkpoint, as published
);
