//! `warrant serve` writes signed checkpoints on its interval when the trail
//! grew, into the database and the checkpoint directory, and refuses a
//! malformed interval by naming its variable. On SQLite and PostgreSQL.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::Utc;
use support::keys::{forge, repo_name};
use support::store::on_each_backend;
use warrant::audit::checkpoint::verify::check_sequence;
use warrant::audit::checkpoint::write::FILE_NAME;
use warrant::audit::checkpoint::{SignedCheckpoint, SigningKey};
use warrant::audit::{EventKind, NewAuditEvent};
use warrant::store::Store;

fn warrant_serve(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warrant"));
    cmd.arg("serve").current_dir(dir).env_clear();
    cmd
}

/// Appends an event to each of `repos`, in one transaction: serve sees
/// all of them or none.
async fn append(store: &Store, repos: &[&str]) {
    let events: Vec<NewAuditEvent> = repos
        .iter()
        .map(|repo| {
            let repo = repo_name(repo);
            NewAuditEvent::new(forge("github"), &repo, EventKind::DecisionMade, Utc::now())
        })
        .collect();
    store.append_audit(&events).await.unwrap();
}

/// The checkpoint lines in `dir`, once there are at least `n` (or what
/// there is after 30 seconds).
async fn kept(dir: &std::path::Path, n: usize) -> Vec<String> {
    let mut waited = Duration::ZERO;
    loop {
        let text = std::fs::read_to_string(dir.join(FILE_NAME)).unwrap_or_default();
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        if lines.len() >= n || waited >= Duration::from_secs(30) {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    }
}

#[tokio::test]
async fn serve_writes_a_checkpoint_when_the_trail_grew_and_the_interval_passed() {
    on_each_backend(|url| async move {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::generate();
        key.write_new(&dir.path().join("audit.key")).unwrap();
        let store = Store::connect(&url).await.unwrap();
        append(&store, &["acme/app"]).await;
        let mut child = warrant_serve(dir.path())
            .env("WARRANT_LISTEN", "127.0.0.1:0")
            .env("WARRANT_DATABASE_URL", &url)
            .env("WARRANT_GITHUB_REGISTRATION", "false")
            .env("WARRANT_PUBLIC_URL", "https://w.example.com")
            .env("WARRANT_AUDIT_SIGNING_KEY", "audit.key")
            .env("WARRANT_AUDIT_CHECKPOINT_INTERVAL", "1s")
            .env("WARRANT_AUDIT_CHECKPOINT_DIR", "kept")
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let first = kept(&dir.path().join("kept"), 1).await;
        append(&store, &["acme/app", "acme/lib"]).await;
        let lines = kept(&dir.path().join("kept"), 2).await;
        let _ = child.kill();
        let _ = child.wait();

        assert_eq!(first.len(), 1, "the first checkpoint at start");
        assert!(lines.len() >= 2, "{lines:?}");
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let report = check_sequence(&text, &key.public(), false);
        assert_eq!(report.broken, None);
        let one = SignedCheckpoint::parse(&lines[0]).unwrap().checkpoint;
        let two = SignedCheckpoint::parse(&lines[1]).unwrap().checkpoint;
        assert_eq!(one.instance, "https://w.example.com");
        let sizes = |c: &warrant::audit::checkpoint::Checkpoint| {
            c.chains
                .iter()
                .map(|s| (s.repo.clone(), s.size))
                .collect::<Vec<_>>()
        };
        assert_eq!(sizes(&one), [("acme/app".to_owned(), 1)]);
        assert_eq!(
            sizes(&two),
            [("acme/app".to_owned(), 2), ("acme/lib".to_owned(), 1)]
        );
        // The database holds what the directory holds; no checkpoint was
        // written while the trail stood still.
        let stored = store.checkpoints_after(0).await.unwrap();
        let stored: Vec<String> = stored.into_iter().map(|c| c.line).collect();
        assert_eq!(stored, lines);
        assert_eq!(stored.len(), 2, "{stored:?}");
        store.close().await;
    })
    .await;
}

#[test]
fn serve_refuses_a_malformed_interval_or_key_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    for (variable, value) in [
        ("WARRANT_AUDIT_CHECKPOINT_INTERVAL", "hourly"),
        ("WARRANT_AUDIT_SIGNING_KEY", "missing.key"),
    ] {
        let out = warrant_serve(dir.path())
            .env("WARRANT_LISTEN", "127.0.0.1:0")
            .env(variable, value)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(&format!("{variable}: ")), "{stderr}");
    }
}
