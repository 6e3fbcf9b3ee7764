//! No alert is lost when `warrant serve` is killed with SIGKILL while its
//! receiver is down: the real binary evaluates merge requests on a fake
//! GitLab, blocks them and queues `dev.warrant.change.blocked` with each
//! evaluation; the receiver refuses connections, so every delivery fails
//! and waits for its retry; serve is killed; once the receiver is up and
//! serve started again, every alert the database holds arrives, once or
//! more, under the same id. On SQLite always, on PostgreSQL when
//! `WARRANT_TEST_POSTGRES_URL` is set. Unix only: it sends signals.

#![cfg(unix)]

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use support::store::on_each_backend;
use warrant::alerts::signature;
use warrant::forge::gitlab::fake::events::{GitlabWebhookSender, HookAction, merge_request_hook};
use warrant::forge::gitlab::fake::{DEFAULT_TOKEN, FakeGitlab, FakeMergeRequest};
use warrant::store::Store;

const WEBHOOK_SECRET: &str = "s3cret";
const ALERT_SECRET: &str = "alert-secret";
const PROJECT: &str = "platform/payments/ledger";
const BASE: &str = "1111111111111111111111111111111111111111";
const CHANGES: u64 = 4;

/// Past the first retry's wait (30 s) with room for a loaded machine.
const TIMEOUT: Duration = Duration::from_secs(120);

const POLICY: &str = r#"version: 1
mode: enforce
agents:
  ledger-bot:
    role: feature-dev
    owner: alice
    match:
      logins: ["project_3_bot_1a2b"]
roles:
  feature-dev:
    scope:
      allow: ["src/**"]
    out_of_scope: block
"#;

type Seen = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

