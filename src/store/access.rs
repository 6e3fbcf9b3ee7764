//! Access to the audit pages: the shared session key, signed-in sessions
//! and API tokens (see `crate::server::access`).
//!
//! The store never sees a session id or an API token, only their SHA-256
//! (hex), computed by the caller, nor a user's GitHub token, only what the
//! caller sealed of it: a copy of the database lets no one sign in nor act
//! as a user on GitHub. Expiry is decided here, against the `now` the caller passes, so that
//! an expired or revoked credential is never returned.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, from_millis, to_millis};

/// The `settings` row holding the generated session key.
const SESSION_KEY: &str = "session_key";

/// A session to create: who signed in, with which GitHub token, until when.
#[derive(Clone, Debug)]
pub struct NewSession<'a> {
    /// Hex SHA-256 of the session id.
    pub id_hash: &'a str,
    pub login: &'a str,
    pub user_id: u64,
    /// The user's GitHub token sealed by the caller (never in clear), or
    /// `None` when it is kept out of the database.
    pub sealed_token: Option<&'a str>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A live session. `Debug` leaves the sealed token out.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredSession {
    pub login: String,
    pub user_id: u64,
    /// As [`NewSession::sealed_token`].
    pub sealed_token: Option<String>,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for StoredSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSession")
            .field("login", &self.login)
            .field("user_id", &self.user_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// An API token as listed: everything but the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiTokenInfo {
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Why a token could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateTokenError {
    #[error("a token named `{0}` exists; revoke it first or choose another name")]
    NameTaken(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl Store {
    /// The session key shared by every replica: the one stored, or
    /// `fresh` (hex) when none is, stored by whichever replica comes first.
    pub async fn session_key_or(&self, fresh: &str) -> anyhow::Result<String> {
        sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(SESSION_KEY)
            .bind(fresh)
            .execute(&self.pool)
            .await
            .context("cannot store the session key")?;
        sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
            .bind(SESSION_KEY)
            .fetch_one(&self.pool)
            .await
            .context("cannot read the session key")
    }

    /// Stores a new session, and forgets those expired before `created_at`.
    pub async fn create_session(&self, session: &NewSession<'_>) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(to_millis(session.created_at))
            .execute(&self.pool)
            .await
            .context("cannot delete expired sessions")?;
        sqlx::query(
            "INSERT INTO sessions (id_hash, login, user_id, sealed_token, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(session.id_hash)
        .bind(session.login)
        .bind(i64::try_from(session.user_id).context("user id out of range")?)
        .bind(session.sealed_token)
        .bind(to_millis(session.created_at))
        .bind(to_millis(session.expires_at))
        .execute(&self.pool)
        .await
        .context("cannot store the session")?;
        Ok(())
    }

    /// The session whose id hashes to `id_hash`, unless it expired by `now`.
    pub async fn session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<StoredSession>> {
        let row = sqlx::query(
            "SELECT login, user_id, sealed_token, expires_at FROM sessions
             WHERE id_hash = $1 AND expires_at > $2",
        )
        .bind(id_hash)
        .bind(to_millis(now))
        .fetch_optional(&self.pool)
        .await
        .context("cannot read the session")?;
        row.map(|row| {
            Ok(StoredSession {
                login: row.try_get("login")?,
                user_id: u64::try_from(row.try_get::<i64, _>("user_id")?)
                    .context("stored user id is negative")?,
                sealed_token: row.try_get("sealed_token")?,
                expires_at: from_millis(row.try_get("expires_at")?)?,
            })
        })
        .transpose()
    }

    /// Ends a session (signing out). Ending one that is gone is no error.
    pub async fn delete_session(&self, id_hash: &str) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await
            .context("cannot delete the session")?;
        Ok(())
    }

    /// Stores a new API token under `name`, which no live token may have.
    pub async fn create_api_token(
        &self,
        name: &str,
        token_hash: &str,
        created_at: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), CreateTokenError> {
        let taken: Option<i64> =
            sqlx::query_scalar("SELECT id FROM api_tokens WHERE name = $1 AND revoked_at IS NULL")
                .bind(name)
                .fetch_optional(&self.pool)
                .await
                .context("cannot read the API tokens")?;
        if taken.is_some() {
            return Err(CreateTokenError::NameTaken(name.to_owned()));
        }
        let inserted = sqlx::query(
            "INSERT INTO api_tokens (name, token_hash, created_at, expires_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(name)
        .bind(token_hash)
        .bind(to_millis(created_at))
        .bind(expires_at.map(to_millis))
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => Ok(()),
            // Someone created the same name between the check and now.
            Err(sqlx::Error::Database(err)) if err.is_unique_violation() => {
                Err(CreateTokenError::NameTaken(name.to_owned()))
            }
            Err(err) => Err(anyhow::Error::new(err)
                .context("cannot store the API token")
                .into()),
        }
    }

    /// The name of the live token whose hash is `token_hash`, noting that
    /// it was used at `now`; `None` for an unknown, expired or revoked one.
    pub async fn use_api_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<String>> {
        let now = to_millis(now);
        sqlx::query_scalar(
            "UPDATE api_tokens SET last_used_at = $2
             WHERE token_hash = $1 AND revoked_at IS NULL
               AND (expires_at IS NULL OR expires_at > $2)
             RETURNING name",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .context("cannot read the API token")
    }

    /// Every API token, live and revoked, by creation.
    pub async fn api_tokens(&self) -> anyhow::Result<Vec<ApiTokenInfo>> {
        let rows = sqlx::query(
            "SELECT name, created_at, expires_at, last_used_at, revoked_at FROM api_tokens
             ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await
        .context("cannot list the API tokens")?;
        rows.iter().map(token_of_row).collect()
    }

    /// Revokes the live token named `name`; `false` if there is none.
    pub async fn revoke_api_token(&self, name: &str, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL",
        )
        .bind(name)
        .bind(to_millis(now))
        .execute(&self.pool)
        .await
        .context("cannot revoke the API token")?;
        Ok(done.rows_affected() > 0)
    }
}

fn token_of_row(row: &AnyRow) -> anyhow::Result<ApiTokenInfo> {
    let time = |column: &str| -> anyhow::Result<Option<DateTime<Utc>>> {
        row.try_get::<Option<i64>, _>(column)?
            .map(from_millis)
            .transpose()
    };
    Ok(ApiTokenInfo {
        name: row.try_get("name")?,
        created_at: from_millis(row.try_get("created_at")?)?,
        expires_at: time("expires_at")?,
        last_used_at: time("last_used_at")?,
        revoked_at: time("revoked_at")?,
    })
}
