//! What the integration tests share, in one tree. Each `tests/*.rs` file
//! is a crate of its own that declares `mod support;` and uses the part it
//! needs:
//!
//! - [`store`]: runs a test on each database (SQLite, and PostgreSQL when
//!   `WARRANT_TEST_POSTGRES_URL` is set);
//! - [`server`]: the real router on a real port, with signed webhooks;
//!   [`serve`]: any router on a loopback listener;
//! - [`github`]: a fake GitHub, a client for it, and builders of pull
//!   requests; [`app`]: the whole GitHub App (fake, server and worker);
//! - [`gitlab`]: the whole app on GitLab (fake, server and worker);
//! - [`forge`]: one vocabulary over both apps, for the behaviours written
//!   once and run against each forge; [`door`]: one over both webhook
//!   doors, for what the endpoints do the same;
//! - [`register`]: registering an app; [`browser`]: a headless Chromium;
//!   [`cli`]: the `warrant` binary and real git repositories;
//! - [`alerts`]: alerts as receivers read them, for snapshots; [`audit`]:
//!   a small audit trail and its checkpoints.

// Each test crate uses a part.
#![allow(dead_code)]

pub mod alerts;
pub mod app;
pub mod audit;
pub mod browser;
pub mod cli;
pub mod decisions;
pub mod door;
pub mod forge;
pub mod github;
pub mod gitlab;
pub mod keys;
pub mod register;
pub mod serve;
pub mod server;
pub mod store;
