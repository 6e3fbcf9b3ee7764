//! Alerts: governance events told to the people responsible, where they
//! already look (`../shared/spec/ALERTS.md` is the contract). Each alert is
//! a CloudEvents 1.0 event in structured JSON mode, posted signed to the
//! operator's webhook receivers and as a readable message to Slack.
//!
//! This module holds what an alert is, how it is written for each kind of
//! receiver, and how queued alerts are delivered ([`deliver`]); the
//! durable outbox is `store::alerts`. (Raising each type of alert from the
//! events that cause it, and the operator's settings, come next: see the
//! project's notes.)

pub mod deliver;
pub mod lapsing;
mod slack;

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

pub use slack::slack_message;

/// The header carrying an alert's signature: `sha256=<hex HMAC-SHA256 of
/// the raw body>` under `WARRANT_ALERT_WEBHOOK_SECRET`.
pub const SIGNATURE_HEADER: &str = "Warrant-Signature-256";

/// The header carrying the alert's id, the same on every retry.
pub const DELIVERY_HEADER: &str = "Warrant-Delivery";

/// The CloudEvents content type of a structured-mode event.
pub const CONTENT_TYPE: &str = "application/cloudevents+json";

/// The types of alert, as `ALERTS.md` lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlertType {
    PolicyRelaxed,
    AgentUnregistered,
    AgentLapsing,
    AgentLapsedActive,
    ChangeBlocked,
    PushUnreviewed,
    OverrideUsed,
    EvaluationFailed,
}

impl AlertType {
    pub const ALL: [AlertType; 8] = [
        AlertType::PolicyRelaxed,
        AlertType::AgentUnregistered,
        AlertType::AgentLapsing,
        AlertType::AgentLapsedActive,
        AlertType::ChangeBlocked,
        AlertType::PushUnreviewed,
        AlertType::OverrideUsed,
        AlertType::EvaluationFailed,
    ];

    /// The CloudEvents `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertType::PolicyRelaxed => "dev.warrant.policy.relaxed",
            AlertType::AgentUnregistered => "dev.warrant.agent.unregistered",
            AlertType::AgentLapsing => "dev.warrant.agent.lapsing",
            AlertType::AgentLapsedActive => "dev.warrant.agent.lapsed_active",
            AlertType::ChangeBlocked => "dev.warrant.change.blocked",
            AlertType::PushUnreviewed => "dev.warrant.push.unreviewed",
            AlertType::OverrideUsed => "dev.warrant.override.used",
            AlertType::EvaluationFailed => "dev.warrant.evaluation.failed",
        }
    }

    pub fn parse(name: &str) -> Option<AlertType> {
        AlertType::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// What happened, in a few words, for a human reader.
    pub fn headline(self) -> &'static str {
        match self {
            AlertType::PolicyRelaxed => "Policy relaxed",
            AlertType::AgentUnregistered => "Unregistered agent seen",
            AlertType::AgentLapsing => "Agent registration lapsing",
            AlertType::AgentLapsedActive => "Lapsed agent still active",
            AlertType::ChangeBlocked => "Change blocked",
            AlertType::PushUnreviewed => "Agent commits pushed without review",
            AlertType::OverrideUsed => "Check overridden",
            AlertType::EvaluationFailed => "Evaluation failed",
        }
    }
}

impl fmt::Display for AlertType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One alert, as it is queued and delivered.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// Stable across retries: receivers drop duplicates by it.
    pub id: String,
    pub kind: AlertType,
    /// `FORGE:OWNER/NAME` or `FORGE:OWNER/NAME#N`.
    pub subject: String,
    pub time: DateTime<Utc>,
    pub data: Value,
}

impl Alert {
    /// A new alert of `kind` about `subject`, with a fresh id.
    pub fn new(kind: AlertType, subject: String, time: DateTime<Utc>, data: Value) -> Alert {
        let id: [u8; 16] = rand::random();
        Alert {
            id: hex::encode(id),
            kind,
            subject,
            time,
            data,
        }
    }

