-- The SHA-256 of each delivery's body, so that a signed GitHub body stored
-- once is not queued again under another X-GitHub-Delivery: a captured
-- delivery replayed as new is acknowledged as a duplicate. Kept in step
-- with migrations/postgres/20261207120000_delivery_payload_hash.sql.
--
-- Lowercase hex. NULL for deliveries stored before this migration: they are
-- not hashed here (SQLite has no SHA-256 function, and two equal bodies
-- among them would make the index below impossible to build), so a replay
-- of one of them is not recognised by its body.
ALTER TABLE deliveries ADD COLUMN payload_sha256 TEXT;

-- GitHub only: its bodies are signed and differ from one event to the next,
-- so an equal body is a replay. GitLab's token is not a signature (whoever
-- holds it can send any body), and GitLab may send equal bodies for distinct
-- events, such as an approval given, withdrawn and given again.
CREATE UNIQUE INDEX deliveries_github_payload_sha256
    ON deliveries (payload_sha256) WHERE forge = 'github';
