//! Who may register the app: the server's operator, who proves it with
//! the setup token `warrant serve` writes to its own log at start, and who
//! then holds a cookie that the manifest `state`s made for them are bound
//! to.
//!
//! Without this, whoever reached a new server first could register their
//! own app on it, and their webhook secret would be trusted from then on.
//! The cookie also keeps someone who holds no token from completing a
//! registration in the operator's browser with a state of their own.
//!
//! Everything lives in the memory of this process: each replica makes and
//! logs its own token, accepted by it alone, and forgets it once an app is
//! registered.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::Secret;

/// As long as GitHub's manifest code is valid: a state older than that
/// cannot come back with a usable code, and an operator's browser is
/// trusted as long as one of its states could.
pub(super) const LIFETIME: Duration = Duration::from_secs(60 * 60);

/// Bounds the memory that loading `/` repeatedly can take.
const MAX_PENDING: usize = 1_000;

/// The operator's cookie, named `__Host-warrant_setup` over https (see
/// [`crate::server::auth::cookie::name`]): browsers then refuse it unless
/// it is `Secure`, for `/`, and set by this host itself.
pub(super) const COOKIE: &str = "warrant_setup";

/// A fresh setup token: 32 random bytes, hex-encoded, beyond guessing.
pub fn new_token() -> Secret {
    Secret::new(hex::encode(rand::random::<[u8; 32]>()))
}

/// The setup token, the browsers that presented it, and the states made
/// for them.
#[derive(Debug, Default)]
pub(super) struct Gate {
    /// `None`: no registration is offered (turned off, GitLab alone, or an
    /// app is registered and the token spent).
    token: RwLock<Option<Secret>>,
    /// The cookie values of the browsers that presented the token.
    operators: Mutex<Expiring<()>>,
    /// Pending states, each with the cookie value of its browser.
    states: Mutex<Expiring<String>>,
}

impl Gate {
    /// Registration offered to whoever presents `token`.
    pub(super) fn open(token: Secret) -> Gate {
        Gate {
            token: RwLock::new(Some(token)),
            ..Gate::default()
        }
    }

    pub(super) fn is_open(&self) -> bool {
        self.token
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// Whether `presented` is the setup token, compared in constant time.
    pub(super) fn admits(&self, presented: &str) -> bool {
        let token = self.token.read().unwrap_or_else(|e| e.into_inner());
        token
            .as_ref()
            .is_some_and(|token| same(token.expose(), presented))
    }

    /// Trusts a new browser; the value for its cookie.
    pub(super) fn admit(&self) -> String {
        let operator = random();
        lock(&self.operators).insert(operator.clone(), ());
        operator
    }

    /// Whether the cookie value `operator` is a browser that presented the
    /// token, lately.
    pub(super) fn is_operator(&self, operator: &str) -> bool {
        self.is_open() && lock(&self.operators).get(operator).is_some()
    }

    /// A state for the operator's browser `operator`.
    pub(super) fn new_state(&self, operator: &str) -> String {
        let state = random();
        lock(&self.states).insert(state.clone(), operator.to_owned());
        state
    }

    /// Whether `state` was made for the browser whose cookie value is
    /// `operator`, is fresh, and not yet used; uses it. A state shown with
    /// another browser's cookie, or none, is refused and left for its own.
    pub(super) fn take_state(&self, state: &str, operator: Option<&str>) -> bool {
        let mut states = lock(&self.states);
        let Some(owner) = states.get(state) else {
            return false;
        };
        if !operator.is_some_and(|operator| same(owner, operator)) {
            return false;
        }
        states.remove(state);
        true
    }

    /// Spends the token once an app is registered: no more registration.
    pub(super) fn close(&self) {
        *self.token.write().unwrap_or_else(|e| e.into_inner()) = None;
        *lock(&self.operators) = Expiring::default();
        *lock(&self.states) = Expiring::default();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn random() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// Whether two secrets are equal. Both are first made fixed-length HMAC
/// tags, so the comparison (`verify_slice`, constant-time) takes as long
/// whatever was presented.
fn same(expected: &str, presented: &str) -> bool {
    let tag = |key: &str| {
        let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
        mac.update(b"warrant setup");
        mac
    };
    let presented = tag(presented).finalize().into_bytes();
    tag(expected).verify_slice(&presented).is_ok()
}

/// Values by random key, each good for [`LIFETIME`]; at most
/// [`MAX_PENDING`], the oldest dropped first.
#[derive(Debug)]
struct Expiring<V> {
    entries: HashMap<String, (Instant, V)>,
}

impl<V> Default for Expiring<V> {
    fn default() -> Self {
        Expiring {
            entries: HashMap::new(),
        }
    }
}

impl<V> Expiring<V> {
    fn insert(&mut self, key: String, value: V) {
        let now = Instant::now();
        self.entries
            .retain(|_, (made, _)| now.duration_since(*made) < LIFETIME);
        if self.entries.len() >= MAX_PENDING {
            let oldest = self.entries.iter().min_by_key(|(_, (made, _))| *made);
            if let Some(oldest) = oldest.map(|(key, _)| key.clone()) {
                self.entries.remove(&oldest);
            }
        }
        self.entries.insert(key, (now, value));
    }

    /// The value under `key`, while fresh.
    fn get(&self, key: &str) -> Option<&V> {
        self.entries
            .get(key)
            .filter(|(made, _)| made.elapsed() < LIFETIME)
            .map(|(_, value)| value)
    }

    fn remove(&mut self, key: &str) {
        self.entries.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate() -> Gate {
        Gate::open(Secret::new("the-token"))
    }

    #[test]
    fn only_the_setup_token_admits() {
        let gate = gate();
        assert!(gate.admits("the-token"));
        for wrong in ["", "the-toke", "the-token ", "THE-TOKEN"] {
            assert!(!gate.admits(wrong), "{wrong:?}");
        }
        assert!(!Gate::default().admits(""), "a closed gate admits nobody");
    }

    #[test]
    fn a_state_is_accepted_once_and_only_with_its_browser() {
        let gate = gate();
        let operator = gate.admit();
        let other = gate.admit();
        let state = gate.new_state(&operator);
        assert!(!gate.take_state(&state, None));
        assert!(!gate.take_state(&state, Some(&other)));
        assert!(gate.take_state(&state, Some(&operator)));
        assert!(!gate.take_state(&state, Some(&operator)));
        assert!(!gate.take_state("made-up", Some(&operator)));
    }

    #[test]
    fn closing_spends_the_token_the_browsers_and_their_states() {
        let gate = gate();
        let operator = gate.admit();
        let state = gate.new_state(&operator);
        gate.close();
        assert!(!gate.is_open());
        assert!(!gate.admits("the-token"));
        assert!(!gate.is_operator(&operator));
        assert!(!gate.take_state(&state, Some(&operator)));
    }
}
