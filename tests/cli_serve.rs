//! `warrant serve` as operators run it: the real binary, configured through
//! the environment. Unix only: stopping is tested with SIGTERM.

#![cfg(unix)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Generous: a debug build on a busy CI machine migrates SQLite in well
/// under a second, but nothing is gained by failing early.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Every setting of `warrant serve`: cleared for each run, and checked
/// against `--help` and `docs/github-app.md`.
const SETTINGS: &[&str] = &[
    "WARRANT_LISTEN",
    "WARRANT_PUBLIC_URL",
    "WARRANT_DATABASE_URL",
    "WARRANT_GITHUB_APP_ID",
    "WARRANT_GITHUB_PRIVATE_KEY",
    "WARRANT_GITHUB_PRIVATE_KEY_PATH",
    "WARRANT_GITHUB_WEBHOOK_SECRET",
    "WARRANT_GITHUB_API_URL",
    "WARRANT_GITHUB_APP_FILE",
    "WARRANT_GITHUB_REGISTRATION",
    "WARRANT_GITHUB_CLIENT_ID",
    "WARRANT_GITHUB_CLIENT_SECRET",
    "WARRANT_GITHUB_URL",
    "WARRANT_GITHUB_ORG_REPOSITORY",
    "WARRANT_GITLAB_URL",
    "WARRANT_GITLAB_ORG_PROJECT",
    "WARRANT_GITLAB_TOKEN",
    "WARRANT_GITLAB_WEBHOOK_SECRET",
    "WARRANT_PUBLIC_PAGES",
    "WARRANT_SESSION_KEY",
    "WARRANT_WEBHOOK_MEMORY_MB",
    "WARRANT_TOKEN_KEY",
    "WARRANT_ALERT_WEBHOOK_URLS",
    "WARRANT_ALERT_WEBHOOK_SECRET",
    "WARRANT_ALERT_SLACK_URLS",
    "WARRANT_ALERT_EVENTS",
    "WARRANT_AUDIT_SIGNING_KEY",
    "WARRANT_AUDIT_CHECKPOINT_INTERVAL",
    "WARRANT_AUDIT_CHECKPOINT_DIR",
    "WARRANT_LOG_FORMAT",
    "RUST_LOG",
];

#[test]
fn every_setting_is_in_the_help_and_in_the_configuration_table() {
    let help = Command::new(env!("CARGO_BIN_EXE_warrant"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(help.status.success());
    // Lines wrap anywhere, even between `[env:` and the name.
    let help = String::from_utf8(help.stdout)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let docs = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/github-app.md"),
    )
    .unwrap();
    for variable in SETTINGS {
        if *variable != "RUST_LOG" {
            assert!(
                help.contains(&format!("[env: {variable}")),
                "--help lacks {variable}"
            );
        }
        assert!(
            docs.contains(&format!("| `{variable}` |")),
            "docs/github-app.md lacks a row for {variable}"
        );
    }
    // And no setting of the help is missing from the list.
    for rest in help.split("[env: ").skip(1) {
        let variable: String = rest
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || *c == '_')
            .collect();
        assert!(
            SETTINGS.contains(&variable.as_str()),
            "{variable} is not in SETTINGS"
        );
    }
}

/// `warrant serve` in `dir`, with none of the caller's settings.
fn serve(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warrant"));
    cmd.arg("serve").current_dir(dir);
    for variable in SETTINGS {
        cmd.env_remove(variable);
    }
    cmd
}

#[test]
fn a_malformed_setting_stops_serve_with_an_error_naming_its_variable() {
    let dir = tempfile::tempdir().unwrap();
    let output = serve(dir.path())
        .env("WARRANT_LISTEN", "localhost")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("error: WARRANT_LISTEN: `localhost`"),
        "{stderr}"
    );
}