#[tokio::test]
async fn alerts_pending_when_serve_is_killed_arrive_after_it_restarts() {
    on_each_backend(|database| async move {
        let fake = FakeGitlab::start().await.unwrap();
        fake.add_user(7, "project_3_bot_1a2b", true);
        fake.put_file(PROJECT, BASE, ".gitlab/warrant.yml", POLICY);
        let changes: Vec<FakeMergeRequest> = (1..=CHANGES).map(merge_request).collect();
        for mr in &changes {
            fake.add_merge_request(mr.clone());
        }
        // A port nothing listens on yet: the receiver is down.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let receiver = listener.local_addr().unwrap();
        drop(listener);
        let receiver_url = format!("http://{receiver}/alerts");
        let dir = tempfile::tempdir().unwrap();

        let (mut first, address) = start_serve(dir.path(), &database, &fake, &receiver_url);
        let hooks = GitlabWebhookSender {
            url: format!("http://{address}/webhooks/gitlab"),
            secret: WEBHOOK_SECRET.to_owned(),
        };
        let actor = fake.state().user(7);
        for mr in &changes {
            let payload = merge_request_hook(mr, &actor, &HookAction::Open);
            let key = format!("open-{}", mr.iid);
            let response = hooks.send("Merge Request Hook", &payload, Some(&key)).await;
            assert_eq!(response.unwrap().status(), reqwest::StatusCode::ACCEPTED);
        }
        // Every change decided and its alert tried once, in vain.
        let store = Store::connect(&database).await.unwrap();
        let started = std::time::Instant::now();
        loop {
            let recent = store.recent_alerts(50).await.unwrap();
            let tried = recent
                .iter()
                .filter(|a| a.deliveries.iter().all(|d| d.attempts >= 1))
                .count();
            if tried as u64 == CHANGES {
                break;
            }
            assert!(started.elapsed() < TIMEOUT, "{recent:#?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let queued: BTreeSet<String> = (store.recent_alerts(50).await.unwrap().into_iter())
            .map(|a| a.id)
            .collect();
        kill(&mut first);
        let stats = store.alert_stats().await.unwrap();
        assert_eq!(stats.delivered, 0, "{stats:?}");

        // The receiver comes up; serve starts again.
        let seen: Seen = Arc::default();
        let app = Router::new()
            .route(
                "/alerts",
                post(
                    |State(seen): State<Seen>, headers: HeaderMap, body: Bytes| async move {
                        seen.lock().unwrap().push((headers, body));
                        "ok"
                    },
                ),
            )
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind(receiver).await.unwrap();
        let _receiver = support::serve::serve(listener, app);
        let (mut second, _) = start_serve(dir.path(), &database, &fake, &receiver_url);
        let started = std::time::Instant::now();
        let arrived = loop {
            let arrived: BTreeSet<String> = (seen.lock().unwrap().iter())
                .map(|(headers, _)| headers["warrant-delivery"].to_str().unwrap().to_owned())
                .collect();
            if arrived.is_superset(&queued) {
                break arrived;
            }
            assert!(
                started.elapsed() < TIMEOUT,
                "arrived {arrived:?} of {queued:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        kill(&mut second);
        assert_eq!(arrived, queued, "nothing else was raised");
        for (headers, body) in seen.lock().unwrap().iter() {
            let event: serde_json::Value = serde_json::from_slice(body).unwrap();
            assert_eq!(event["id"], headers["warrant-delivery"].to_str().unwrap());
            assert_eq!(event["type"], "dev.warrant.change.blocked");
            assert_eq!(
                headers["warrant-signature-256"],
                signature(ALERT_SECRET, body).as_str()
            );
        }
        // Each blocked evaluation holds its alert: they were written
        // together.
        for mr in &changes {
            let change =
                warrant::ids::ChangeKey::parse(&format!("gitlab:{PROJECT}!{}", mr.iid)).unwrap();
            let evaluations = store.evaluations(&change).await.unwrap();
            assert!(
                evaluations.iter().any(|e| e.conclusion == "failure"),
                "{evaluations:#?}"
            );
        }
    })
    .await;
}

fn merge_request(iid: u64) -> FakeMergeRequest {
    FakeMergeRequest {
        project: PROJECT.to_owned(),
        iid,
        title: format!("Change the infrastructure ({iid})"),
        author_id: 7,
        head_sha: format!("{iid:040}"),
        base_sha: BASE.to_owned(),
        source_branch: format!("infra-{iid}"),
        target_branch: "main".to_owned(),
        files: vec![("infra/main.tf".to_owned(), None)],
        ..FakeMergeRequest::default()
    }
}

/// Starts `warrant serve` on GitLab alone and returns it with the address
/// it listens on.
fn start_serve(
    dir: &std::path::Path,
    database: &str,
    fake: &FakeGitlab,
    receiver: &str,
) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_warrant"))
        .arg("serve")
        .current_dir(dir)
        .env_clear()
        .env("WARRANT_LISTEN", "127.0.0.1:0")
        .env("WARRANT_LOG_FORMAT", "json")
        .env("WARRANT_DATABASE_URL", database)
        .env("WARRANT_GITLAB_URL", fake.base_url())
        .env("WARRANT_GITLAB_TOKEN", DEFAULT_TOKEN)
        .env("WARRANT_GITLAB_WEBHOOK_SECRET", WEBHOOK_SECRET)
        .env("WARRANT_GITHUB_REGISTRATION", "false")
        .env("WARRANT_ALERT_WEBHOOK_URLS", receiver)
        .env("WARRANT_ALERT_WEBHOOK_SECRET", ALERT_SECRET)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut lines = stderr.lines();
    let address = loop {
        let line = lines.next().expect("serve logs its address").unwrap();
        let log: serde_json::Value = serde_json::from_str(&line).unwrap();
        if let Some(address) = log["fields"]["address"].as_str() {
            break address.to_owned();
        }
    };
    // Keep reading, so that serve never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, address)
}

fn kill(child: &mut Child) {
    // SIGKILL: no shutdown, no flushing.
    child.kill().unwrap();
    child.wait().unwrap();
}
