//! Warrant governs AI coding agents on pull requests and merge requests.
//!
//! The library is layered so that each layer can be read and tested alone
//! (`docs/architecture.md` walks through them and the life of a delivery):
//!
//! - [`policy`]: the policy language (`.github/warrant.yml`), parsed and
//!   validated with errors that point at file, line and column.
//! - [`codeowners`]: CODEOWNERS files in GitHub's and GitLab's syntax, for
//!   the `codeowners` approvers.
//! - [`catalog`]: the built-in signatures of known coding agents.
//! - [`signals`]: the matching primitives shared by the policy and the catalog.
//! - [`engine`]: pure functions from a forge-neutral [`engine::Change`] to a
//!   [`engine::Decision`]. No I/O, no clock: the evaluation time is an input.
//! - [`evaluation`]: one evaluation from its facts, live or replayed from
//!   what an earlier one recorded (`warrant audit replay`, and a proposed
//!   policy tried on past changes).
//! - [`alerts`]: governance events as CloudEvents, signed for webhook
//!   receivers and written for Slack.
//! - [`audit`]: the hash-chained audit trail of governance events.
//! - [`store`]: durable state in SQLite or PostgreSQL: the delivery queue,
//!   evaluations and the changes they decided, the audit trail, leases
//!   between replicas, sessions and tokens.
//! - [`forge`]: GitHub's and GitLab's payloads and APIs, turned into
//!   Warrant's own types at the edge, over one HTTP core.
//! - [`worker`]: claims deliveries from the queue and acts on them: each
//!   evaluation written once over an adapter per forge, the check published
//!   on the commit, merge groups, merges and policy pushes recorded.
//! - [`server`]: HTTP only: the webhook doors, which verify and store
//!   deliveries, the health and metrics endpoints ([`metrics`]), the app's
//!   registration, and the auditors' pages and exports under `/audit`.
//! - [`config`]: the settings of `warrant serve`, from flags or `WARRANT_*`
//!   variables.
//! - [`demo`]: `warrant demo`, the whole product offline against a
//!   simulated GitHub.
//! - [`urls`]: percent-encoding, and the one address of a change's audit
//!   page.
//! - [`cli`]: the `warrant` command line, including `warrant check` on a local
//!   git range (see [`git`]) and `warrant serve`.

pub mod alerts;
pub mod audit;
pub mod catalog;
pub mod cli;
pub mod codeowners;
pub mod config;
pub mod demo;
pub mod engine;
pub mod evaluation;
pub mod forge;
#[doc(hidden)]
pub mod fuzzing;
pub mod git;
pub mod ids;
pub mod metrics;
pub mod policy;
pub mod server;
pub mod signals;
pub mod store;
pub mod urls;
pub mod worker;