#[tokio::test]
async fn serve_queues_a_signed_webhook_logs_it_as_json_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let key = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/github-app/app-key.pem"
    );
    let mut child = Running(
        serve(dir.path())
            .env("WARRANT_LISTEN", "127.0.0.1:0")
            .env("WARRANT_LOG_FORMAT", "json")
            .env("WARRANT_GITHUB_APP_ID", "1")
            .env("WARRANT_GITHUB_PRIVATE_KEY_PATH", key)
            .env("WARRANT_GITHUB_WEBHOOK_SECRET", SECRET)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (lines, logged) = mpsc::channel();
    let stderr = BufReader::new(child.0.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in stderr.lines() {
            let _ = lines.send(line.unwrap());
        }
    });
    let next_log = || {
        let line = logged.recv_timeout(TIMEOUT).expect("serve logs");
        serde_json::from_str::<serde_json::Value>(&line)
            .unwrap_or_else(|err| panic!("not a JSON log line ({err}): {line}"))
    };
    let address = loop {
        if let Some(address) = next_log()["fields"]["address"].as_str() {
            break address.to_owned();
        }
    };
    assert!(
        dir.path().join("warrant.db").exists(),
        "the default SQLite file"
    );

    let response = reqwest::get(format!("http://{address}/readyz"))
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);

    let body = br#"{"action":"opened"}"#;
    let response = reqwest::Client::new()
        .post(format!("http://{address}/webhooks/github"))
        .header("x-github-event", "pull_request")
        .header("x-github-delivery", "d-1")
        .header("x-hub-signature-256", support::server::sign(SECRET, body))
        .body(&body[..])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::ACCEPTED);
    let queued = loop {
        let log = next_log();
        if log["fields"]["message"] == "webhook queued" {
            break log;
        }
    };
    assert_eq!(queued["span"]["delivery"], "d-1", "{queued}");
    assert_eq!(queued["span"]["event"], "pull_request", "{queued}");
    // The worker serve started picks it up at once, and fails it for good:
    // the payload cannot be read, so no attempt could do better.
    let failed = loop {
        let log = next_log();
        if log["fields"]["message"] == "delivery failed" {
            break log;
        }
    };
    assert_eq!(failed["span"]["delivery"], "d-1", "{failed}");
    assert_eq!(failed["span"]["name"], "delivery", "{failed}");

    let killed = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < TIMEOUT, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn serve_with_gitlab_alone_posts_the_status_of_a_merge_request() {
    use warrant::forge::gitlab::fake::events::{
        GitlabWebhookSender, HookAction, merge_request_hook,
    };
    use warrant::forge::gitlab::fake::{DEFAULT_TOKEN, FakeGitlab, FakeMergeRequest};

    let fake = FakeGitlab::start().await.unwrap();
    fake.add_user(7, "project_3_bot_1a2b", true);
    let head = "2222222222222222222222222222222222222222";
    let mr = FakeMergeRequest {
        project: "platform/payments/ledger".to_owned(),
        iid: 4,
        title: "Tidy".to_owned(),
        author_id: 7,
        head_sha: head.to_owned(),
        base_sha: "1111111111111111111111111111111111111111".to_owned(),
        source_branch: "tidy".to_owned(),
        target_branch: "main".to_owned(),
        files: vec![("README.md".to_owned(), None)],
        ..FakeMergeRequest::default()
    };
    fake.add_merge_request(mr.clone());
    let dir = tempfile::tempdir().unwrap();
    let mut child = Running(
        serve(dir.path())
            .env("WARRANT_LISTEN", "127.0.0.1:0")
            .env("WARRANT_LOG_FORMAT", "json")
            .env("WARRANT_PUBLIC_URL", "https://warrant.example.com")
            .env("WARRANT_GITLAB_URL", fake.base_url())
            .env("WARRANT_GITLAB_TOKEN", DEFAULT_TOKEN)
            .env("WARRANT_GITLAB_WEBHOOK_SECRET", SECRET)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stderr = BufReader::new(child.0.stderr.take().unwrap());
    let (lines, logged) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines() {
            let _ = lines.send(line.unwrap());
        }
    });
    let address = loop {
        let line = logged.recv_timeout(TIMEOUT).expect("serve logs");
        let log: serde_json::Value = serde_json::from_str(&line).unwrap();
        if let Some(address) = log["fields"]["address"].as_str() {
            break address.to_owned();
        }
    };
    let hooks = GitlabWebhookSender {
        url: format!("http://{address}/webhooks/gitlab"),
        secret: SECRET.to_owned(),
    };
    let actor = fake.state().user(7);
    let payload = merge_request_hook(&mr, &actor, &HookAction::Open);
    let response = hooks
        .send("Merge Request Hook", &payload, Some("k-1"))
        .await;
    assert_eq!(response.unwrap().status(), reqwest::StatusCode::ACCEPTED);
    // The GitLab worker runs although no GitHub App is configured.
    let started = std::time::Instant::now();
    let status = loop {
        let finished = fake
            .statuses()
            .into_iter()
            .find(|s| s.sha == head && s.state == "success");
        if let Some(status) = finished {
            break status;
        }
        assert!(
            started.elapsed() < TIMEOUT,
            "no status: {:#?}",
            fake.statuses()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        status.description.as_deref(),
        Some("Warrant is not configured for this repository")
    );
    assert_eq!(
        status.target_url.as_deref(),
        Some("https://warrant.example.com/audit/gitlab/platform/payments/ledger/changes/4")
    );
}

const SECRET: &str = "s3cret";

/// The server process, killed if the test ends before it stopped.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
