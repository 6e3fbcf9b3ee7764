//! Speaking to the forges. Everything GitHub- or GitLab-shaped stays in
//! here: payloads and API responses are turned into Warrant's own types
//! (`engine::Change`, `webhook::GithubEvent`) at this edge.

pub mod github;
pub mod gitlab;
pub mod push;
