-- A GitHub delivery is now recognised as a replay by its verified
-- signature (the HMAC-SHA256 of its body under the webhook secret, as
-- lowercase hex) rather than by a second digest of the body: the door
-- computes the HMAC anyway, and under one secret it is as much a property
-- of the body as the digest was. Kept in step with
-- migrations/postgres/20261211090000_delivery_replay_key.sql.
--
-- The digests stored before are cleared, since no signature equals one: a
-- body stored before this migration and replayed under another delivery id
-- is not recognised by its body. GitLab's deliveries have no key: they are
-- not deduplicated by body (see 20261207120000_delivery_payload_hash.sql).
DROP INDEX deliveries_github_payload_sha256;
ALTER TABLE deliveries RENAME COLUMN payload_sha256 TO replay_key;
UPDATE deliveries SET replay_key = NULL;
CREATE UNIQUE INDEX deliveries_github_replay_key
    ON deliveries (replay_key) WHERE forge = 'github';
