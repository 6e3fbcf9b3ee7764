//! GitHub App authentication: a short-lived JWT signed with the app's
//! private key proves the app's identity, and is exchanged for an
//! installation token that the API calls use. Tokens last an hour, so they
//! are cached per installation.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use super::client::{GithubError, InstallationId};

/// GitHub refuses a JWT whose `iat` is in its future; backdating by a
/// minute absorbs clock drift between us and GitHub (GitHub's advice).
const CLOCK_DRIFT: i64 = 60;
/// GitHub refuses JWTs that live longer than 10 minutes; 9 leaves room for
/// the drift the other way.
const JWT_LIFETIME: i64 = 9 * 60;
/// A cached token is replaced this long before it expires, so that a token
/// handed to an evaluation stays valid through all its requests, including
/// retries that may wait up to a minute for a rate limit, and through clock
/// drift.
pub const REFRESH_MARGIN: Duration = Duration::minutes(5);

/// The app's identity: its id and private key.
pub struct AppKey {
    app_id: u64,
    key: EncodingKey,
}

#[derive(Serialize)]
struct Claims {
    iat: i64,
    exp: i64,
    iss: String,
}

impl AppKey {
    /// `pem` is the private key GitHub generated for the app (PKCS#1 or
    /// PKCS#8 PEM).
    pub fn new(app_id: u64, pem: &[u8]) -> Result<Self, GithubError> {
        let key = EncodingKey::from_rsa_pem(pem)
            .map_err(|e| GithubError::Key(format!("not an RSA private key in PEM form: {e}")))?;
        Ok(AppKey { app_id, key })
    }

    /// From a key already read and checked (by the server's config).
    pub fn from_key(app_id: u64, key: EncodingKey) -> Self {
        AppKey { app_id, key }
    }

    pub fn app_id(&self) -> u64 {
        self.app_id
    }

    /// A JWT for `POST /app/installations/{id}/access_tokens`.
    pub fn jwt(&self, now: DateTime<Utc>) -> Result<String, GithubError> {
        let now = now.timestamp();
        let claims = Claims {
            iat: now - CLOCK_DRIFT,
            exp: now + JWT_LIFETIME,
            iss: self.app_id.to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)
            .map_err(|e| GithubError::Key(format!("could not sign the app JWT: {e}")))
    }
}

/// An installation access token.
#[derive(Clone, Debug)]
pub struct InstallationToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

impl InstallationToken {
    fn fresh_at(&self, now: DateTime<Utc>) -> bool {
        now + REFRESH_MARGIN < self.expires_at
    }
}

type Slot = Arc<tokio::sync::Mutex<Option<InstallationToken>>>;

/// Installation tokens by installation. Each installation has its own lock,
/// held while a token is fetched: concurrent evaluations of one
/// installation wait for a single exchange instead of each making one,
/// while other installations proceed.
#[derive(Default)]
pub struct InstallationTokens {
    slots: std::sync::Mutex<HashMap<InstallationId, Slot>>,
}

impl InstallationTokens {
    /// The cached token if it is fresh, else the one `fetch` returns.
    pub async fn get<F, Fut>(
        &self,
        installation: InstallationId,
        fetch: F,
    ) -> Result<String, GithubError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<InstallationToken, GithubError>>,
    {
        let slot = self
            .slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(installation)
            .or_default()
            .clone();
        let mut cached = slot.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| t.fresh_at(Utc::now())) {
            return Ok(token.token.clone());
        }
        let token = fetch().await?;
        let value = token.token.clone();
        *cached = Some(token);
        Ok(value)
    }

    /// Forgets an installation's token, for example after GitHub refused it.
    pub fn forget(&self, installation: InstallationId) {
        self.slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&installation);
    }
}
