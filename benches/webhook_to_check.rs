//! Webhook to check, end to end: the time from sending a signed
//! `pull_request` (GitHub) or `Merge Request Hook` (GitLab) delivery for a
//! new change to the worker having written its check run (GitHub) or
//! commit status (GitLab) on the fake forge and ended the delivery. The
//! real router, store (SQLite, on a temporary file) and worker, the same
//! harness as the integration tests (`tests/support/`); one delivery at a
//! time, so each figure is one delivery's whole path: signature, commit,
//! wake-up, claim, API requests to the fake, evaluation, publication.
//!
//! `cargo bench --bench webhook_to_check` prints p50, p99 and the slowest
//! per forge. Not a test: nothing here passes or fails on time.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use support::app::{App, pull_request_event};
use support::gitlab::{AGENT_BOT, GitlabApp, POLICY};
use warrant::forge::gitlab::fake::events::HookAction;

/// Changes opened per forge; the first few also warm the caches and
/// connections, as a running server's would be.
const CHANGES: u64 = 300;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
        report("GitHub", &mut github(&url("github.db")).await);
        report("GitLab", &mut gitlab(&url("gitlab.db")).await);
    });
}

/// Opens [`CHANGES`] Copilot pull requests, one at a time.
async fn github(database_url: &str) -> Vec<Duration> {
    let app = App::start(database_url).await;
    let mut times = Vec::new();
    for n in 1..=CHANGES {
        app.add_copilot_pull(n, &["src/billing/export.rs"]);
        let head = support::github::sha(0xbe_0000 + n);
        app.push_to(n, &head);
        let base = support::github::base();
        let body = pull_request_event("opened", n, base.as_str(), head.as_str());
        let started = Instant::now();
        app.deliver_and_wait("pull_request", &format!("bench-{n}"), &body, n)
            .await;
        times.push(started.elapsed());
    }
    times
}

/// Opens [`CHANGES`] merge requests by an agent, one at a time.
async fn gitlab(database_url: &str) -> Vec<Duration> {
    let app = GitlabApp::start(database_url).await;
    app.put_policy(POLICY);
    let mut times = Vec::new();
    for n in 1..=CHANGES {
        app.add_merge_request(n, AGENT_BOT, &["src/payments/ledger.rs"], "Round amounts");
        let started = Instant::now();
        app.hook_and_wait(n, AGENT_BOT, HookAction::Open, n).await;
        times.push(started.elapsed());
    }
    times
}

fn report(forge: &str, times: &mut [Duration]) {
    times.sort_unstable();
    let at = |quantile: f64| {
        // Nearest rank: the smallest time at or above the quantile.
        let rank = (quantile * times.len() as f64).ceil() as usize;
        times[rank.clamp(1, times.len()) - 1]
    };
    println!(
        "{forge}: webhook to check over {} changes: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        times.len(),
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
    );
}
