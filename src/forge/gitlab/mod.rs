//! Speaking to GitLab. Payloads are turned into Warrant's own types here;
//! past this module nothing sees GitLab's JSON shapes.
//!
//! The API side: [`client::GitlabClient`] authenticates with a token and
//! retries (through [`crate::forge::retry`], shared with GitHub), fetches a
//! merge request for an evaluation ([`merge_requests`], by
//! [`graphql`] where GitLab's GraphQL serves and REST where it must), resolves groups
//! and maintainers ([`members`]) and writes the commit status
//! ([`statuses`]). `fake` is a stateful GitLab that tests run against,
//! compiled only with the `fake-gitlab` feature (the tests turn it on).
//! The webhook side: [`webhook`] turns deliveries into Warrant's own
//! events.

pub mod associations;
pub mod client;
#[cfg(any(test, feature = "fake-gitlab"))]
pub mod fake;
mod graphql;
pub mod members;
pub mod merge_requests;
pub mod notes;
pub mod statuses;
pub mod webhook;

#[cfg(test)]
mod fixture_tests;