    /// An alert raised at most once for `key` (what it is about: an agent
    /// in a repository, a registration on a day): its id is derived from
    /// the type and `key`, so that the outbox, which keeps each id once,
    /// drops a second raising, from this replica or another.
    pub fn once(
        kind: AlertType,
        key: &str,
        subject: String,
        time: DateTime<Utc>,
        data: Value,
    ) -> Alert {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("{}\n{key}", kind.as_str()));
        Alert {
            id: hex::encode(&digest[..16]),
            kind,
            subject,
            time,
            data,
        }
    }

    /// The alert as the outbox queues it, for `receivers`.
    pub fn queued(&self, source: &str, receivers: Vec<String>) -> crate::store::alerts::NewAlert {
        crate::store::alerts::NewAlert {
            id: self.id.clone(),
            kind: self.kind.as_str().to_owned(),
            subject: self.subject.clone(),
            event: self.cloud_event(source).to_string(),
            receivers,
            at: self.time,
        }
    }

    /// The CloudEvents 1.0 event in structured JSON mode; `source` is the
    /// Warrant instance's public URL.
    pub fn cloud_event(&self, source: &str) -> Value {
        json!({
            "specversion": "1.0",
            "id": self.id,
            "source": source,
            "type": self.kind.as_str(),
            "time": self.time.to_rfc3339_opts(SecondsFormat::Millis, true),
            "subject": self.subject,
            "datacontenttype": "application/json",
            "data": self.data,
        })
    }
}

/// What the worker needs to raise alerts: the receivers to queue them
/// for, the types the operator sends, and the CloudEvents `source`.
#[derive(Clone, Debug, Default)]
pub struct Raise {
    /// The receivers' keys; none: no alert is queued.
    pub receivers: Vec<String>,
    pub events: EventFilter,
    /// Warrant's public URL (`urn:warrant` without one).
    pub source: String,
}

impl Raise {
    /// `alert` as the outbox queues it, unless no receiver wants it.
    pub fn queue(&self, alert: &Alert) -> Option<crate::store::alerts::NewAlert> {
        let wanted = !self.receivers.is_empty() && self.events.sends(alert.kind);
        wanted.then(|| alert.queued(&self.source, self.receivers.clone()))
    }
}

/// Which alert types the operator sends (`WARRANT_ALERT_EVENTS`): exact
/// types, or prefixes ending in `.` (`dev.warrant.agent.`); all when
/// empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter(Vec<String>);

impl EventFilter {
    /// Reads a comma-separated list; an entry that names no type and
    /// starts no type's name is an error, so that a typo does not silence
    /// alerts unnoticed.
    pub fn parse(list: &str) -> Result<EventFilter, String> {
        let entries: Vec<String> = list
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect();
        for entry in &entries {
            let known = AlertType::ALL.iter().any(|t| matches(entry, t.as_str()));
            if !known {
                return Err(format!(
                    "`{entry}` is not an alert type nor a prefix of one (types: {})",
                    AlertType::ALL.map(AlertType::as_str).join(", ")
                ));
            }
        }
        Ok(EventFilter(entries))
    }

    pub fn sends(&self, kind: AlertType) -> bool {
        self.0.is_empty() || self.0.iter().any(|e| matches(e, kind.as_str()))
    }
}

fn matches(entry: &str, kind: &str) -> bool {
    entry == kind || (entry.ends_with('.') && kind.starts_with(entry))
}

/// `sha256=<hex>`: the HMAC-SHA256 of a body under the secret, as the
/// `Warrant-Signature-256` header carries it (the same scheme as GitHub's
/// webhooks).
pub use crate::server::sign as signature;

/// Where alerts may be sent: HTTPS, or plain HTTP to a loopback address
/// (a receiver beside Warrant). Anything else is refused with the reason.
pub fn receiver_url(url: &str) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    let host = parsed.host_str().unwrap_or_default();
    let ip = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host == "localhost"
        || ip
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if loopback => Ok(parsed),
        _ => Err(format!(
            "`{url}`: alerts go over HTTPS (plain HTTP only to a loopback address)"
        )),
    }
}

#[cfg(test)]
mod tests;
