//! The alerts' settings (`ALERTS.md`, "Where alerts go"): server settings,
//! never the policy's, so that a pull request cannot silence them.

use crate::alerts::EventFilter;
use crate::alerts::deliver::{Receiver, ReceiverKind};

use super::{ConfigError, Secret};

#[derive(Clone, Debug, Default, clap::Args)]
pub struct AlertArgs {
    /// Comma-separated HTTPS (or loopback HTTP) URLs that receive each
    /// alert as a POST of its CloudEvent.
    #[arg(long, env = "WARRANT_ALERT_WEBHOOK_URLS")]
    pub alert_webhook_urls: Option<String>,

    /// Signs each POST to the webhook receivers: header
    /// `Warrant-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`.
    #[arg(long, env = "WARRANT_ALERT_WEBHOOK_SECRET", hide_env_values = true)]
    pub alert_webhook_secret: Option<Secret>,

    /// Comma-separated Slack incoming-webhook URLs: a readable message per
    /// alert.
    #[arg(long, env = "WARRANT_ALERT_SLACK_URLS", hide_env_values = true)]
    pub alert_slack_urls: Option<Secret>,

    /// Comma-separated alert types or prefixes to send
    /// (`dev.warrant.agent.`); all when unset.
    #[arg(long, env = "WARRANT_ALERT_EVENTS")]
    pub alert_events: Option<String>,
}

/// Where alerts go, checked.
#[derive(Clone, Debug, Default)]
pub struct AlertConfig {
    pub receivers: Vec<Receiver>,
    pub secret: Option<Secret>,
    pub events: EventFilter,
}

impl AlertConfig {
    /// The receivers' keys, as the outbox names them.
    pub fn receiver_keys(&self) -> Vec<String> {
        self.receivers.iter().map(Receiver::key).collect()
    }
}

impl AlertArgs {
    pub fn validate(&self) -> Result<AlertConfig, ConfigError> {
        let mut receivers = urls(
            "WARRANT_ALERT_WEBHOOK_URLS",
            self.alert_webhook_urls.as_deref(),
            ReceiverKind::Webhook,
        )?;
        let slack = self.alert_slack_urls.as_ref().map(Secret::expose);
        receivers.extend(urls(
            "WARRANT_ALERT_SLACK_URLS",
            slack,
            ReceiverKind::Slack,
        )?);
        let secret = self
            .alert_webhook_secret
            .clone()
            .filter(|s| !s.expose().trim().is_empty());
        let webhooks = receivers.iter().any(|r| r.kind == ReceiverKind::Webhook);
        if webhooks && secret.is_none() {
            return Err(ConfigError::new(
                "WARRANT_ALERT_WEBHOOK_SECRET",
                "is required with WARRANT_ALERT_WEBHOOK_URLS: receivers must be able to \
                 tell Warrant's alerts from anyone else's",
            ));
        }
        let events = EventFilter::parse(self.alert_events.as_deref().unwrap_or(""))
            .map_err(|e| ConfigError::new("WARRANT_ALERT_EVENTS", e))?;
        Ok(AlertConfig {
            receivers,
            secret,
            events,
        })
    }
}

fn urls(
    variable: &str,
    list: Option<&str>,
    kind: ReceiverKind,
) -> Result<Vec<Receiver>, ConfigError> {
    (list.unwrap_or("").split(','))
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| {
            // The URL is not repeated: a Slack webhook's is a secret.
            let url = crate::alerts::receiver_url(u).map_err(|_| {
                ConfigError::new(
                    variable,
                    "each URL must be HTTPS (or plain HTTP to a loopback address)",
                )
            })?;
            Ok(Receiver { kind, url })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(webhooks: &str, secret: &str, slack: &str, events: &str) -> AlertArgs {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        AlertArgs {
            alert_webhook_urls: some(webhooks),
            alert_webhook_secret: some(secret).map(Secret::new),
            alert_slack_urls: some(slack).map(Secret::new),
            alert_events: some(events),
        }
    }

    #[test]
    fn no_setting_sends_nothing() {
        let config = args("", "", "", "").validate().unwrap();
        assert!(config.receivers.is_empty());
    }

    #[test]
    fn receivers_are_read_and_checked() {
        let config = args(
            "https://siem.example.com/in, http://127.0.0.1:9000/a",
            "s3cret",
            "https://hooks.slack.com/services/T/B/X",
            "dev.warrant.agent.",
        )
        .validate()
        .unwrap();
        let kinds: Vec<ReceiverKind> = config.receivers.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            [
                ReceiverKind::Webhook,
                ReceiverKind::Webhook,
                ReceiverKind::Slack
            ]
        );
        assert_eq!(config.receiver_keys().len(), 3);
        assert!(config.receiver_keys()[2].starts_with("slack:"));
        assert!(!config.events.sends(crate::alerts::AlertType::ChangeBlocked));
    }

    #[test]
    fn a_wrong_setting_names_its_variable_and_never_a_slack_url() {
        let plain = args("http://siem.example.com/in", "s", "", "")
            .validate()
            .unwrap_err();
        assert!(
            plain.to_string().contains("WARRANT_ALERT_WEBHOOK_URLS"),
            "{plain}"
        );
        let unsigned = args("https://siem.example.com/in", "", "", "")
            .validate()
            .unwrap_err();
        assert!(
            unsigned
                .to_string()
                .contains("WARRANT_ALERT_WEBHOOK_SECRET"),
            "{unsigned}"
        );
        let slack = args("", "", "http://hooks.slack.com/services/T/B/SECRETPART", "")
            .validate()
            .unwrap_err();
        assert!(
            slack.to_string().contains("WARRANT_ALERT_SLACK_URLS"),
            "{slack}"
        );
        assert!(!slack.to_string().contains("SECRETPART"), "{slack}");
        let typo = args("", "", "", "dev.warrant.change.blockd")
            .validate()
            .unwrap_err();
        assert!(typo.to_string().contains("WARRANT_ALERT_EVENTS"), "{typo}");
    }
}
