//! Warrant governs AI coding agents on pull requests and merge requests.
//!
//! The library is layered so that each layer can be read and tested alone:
//!
//! - [`policy`]: the policy language (`.github/warrant.yml`), parsed and
//!   validated with errors that point at file, line and column.
//! - [`catalog`]: the built-in signatures of known coding agents.
//! - [`signals`]: the matching primitives shared by the policy and the catalog.
//! - [`engine`]: pure functions from a forge-neutral [`engine::Change`] to a
//!   [`engine::Decision`]. No I/O, no clock: the evaluation time is an input.
//! - [`audit`]: the hash-chained audit trail of governance events.
//! - [`store`]: durable state in SQLite or PostgreSQL, starting with the
//!   queue of webhook deliveries that workers evaluate.
//! - [`forge`]: GitHub (and later GitLab) payloads and APIs, turned into
//!   Warrant's own types at the edge.
//! - [`server`]: HTTP only: the webhook endpoint, which verifies and stores
//!   deliveries, the health and metrics endpoints ([`metrics`]), and the
//!   auditors' pages and exports under `/audit`.
//! - [`config`]: the settings of `warrant serve`, from flags or `WARRANT_*`
//!   variables.
//! - [`demo`]: `warrant demo`, the whole product offline against a
//!   simulated GitHub.
//! - [`cli`]: the `warrant` command line, including `warrant check` on a local
//!   git range (see [`git`]) and `warrant serve`.

pub mod audit;
pub mod catalog;
pub mod cli;
pub mod codeowners;
pub mod config;
pub mod demo;
pub mod engine;
pub mod forge;
pub mod git;
pub mod ids;
pub mod metrics;
pub mod policy;
pub mod server;
pub mod signals;
pub mod store;
pub mod worker;
