//! A short-lived cache shared by both forges' clients: lists of people
//! (team or group members, a repository's admins, a project's maintainers)
//! and other facts that change rarely but are asked often.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::ids::Login;

/// Five minutes: a burst of events on a change (a push, then reviews or
/// approvals) re-evaluates it several times in a few minutes, and these
/// should spend no request on members; someone removed from a team or group
/// stops counting as an approver within that bound.
pub const DEFAULT_PEOPLE_TTL: Duration = Duration::from_secs(5 * 60);

/// Values by key (lowercased by the caller, and prefixed so that kinds of
/// values never collide), each with when it was fetched.
pub struct TtlCache<V> {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, V)>>,
}

/// Lists of people by key.
pub type PeopleCache = TtlCache<Vec<Login>>;

impl<V: Clone> Default for TtlCache<V> {
    fn default() -> Self {
        TtlCache::new(DEFAULT_PEOPLE_TTL)
    }
}

impl<V: Clone> TtlCache<V> {
    pub fn new(ttl: Duration) -> Self {
        TtlCache {
            ttl,
            entries: Mutex::default(),
        }
    }

    /// The value under `key`, unless it is older than the cache's lifetime.
    pub(crate) fn get(&self, key: &str) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (at, value) = entries.get(key)?;
        (at.elapsed() < self.ttl).then(|| value.clone())
    }

    pub(crate) fn put(&self, key: String, value: V) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.insert(key, (Instant::now(), value));
    }
}
