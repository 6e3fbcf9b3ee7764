-- The texts of the files evaluations read (policies, CODEOWNERS, a
-- proposed policy at a change's head), each kept once by its SHA-256. An
-- evaluation's input (its facts, see docs/audit.md, "Replaying a
-- decision") names them, so that a decision can be made again exactly
-- without asking the forge. Rows are only ever added. Kept in step with
-- migrations/sqlite/20261208090000_recorded_texts.sql.
CREATE TABLE recorded_texts (
    sha256  TEXT  NOT NULL PRIMARY KEY,
    text    TEXT  NOT NULL
);
