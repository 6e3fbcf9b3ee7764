//! No acknowledged delivery is lost when `warrant serve` is killed with
//! SIGKILL under load: the real binary, fed signed deliveries by many
//! senders at once (so that deliveries share commits), killed while they
//! are still sending; every delivery it answered `202` must then be in the
//! database. On SQLite always, on PostgreSQL when
//! `WARRANT_TEST_POSTGRES_URL` is set. Unix only: it sends signals.

#![cfg(unix)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::server::{SECRET, fixture, sign};
use support::store::on_each_backend;
use tokio::sync::Notify;

/// How many deliveries must be acknowledged before the kill: enough for
/// many commits, each shared by several deliveries.
const ACKNOWLEDGED_BEFORE_KILL: usize = 300;

/// Senders at once, as a forge sends deliveries in parallel.
const SENDERS: usize = 16;

/// Generous, for a debug build on a busy machine; only a hang reaches it.
const TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn no_acknowledged_delivery_is_lost_when_serve_is_killed_under_load() {
    on_each_backend(|url| async move {
        let dir = tempfile::tempdir().unwrap();
        let (mut server, address) = start_serve(dir.path(), &url);
        let acknowledged = Arc::new(Mutex::new(Vec::new()));
        let enough = Arc::new(Notify::new());
        let mut senders = tokio::task::JoinSet::new();
        for sender in 0..SENDERS {
            let (acknowledged, enough) = (acknowledged.clone(), enough.clone());
            let url = format!("http://{address}/webhooks/github");
            senders.spawn(send_until_refused(sender, url, acknowledged, enough));
        }
        tokio::time::timeout(TIMEOUT, enough.notified())
            .await
            .expect("deliveries are acknowledged");
        let batched = commits_shared(&address).await;
        server.kill().unwrap();
        server.wait().unwrap();
        tokio::time::timeout(TIMEOUT, senders.join_all())
            .await
            .expect("the senders see the server gone");
        assert!(
            batched,
            "no delivery shared its commit: the load did not exercise group commit"
        );

        let acknowledged = acknowledged.lock().unwrap().clone();
        assert!(acknowledged.len() >= ACKNOWLEDGED_BEFORE_KILL);
        let stored = stored_ids(&url).await;
        let lost: Vec<_> = acknowledged
            .iter()
            .filter(|id| !stored.contains(*id))
            .collect();
        assert!(
            lost.is_empty(),
            "{} of {} acknowledged deliveries lost: {lost:?}",
            lost.len(),
            acknowledged.len()
        );
    })
    .await;
}

/// Starts `warrant serve` on `database_url` with a GitHub App whose API
/// does not answer (the workers retry, and every delivery stays stored),
/// and returns it with the address it listens on.
fn start_serve(dir: &std::path::Path, database_url: &str) -> (Child, String) {
    let key = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/github-app/app-key.pem"
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_warrant"))
        .arg("serve")
        .current_dir(dir)
        .env_clear()
        .env("WARRANT_LISTEN", "127.0.0.1:0")
        .env("WARRANT_LOG_FORMAT", "json")
        .env("WARRANT_DATABASE_URL", database_url)
        .env("WARRANT_GITHUB_APP_ID", "1")
        .env("WARRANT_GITHUB_PRIVATE_KEY_PATH", key)
        .env("WARRANT_GITHUB_WEBHOOK_SECRET", SECRET)
        .env("WARRANT_GITHUB_API_URL", "http://127.0.0.1:9")
        .env("RUST_LOG", "warn,warrant::cli=info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let address = loop {
        let line = lines.next().expect("serve logs its address").unwrap();
        let log: serde_json::Value = serde_json::from_str(&line).unwrap();
        if let Some(address) = log["fields"]["address"].as_str() {
            break address.to_owned();
        }
    };
    // Keep reading, so that a full pipe never blocks the server.
    std::thread::spawn(move || for _ in lines {});
    (child, address)
}

/// Sends distinct signed deliveries one after another until the server no
/// longer answers, recording each one answered `202`, and rings `enough`
/// once [`ACKNOWLEDGED_BEFORE_KILL`] are.
async fn send_until_refused(
    sender: usize,
    url: String,
    acknowledged: Arc<Mutex<Vec<String>>>,
    enough: Arc<Notify>,
) {
    let client = reqwest::Client::new();
    let mut payload: serde_json::Value =
        serde_json::from_slice(&fixture("pull_request", "opened.payload.json")).unwrap();
    for n in 0.. {
        let delivery = format!("s{sender}-{n}");
        payload["warrant_test_copy"] = delivery.clone().into();
        let body = serde_json::to_vec(&payload).unwrap();
        let response = client
            .post(&url)
            .header("content-type", "application/json")
            .header("x-github-event", "pull_request")
            .header("x-github-delivery", &delivery)
            .header("x-hub-signature-256", sign(SECRET, &body))
            .body(body)
            .send()
            .await;
        let Ok(response) = response else { return };
        // Anything but 202 is a failure the forge would retry, never a loss.
        if response.status() == reqwest::StatusCode::ACCEPTED {
            let mut acknowledged = acknowledged.lock().unwrap();
            acknowledged.push(delivery);
            if acknowledged.len() == ACKNOWLEDGED_BEFORE_KILL {
                enough.notify_one();
            }
        }
    }
}

/// Whether some delivery was made durable by a commit it shared with
/// others, by the server's own histogram of commit sizes.
async fn commits_shared(address: &str) -> bool {
    let metrics = reqwest::get(format!("http://{address}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |prefix: &str| -> f64 {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(prefix))
            .and_then(|rest| rest.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {prefix} in {metrics}"))
    };
    let alone = value("warrant_webhook_commit_batch_deliveries_bucket{le=\"1.0\"}");
    let all = value("warrant_webhook_commit_batch_deliveries_count");
    all > alone
}

/// The delivery ids stored at `url`, whatever their state.
async fn stored_ids(url: &str) -> std::collections::HashSet<String> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let ids: Vec<String> = sqlx::query_scalar("SELECT delivery_id FROM deliveries")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    ids.into_iter().collect()
}
