//! A short-lived cache of lists of people (team or group members, a
//! repository's admins, a project's maintainers), shared by both forges'
//! clients.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::ids::Login;

/// Five minutes: a burst of events on a change (a push, then reviews or
/// approvals) re-evaluates it several times in a few minutes, and these
/// should spend no request on members; someone removed from a team or group
/// stops counting as an approver within that bound.
pub const DEFAULT_PEOPLE_TTL: Duration = Duration::from_secs(5 * 60);

/// Lists of people by key (lowercased by the caller, and prefixed so that
/// kinds of lists never collide), each with when it was fetched.
pub struct PeopleCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Vec<Login>)>>,
}

impl Default for PeopleCache {
    fn default() -> Self {
        PeopleCache::new(DEFAULT_PEOPLE_TTL)
    }
}

impl PeopleCache {
    pub fn new(ttl: Duration) -> Self {
        PeopleCache {
            ttl,
            entries: Mutex::default(),
        }
    }

    /// The list under `key`, unless it is older than the cache's lifetime.
    pub(crate) fn get(&self, key: &str) -> Option<Vec<Login>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (at, people) = entries.get(key)?;
        (at.elapsed() < self.ttl).then(|| people.clone())
    }

    pub(crate) fn put(&self, key: String, people: Vec<Login>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.insert(key, (Instant::now(), people));
    }
}
