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
