//! Delivering queued alerts: one loop per receiver, so that a slow or
//! failing receiver delays only itself, never evaluations nor the other
//! receivers. A receiver's `2xx` completes a delivery; anything else is
//! tried again with exponential backoff for 24 hours, then recorded as
//! failed, never dropped.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{Alert, AlertType, CONTENT_TYPE, DELIVERY_HEADER, SIGNATURE_HEADER, signature};
use crate::ids::ChangeKey;
use crate::store::Store;
use crate::store::alerts::ClaimedAlert;
use crate::urls;

/// How long a claimed delivery is held: past it, another replica takes
/// it over (the holder crashed).
pub const LEASE: Duration = Duration::from_secs(60);

/// How long one POST may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// How long a delivery is tried before it is recorded as failed.
pub const GIVE_UP_AFTER: TimeDelta = TimeDelta::hours(24);

/// How often an idle receiver's loop looks for due deliveries.
const POLL: Duration = Duration::from_secs(2);

/// What a receiver is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReceiverKind {
    /// The CloudEvent, signed.
    Webhook,
    /// A readable message.
    Slack,
}

/// A configured receiver.
#[derive(Clone, Debug)]
pub struct Receiver {
    pub kind: ReceiverKind,
    pub url: reqwest::Url,
}

impl Receiver {
    /// The key the outbox names it by: its kind and a digest of its URL
    /// (an incoming webhook's URL is a secret, and is not stored).
    pub fn key(&self) -> String {
        let kind = match self.kind {
            ReceiverKind::Webhook => "webhook",
            ReceiverKind::Slack => "slack",
        };
        let digest = hex::encode(Sha256::digest(self.url.as_str().as_bytes()));
        format!("{kind}:{}", &digest[..16])
    }
}

/// Delivers the outbox's alerts to the configured receivers.
pub struct Deliverer {
    pub store: Store,
    pub receivers: Vec<Receiver>,
    /// Signs webhook receivers' POSTs, when set.
    pub secret: Option<String>,
    /// What Slack messages link to.
    pub links: Links,
    /// This replica's name, as the lease owner.
    pub worker: String,
    pub http: reqwest::Client,
}

/// Where Slack messages link to: Warrant's audit pages and the forges.
#[derive(Clone, Debug)]
pub struct Links {
    /// Warrant's public URL (`WARRANT_PUBLIC_URL`); no page links without.
    pub public_url: Option<String>,
    /// The forges' web addresses (`WARRANT_GITHUB_URL`,
    /// `WARRANT_GITLAB_URL`).
    pub github_url: String,
    pub gitlab_url: String,
}

impl Links {
    /// `alert` as a Slack message, linking its change (or repository).
    pub fn slack_message(&self, alert: &Alert) -> serde_json::Value {
        let (page, forge) = self.of(&alert.subject);
        super::slack_message(alert, page.as_deref(), forge.as_deref())
    }

    /// What a message links to for an alert about `subject`: the audit
    /// page of the change (or the list of the repository's changes), when
    /// Warrant has a public URL, and the change (or repository) on its
    /// forge.
    fn of(&self, subject: &str) -> (Option<String>, Option<String>) {
        let (github, gitlab) = (self.github_url.as_str(), self.gitlab_url.as_str());
        let base = self.public_url.as_deref();
        if let Ok(change) = ChangeKey::parse(subject) {
            let page = base.map(|b| format!("{b}{}", urls::change_page(&change)));
            return (page, Some(urls::forge_change(&change, github, gitlab)));
        }
        match crate::ids::parse_repository(subject) {
            Ok((forge, repo)) => (
                base.map(|b| format!("{b}{}", urls::repository_changes(forge, &repo))),
                Some(urls::forge_repository(forge, &repo, github, gitlab)),
            ),
            Err(_) => (None, None),
        }
    }
}

/// What one attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// Nothing was due.
    Idle,
    Delivered,
    /// To be tried again at the given time.
    Retried(DateTime<Utc>),
    Failed,
}

