//! A change to evaluate at a head commit, as the worker addresses it on
//! its forge.

use crate::ids::{ChangeKey, CommitSha};

/// A delivery that names no installation: sent to a repository webhook,
/// not to the app, so Warrant cannot act as the app on it.
#[derive(Debug, thiserror::Error)]
#[error("the payload names no app installation")]
pub struct NotAnApp;

/// A change to evaluate at a head commit, with `at`, how its forge
/// addresses it (the adapter's own type: GitHub's app installation,
/// GitLab's source branch).
#[derive(Clone, Debug)]
pub struct Target<At> {
    /// The change: its forge, repository and number.
    pub key: ChangeKey,
    pub head_sha: CommitSha,
    /// The base commit, when the event names it.
    pub base_sha: Option<CommitSha>,
    pub at: At,
}

impl<At> Target<At> {
    pub(super) fn with_base(mut self, base: CommitSha) -> Self {
        self.base_sha = Some(base);
        self
    }
}
