//! An alert as a Slack message: what happened and where, in a sentence or
//! two, with links to the change's page on Warrant and to the forge.

use serde_json::{Value, json};

use super::{Alert, AlertType};

/// The incoming-webhook payload for `alert`: `text` for notifications and
/// clients without blocks, and the same as one `mrkdwn` section. `page` is
/// the audit page of the change or repository, when Warrant has a public
/// URL; `forge` the change on its forge, when known.
pub fn slack_message(alert: &Alert, page: Option<&str>, forge: Option<&str>) -> Value {
    let mut text = format!("*{}* in `{}`", alert.kind.headline(), alert.subject);
    if let Some(what) = detail(alert) {
        text.push_str(&format!(": {}", escape(&what)));
    }
    let on_forge = if alert.subject.contains('#') {
        "the change"
    } else {
        "the repository"
    };
    let links: Vec<String> = [(page, "Warrant"), (forge, on_forge)]
        .into_iter()
        .filter_map(|(url, name)| url.map(|u| format!("<{u}|{name}>")))
        .collect();
    if !links.is_empty() {
        text.push_str(&format!("\n{}", links.join(" · ")));
    }
    json!({
        "text": text,
        "blocks": [{ "type": "section", "text": { "type": "mrkdwn", "text": text } }],
    })
}

/// The one line a reader needs, from the alert's data.
fn detail(alert: &Alert) -> Option<String> {
    let d = &alert.data;
    let s = |key: &str| d.get(key).and_then(Value::as_str).map(str::to_owned);
    match alert.kind {
        AlertType::PolicyRelaxed => {
            let relaxations: Vec<&str> = (d.get("relaxations").and_then(Value::as_array))
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            (!relaxations.is_empty()).then(|| relaxations.join("; "))
        }
        AlertType::AgentUnregistered | AlertType::AgentLapsedActive => s("agent"),
        AlertType::AgentLapsing => {
            let days = d.get("days_left").and_then(Value::as_i64)?;
            let days = if days == 1 {
                "1 day".to_owned()
            } else {
                format!("{days} days")
            };
            Some(format!("{} lapses in {days}", s("agent")?))
        }
        AlertType::ChangeBlocked => s("title"),
        AlertType::PushUnreviewed => {
            let commits = d
                .get("commits")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let push = d.get("push")?;
            let branch = push.get("ref").and_then(Value::as_str)?;
            let branch = branch.strip_prefix("refs/heads/").unwrap_or(branch);
            let pusher = push
                .get("pusher")
                .and_then(Value::as_str)
                .unwrap_or("someone");
            let noun = if commits == 1 { "commit" } else { "commits" };
            Some(format!(
                "{commits} agent {noun} pushed to {branch} by {pusher}"
            ))
        }
        AlertType::OverrideUsed => Some(format!("by {}: {}", s("overrider")?, s("reason")?)),
        AlertType::EvaluationFailed => s("error"),
    }
}

/// Slack's three control characters in text.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
