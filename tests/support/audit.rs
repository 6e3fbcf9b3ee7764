//! A small audit trail over three chains (two GitHub repositories and a
//! nested GitLab project), and checkpoints of it signed in process.

use chrono::{TimeZone, Utc};
use sqlx::{AnyConnection, Connection, Executor};
use warrant::audit::checkpoint::SigningKey;
use warrant::audit::checkpoint::write::{Signer, write};
use warrant::audit::{EventKind, NewAuditEvent};
use warrant::store::Store;

use super::keys::{forge, repo_name};

/// The trail's chains: forge and repository.
pub const REPOS: [(&str, &str); 3] = [
    ("github", "acme/app"),
    ("github", "acme/lib"),
    ("gitlab", "group/sub/project"),
];

/// Appends `n` decisions of change 7 by an agent to each chain, round
/// robin.
pub async fn append(store: &Store, n: u64) {
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
    let mut events = Vec::new();
    for i in 0..n {
        for (f, repo) in REPOS {
            let mut e = NewAuditEvent::new(forge(f), &repo_name(repo), EventKind::DecisionMade, at)
                .with_detail("n", i);
            e.actor = Some("copilot-swe-agent[bot]".into());
            e.change = Some(7);
            events.push(e);
        }
    }
    store.append_audit(&events).await.unwrap();
}

/// Signs and stores a checkpoint of the trail as it stands, with `key`.
pub async fn checkpoint(store: &Store, key: &SigningKey) {
    let signer = Signer {
        key: key.clone(),
        instance: String::new(),
        dir: None,
    };
    write(store, &signer, Utc::now(), true).await.unwrap();
}

/// Runs `statements` on the database directly, as someone with write
/// access to it would, past the store.
pub async fn tamper(url: &str, statements: &str) {
    sqlx::any::install_default_drivers();
    let mut conn = AnyConnection::connect(url).await.unwrap();
    conn.execute(statements)
        .await
        .unwrap_or_else(|e| panic!("{statements}: {e}"));
    conn.close().await.unwrap();
}
