-- Access to the audit pages: server settings, signed-in sessions and API
-- tokens. Kept in step with migrations/sqlite/20261125110000_access.sql.
--
-- No secret is stored as it was handed out: a session is found by the
-- SHA-256 of its id (the cookie carries the id), an API token by the
-- SHA-256 of the token. Only the GitHub token of a signed-in user is kept
-- as is, server-side, because Warrant asks GitHub with it which
-- repositories the user may read; it is deleted with the session.

-- Server-wide values that replicas share, by name. `session_key`: the hex
-- HMAC key that signs cookies when WARRANT_SESSION_KEY is not set.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE sessions (
    id_hash      TEXT    PRIMARY KEY,  -- hex SHA-256 of the session id
    login        TEXT    NOT NULL,     -- the GitHub user's login
    user_id      BIGINT  NOT NULL,     -- the GitHub user's id
    github_token TEXT    NOT NULL,     -- the user's OAuth token, never sent to the browser
    created_at   BIGINT  NOT NULL,     -- unix milliseconds, UTC
    expires_at   BIGINT  NOT NULL      -- unix milliseconds, UTC
);

CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE api_tokens (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,  -- hex SHA-256 of the token
    created_at   BIGINT  NOT NULL,         -- unix milliseconds, UTC
    expires_at   BIGINT,                   -- NULL: does not expire
    last_used_at BIGINT,
    revoked_at   BIGINT                    -- NULL while the token is valid
);

-- A name names one live token; a revoked token's name may be reused.
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;
