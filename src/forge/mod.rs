//! Speaking to the forges. Everything GitHub- or GitLab-shaped stays in
//! here: payloads and API responses are turned into Warrant's own types
//! (`engine::Change`, `webhook::GithubEvent`) at this edge.

pub mod cache;
pub mod check;
pub mod fake_server;
pub mod github;
pub mod gitlab;
pub(crate) mod http;
pub mod push;
pub mod retry;

use crate::ids::RepoPath;

/// A policy file read from the base commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyFile {
    pub path: RepoPath,
    pub text: String,
    /// Its git blob id, as the decision records it.
    pub blob_id: String,
    /// Whether the forge returned only part of the file (GitHub returns
    /// at most about 512 kB of a blob's text): a truncated policy is
    /// refused, not applied.
    pub truncated: bool,
}
