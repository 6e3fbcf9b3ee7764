//! Where signed-in users' GitHub tokens live: sealed in the database with
//! `WARRANT_TOKEN_KEY` when it is set (every replica, and a restart, can
//! open them), or else in this process's memory only, never in the
//! database (a restart signs everyone out, and a session started on
//! another replica reads as signed out here). Either way the database
//! holds no token in clear.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use super::token_key::TokenKey;
use crate::config::Secret;

/// The users' tokens, by the SHA-256 of their session id.
#[derive(Debug, Default)]
pub(crate) struct UserTokens {
    key: Option<TokenKey>,
    /// Without a key: the tokens of the sessions started here, until
    /// their session expires.
    in_memory: Mutex<HashMap<String, (Secret, DateTime<Utc>)>>,
}

impl UserTokens {
    pub(crate) fn new(key: Option<TokenKey>) -> UserTokens {
        UserTokens {
            key,
            in_memory: Mutex::default(),
        }
    }

    /// Takes the token of a new session: returns what to store (the
    /// token sealed), or keeps it in memory and returns `None`.
    pub(crate) fn keep(
        &self,
        session_hash: &str,
        token: &Secret,
        expires_at: DateTime<Utc>,
    ) -> Option<String> {
        if let Some(key) = &self.key {
            return Some(key.seal(token.expose(), session_hash));
        }
        let mut memory = self.lock();
        let now = Utc::now();
        memory.retain(|_, (_, expires)| *expires > now);
        memory.insert(session_hash.to_owned(), (token.clone(), expires_at));
        None
    }

    /// The token of a stored session: `sealed` opened with the key, or the
    /// one kept in memory. `None` when neither is there, or `sealed` does
    /// not open (another key, or a value that was not sealed by Warrant).
    pub(crate) fn token(&self, session_hash: &str, sealed: Option<&str>) -> Option<Secret> {
        match (sealed, &self.key) {
            (Some(sealed), Some(key)) => key.open(sealed, session_hash),
            (Some(_), None) => None,
            (None, _) => self
                .lock()
                .get(session_hash)
                .filter(|(_, expires)| *expires > Utc::now())
                .map(|(token, _)| token.clone()),
        }
    }

    /// Forgets the token of a session that ended.
    pub(crate) fn forget(&self, session_hash: &str) {
        self.lock().remove(session_hash);
    }

    /// Whether tokens are sealed into the database (else kept in memory).
    pub(crate) fn sealed(&self) -> bool {
        self.key.is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Secret, DateTime<Utc>)>> {
        self.in_memory.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_a_key_the_token_is_sealed_and_nothing_is_kept_in_memory() {
        let tokens = UserTokens::new(Some(TokenKey::from_hex(&"ab".repeat(32)).unwrap()));
        let later = Utc::now() + chrono::Duration::hours(1);
        let sealed = tokens.keep("s", &Secret::new("ghu_x"), later).unwrap();
        assert!(!sealed.contains("ghu_x"));
        assert_eq!(tokens.token("s", Some(&sealed)).unwrap().expose(), "ghu_x");
        assert_eq!(tokens.token("s", None), None);
        assert_eq!(tokens.token("s", Some("ghu_x")), None, "a token in clear");
    }

    #[test]
    fn without_a_key_the_token_stays_in_memory_until_the_session_ends() {
        let tokens = UserTokens::new(None);
        let later = Utc::now() + chrono::Duration::hours(1);
        assert_eq!(tokens.keep("s", &Secret::new("ghu_x"), later), None);
        assert_eq!(tokens.token("s", None).unwrap().expose(), "ghu_x");
        assert_eq!(tokens.token("s", Some("ghu_x")), None, "a token in clear");
        tokens.forget("s");
        assert_eq!(tokens.token("s", None), None);
        let past = Utc::now() - chrono::Duration::seconds(1);
        tokens.keep("old", &Secret::new("ghu_y"), past);
        assert_eq!(tokens.token("old", None), None);
    }
}