impl Deliverer {
    /// Claims the oldest due delivery to `receiver`, sends it and records
    /// how it went.
    pub async fn attempt(
        &self,
        receiver: &Receiver,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Attempt> {
        let key = receiver.key();
        let Some(claimed) = (self.store)
            .claim_alert(&key, &self.worker, LEASE, now)
            .await?
        else {
            return Ok(Attempt::Idle);
        };
        // Scheduled from the attempt's clock, as the claim was.
        match self.send(receiver, &claimed).await {
            Ok(()) => {
                self.store
                    .alert_delivered(&claimed, &self.worker, now)
                    .await?;
                Ok(Attempt::Delivered)
            }
            Err(error) if now - claimed.created_at >= GIVE_UP_AFTER => {
                tracing::error!(alert = %claimed.alert_id, receiver = %key, %error, "alert not delivered, given up");
                (self.store)
                    .alert_failed(&claimed, &self.worker, &error, now)
                    .await?;
                Ok(Attempt::Failed)
            }
            Err(error) => {
                let at = now + backoff(claimed.attempts);
                tracing::warn!(alert = %claimed.alert_id, receiver = %key, %error, "alert not delivered, will retry");
                (self.store)
                    .alert_retry(&claimed, &self.worker, at, &error)
                    .await?;
                Ok(Attempt::Retried(at))
            }
        }
    }

    /// POSTs the alert; the receiver's `2xx` is the only success.
    async fn send(&self, receiver: &Receiver, claimed: &ClaimedAlert) -> Result<(), String> {
        let request = self.http.post(receiver.url.clone()).timeout(TIMEOUT);
        let request = match receiver.kind {
            ReceiverKind::Webhook => {
                let body = claimed.event.clone().into_bytes();
                let signed = match &self.secret {
                    Some(secret) => request.header(SIGNATURE_HEADER, signature(secret, &body)),
                    None => request,
                };
                signed
                    .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
                    .header(DELIVERY_HEADER, &claimed.alert_id)
                    .body(body)
            }
            ReceiverKind::Slack => {
                let alert =
                    from_event(&claimed.event).map_err(|e| format!("unreadable alert: {e}"))?;
                request.json(&self.links.slack_message(&alert))
            }
        };
        let response = request.send().await.map_err(|e| format!("{e}"))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("the receiver answered {status}"))
        }
    }

    /// The audit page of a change subject (`github:acme/app#12`).
    /// Runs a loop per receiver until `stop` turns true.
    pub fn spawn(self: Arc<Self>, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        (0..self.receivers.len())
            .map(|i| {
                let deliverer = self.clone();
                let mut stop = stop.clone();
                tokio::spawn(async move {
                    let receiver = &deliverer.receivers[i];
                    while !*stop.borrow() {
                        let worked = deliverer.attempt(receiver, Utc::now()).await;
                        let busy = matches!(
                            worked,
                            Ok(Attempt::Delivered | Attempt::Retried(_) | Attempt::Failed)
                        );
                        if let Err(err) = worked {
                            tracing::warn!(error = %format!("{err:#}"), "cannot deliver alerts");
                        }
                        if !busy {
                            tokio::select! {
                                _ = tokio::time::sleep(POLL) => {}
                                _ = stop.changed() => {}
                            }
                        }
                    }
                })
            })
            .collect()
    }
}

/// The wait before attempt `attempts + 1`: 30 seconds, doubling, at most
/// an hour.
pub fn backoff(attempts: u32) -> TimeDelta {
    let seconds = 30i64.saturating_mul(1 << attempts.saturating_sub(1).min(7));
    TimeDelta::seconds(seconds.min(3600))
}

/// An alert read back from its CloudEvent.
pub fn from_event(event: &str) -> anyhow::Result<Alert> {
    let v: Value = serde_json::from_str(event)?;
    let s = |key: &str| {
        v.get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow::anyhow!("no `{key}`"))
    };
    let kind = s("type")?;
    Ok(Alert {
        id: s("id")?.to_owned(),
        kind: AlertType::parse(kind).ok_or_else(|| anyhow::anyhow!("unknown type {kind}"))?,
        subject: s("subject")?.to_owned(),
        time: DateTime::parse_from_rfc3339(s("time")?)?.with_timezone(&Utc),
        data: v.get("data").cloned().unwrap_or(Value::Null),
    })
}
