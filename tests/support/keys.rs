//! Changes and repositories as the store keys them, from the names tests
//! write.

#![allow(dead_code)] // Each test crate uses a part.

use warrant::engine::Forge;
use warrant::ids::{ChangeKey, RepoName};

/// The forge stored as `name` (`github`, `gitlab`).
pub fn forge(name: &str) -> Forge {
    Forge::parse(name).unwrap_or_else(|| panic!("no forge is named {name:?}"))
}

/// A repository's name, `owner/name` or a GitLab project's path.
pub fn repo_name(repo: &str) -> RepoName {
    RepoName::parse(repo).unwrap()
}

/// Change `number` of `repo` on the forge named `forge`.
pub fn key(forge_name: &str, repo: &str, number: u64) -> ChangeKey {
    ChangeKey::new(forge(forge_name), repo_name(repo), number)
}
