//! GitHub: webhook payloads in, the REST/GraphQL API out.
//!
//! The API side: [`client::GithubClient`] authenticates as the app
//! ([`auth`]), retries ([`retry`]), fetches a pull request for an
//! evaluation ([`pulls`]), resolves teams ([`teams`]) and writes the check
//! run and dismissals ([`checks`]). [`fake`] is a stateful GitHub that
//! tests and `warrant demo` run against. The webhook side: [`webhook`]
//! turns deliveries into Warrant's own events. [`app_file`] keeps the
//! credentials of an app registered through the manifest flow.

pub mod app_file;
pub mod associations;
pub mod auth;
pub mod checks;
pub mod client;
pub mod comments;
pub mod fake;
mod graphql;
pub mod merge_queue;
pub mod merges;
pub mod oauth;
pub mod pulls;
pub mod retry;
pub mod teams;
pub mod webhook;

#[cfg(test)]
mod fixture_tests;
