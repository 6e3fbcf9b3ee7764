//! Alerts as a receiver reads them, for snapshots: the CloudEvent with
//! what changes from run to run (its id and time) written as placeholders,
//! and the Slack message Warrant would post for it.

use serde_json::Value;
use warrant::alerts::deliver::{Links, from_event};

/// Where the tests' Slack messages link to.
pub fn links() -> Links {
    Links {
        public_url: Some("https://warrant.example.com".to_owned()),
        github_url: "https://github.com".to_owned(),
        gitlab_url: "https://gitlab.example.com".to_owned(),
    }
}

/// `event` with its id and time replaced, and the Slack message for it,
/// as one text.
pub fn readable(event: &Value) -> String {
    let mut stable = event.clone();
    stable["id"] = "<id>".into();
    stable["time"] = "<time>".into();
    let alert = from_event(&event.to_string()).expect("an alert reads back");
    let slack = links().slack_message(&alert);
    format!(
        "{}\n\n--- Slack ---\n{}\n",
        serde_json::to_string_pretty(&stable).unwrap(),
        slack["text"].as_str().unwrap()
    )
}

/// The key of the receiver the tests queue alerts for.
pub const RECEIVER: &str = "webhook:0123456789abcdef";

/// Alerts of the types `events` lists (`""`: all) raised for [`RECEIVER`].
pub fn raise(events: &str) -> warrant::alerts::Raise {
    warrant::alerts::Raise {
        receivers: vec![RECEIVER.to_owned()],
        events: warrant::alerts::EventFilter::parse(events).expect("a valid filter"),
        source: "https://warrant.example.com".to_owned(),
    }
}

/// The CloudEvents queued for [`RECEIVER`] and due at `now`, oldest
/// first, each taken and marked delivered.
pub async fn queued_at(
    store: &warrant::store::Store,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<Value> {
    let mut events = Vec::new();
    let lease = std::time::Duration::from_secs(60);
    while let Some(claimed) = store
        .claim_alert(RECEIVER, "test", lease, now)
        .await
        .unwrap()
    {
        store.alert_delivered(&claimed, "test", now).await.unwrap();
        events.push(serde_json::from_str(&claimed.event).unwrap());
    }
    events
}

/// [`queued_at`] now.
pub async fn queued(store: &warrant::store::Store) -> Vec<Value> {
    queued_at(store, chrono::Utc::now()).await
}
