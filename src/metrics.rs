//! Prometheus metrics, served as text at `/metrics`.
//!
//! One [`Metrics`] is made at start-up and cloned into whatever records: the
//! webhook handler now, the workers and the GitHub client later. Every label
//! takes values from a fixed set (`&'static str`, or values GitHub bounds),
//! so that a sender cannot grow the series without limit by inventing event
//! names.
//!
//! | Family | Type | Labels |
//! |---|---|---|
//! | `warrant_webhook_deliveries_total` | counter | `forge`, `event`, `outcome` |
//! | `warrant_webhook_duration_seconds` | histogram | |
//! | `warrant_webhook_commit_batch_deliveries` | histogram | |
//! | `warrant_evaluations_total` | counter | `conclusion` |
//! | `warrant_evaluation_duration_seconds` | histogram | |
//! | `warrant_github_api_requests_total` | counter | `status` |
//! | `warrant_github_api_request_duration_seconds` | histogram | |
//! | `warrant_github_rate_limit_remaining` | gauge | `resource` |
//! | `warrant_gitlab_api_requests_total` | counter | `status` |
//! | `warrant_gitlab_api_request_duration_seconds` | histogram | |
//! | `warrant_queue_deliveries` | gauge | `state` |
//! | `warrant_queue_oldest_age_seconds` | gauge | |
//! | `warrant_alert_deliveries` | gauge | `state` |
//! | `warrant_database_up` | gauge | |

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;

use crate::engine::Forge;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::engine::Conclusion;
use crate::store::QueueStats;
use crate::store::alerts::AlertStats;

/// What became of a webhook delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// Stored in the queue for a worker.
    Accepted,
    /// Already stored: a redelivery, acknowledged only.
    Duplicate,
    /// Verified but not stored: an event or action Warrant does not act on.
    Ignored,
    /// Refused: bad or missing signature, missing headers, too large, too
    /// slow to arrive, or no room in the memory budget for its body.
    Rejected,
    /// Verified but could not be stored: answered 500 so GitHub can
    /// redeliver it.
    Failed,
}

impl DeliveryOutcome {
    fn as_str(self) -> &'static str {
        match self {
            DeliveryOutcome::Accepted => "accepted",
            DeliveryOutcome::Duplicate => "duplicate",
            DeliveryOutcome::Ignored => "ignored",
            DeliveryOutcome::Rejected => "rejected",
            DeliveryOutcome::Failed => "failed",
        }
    }
}

/// An HTTP status as its class, a bounded label.
fn status_class(status: Option<u16>) -> &'static str {
    match status {
        Some(200..=299) => "2xx",
        Some(300..=399) => "3xx",
        Some(400..=499) => "4xx",
        Some(500..=599) => "5xx",
        Some(_) | None => "error",
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    forge: &'static str,
    event: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConclusionLabels {
    conclusion: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResourceLabels {
    resource: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

/// The registry and handles on each family. Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    families: Families,
}

/// Each family is itself a shared handle, so cloning these is cheap.
#[derive(Clone)]
struct Families {
    deliveries: Family<DeliveryLabels, Counter>,
    webhook_seconds: Histogram,
    commit_batch: Histogram,
    evaluations: Family<ConclusionLabels, Counter>,
    evaluation_seconds: Histogram,
    api_requests: Family<StatusLabels, Counter>,
    api_seconds: Histogram,
    gitlab_requests: Family<StatusLabels, Counter>,
    gitlab_seconds: Histogram,
    rate_limit_remaining: Family<ResourceLabels, Gauge>,
    queue: Family<StateLabels, Gauge>,
    queue_oldest_age: Gauge<f64, AtomicU64>,
    alerts: Family<StateLabels, Gauge>,
    database_up: Gauge,
}

/// Buckets from 1 ms to about 16 s: a webhook is answered in milliseconds,
/// an evaluation or API call takes up to seconds, and GitHub gives up on a
/// webhook after 10 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("warrant");
        let inner = Families {
            deliveries: Family::default(),
            webhook_seconds: latency_histogram(),
            // 1 to 512 deliveries, the most one commit holds.
            commit_batch: Histogram::new(exponential_buckets(1.0, 2.0, 10)),
            evaluations: Family::default(),
            evaluation_seconds: latency_histogram(),
            api_requests: Family::default(),
            api_seconds: latency_histogram(),
            gitlab_requests: Family::default(),
            gitlab_seconds: latency_histogram(),
            rate_limit_remaining: Family::default(),
            queue: Family::default(),
            queue_oldest_age: Gauge::default(),
            alerts: Family::default(),
            database_up: Gauge::default(),
        };
        let r = &mut registry;
        r.register(
            "webhook_deliveries",
            "Webhook deliveries received, by event and what became of them",
            inner.deliveries.clone(),
        );
        r.register(
            "webhook_duration_seconds",
            "Time to verify, store and acknowledge a webhook delivery",
            inner.webhook_seconds.clone(),
        );
        r.register(
            "webhook_commit_batch_deliveries",
            "For each stored delivery, how many deliveries shared the commit that made it durable",
            inner.commit_batch.clone(),
        );
        r.register(
            "evaluations",
            "Evaluations of a change, by conclusion (`error` when none was reached)",
            inner.evaluations.clone(),
        );
        r.register(
            "evaluation_duration_seconds",
            "Time to evaluate a change, API calls included",
            inner.evaluation_seconds.clone(),
        );
        r.register(
            "github_api_requests",
            "Requests to the GitHub API, by status code class (`error`: no response)",
            inner.api_requests.clone(),
        );
        r.register(
            "github_api_request_duration_seconds",
            "Time for a GitHub API request",
            inner.api_seconds.clone(),
        );
        r.register(
            "gitlab_api_requests",
            "Requests to the GitLab API, by status code class (`error`: no response)",
            inner.gitlab_requests.clone(),
        );
        r.register(
            "gitlab_api_request_duration_seconds",
            "Time for a GitLab API request",
            inner.gitlab_seconds.clone(),
        );
        r.register(
            "github_rate_limit_remaining",
            "Requests left in GitHub's rate limit, by resource, as last reported",
            inner.rate_limit_remaining.clone(),
        );
        r.register(
            "queue_deliveries",
            "Deliveries in the queue, by state, as read at scrape time",
            inner.queue.clone(),
        );
        r.register(
            "queue_oldest_age_seconds",
            "How long the oldest queued delivery has waited (0 when none)",
            inner.queue_oldest_age.clone(),
        );
        r.register(
            "alert_deliveries",
            "Deliveries of alerts to their receivers, by state (`failed`: given up after 24 hours), as read at scrape time",
            inner.alerts.clone(),
        );
        r.register(
            "database_up",
            "1 if the database answered the last scrape, else 0 (queue gauges are then stale)",
            inner.database_up.clone(),
        );
        Metrics {
            registry: Arc::new(registry),
            families: inner,
        }
    }

    /// Counts a webhook delivery and, unless it was rejected before being
    /// read, how long it took to answer.
    pub fn record_delivery(
        &self,
        forge: Forge,
        event: &str,
        outcome: DeliveryOutcome,
        elapsed: Duration,
    ) {
        let known = match forge {
            Forge::Gitlab => crate::forge::gitlab::webhook::EVENTS,
            Forge::Github | Forge::Local => crate::forge::github::webhook::EVENTS,
        };
        let event = known
            .iter()
            .find(|known| **known == event)
            .copied()
            .unwrap_or("other");
        self.families
            .deliveries
            .get_or_create(&DeliveryLabels {
                forge: forge.as_str(),
                event,
                outcome: outcome.as_str(),
            })
            .inc();
        self.families.webhook_seconds.observe(elapsed.as_secs_f64());
    }

    /// Records that a delivery was made durable by a commit of `batch`
    /// deliveries.
    pub fn record_commit_batch(&self, batch: usize) {
        // Exact: a batch is at most a few hundred.
        self.families.commit_batch.observe(batch as f64);
    }

    /// Counts an evaluation: its conclusion, or `None` if it failed before
    /// reaching one.
    pub fn record_evaluation(&self, conclusion: Option<Conclusion>, elapsed: Duration) {
        let conclusion = conclusion.map_or("error", Conclusion::as_str);
        self.families
            .evaluations
            .get_or_create(&ConclusionLabels { conclusion })
            .inc();
        self.families
            .evaluation_seconds
            .observe(elapsed.as_secs_f64());
    }

    /// Counts a GitHub API request by its status (`None`: no response, a
    /// network error or a timeout).
    pub fn record_github_api_request(&self, status: Option<u16>, elapsed: Duration) {
        let status = status_class(status);
        self.families
            .api_requests
            .get_or_create(&StatusLabels { status })
            .inc();
        self.families.api_seconds.observe(elapsed.as_secs_f64());
    }

    /// Counts a GitLab API request by its status (`None`: no response).
    pub fn record_gitlab_api_request(&self, status: Option<u16>, elapsed: Duration) {
        let status = status_class(status);
        self.families
            .gitlab_requests
            .get_or_create(&StatusLabels { status })
            .inc();
        self.families.gitlab_seconds.observe(elapsed.as_secs_f64());
    }

    /// Records GitHub's `x-ratelimit-remaining` for its
    /// `x-ratelimit-resource` (`core`, `graphql`, ...).
    pub fn set_github_rate_limit_remaining(&self, resource: &str, remaining: u64) {
        self.families
            .rate_limit_remaining
            .get_or_create(&ResourceLabels {
                resource: resource.to_owned(),
            })
            .set(i64::try_from(remaining).unwrap_or(i64::MAX));
    }

    /// Sets the queue gauges from statistics read at scrape time, or marks
    /// the database down when they could not be read.
    pub(crate) fn set_queue(&self, stats: Option<&QueueStats>) {
        let Some(stats) = stats else {
            self.families.database_up.set(0);
            return;
        };
        self.families.database_up.set(1);
        for (state, count) in [
            ("queued", stats.queued),
            ("running", stats.running),
            ("failed", stats.failed),
        ] {
            self.families
                .queue
                .get_or_create(&StateLabels { state })
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        }
        let age = stats.oldest_queued_age.unwrap_or_default();
        self.families.queue_oldest_age.set(age.as_secs_f64());
    }

    /// Sets the alert gauges from the outbox as read at scrape time.
    pub(crate) fn set_alerts(&self, stats: &AlertStats) {
        for (state, count) in [
            ("pending", stats.pending),
            ("running", stats.running),
            ("delivered", stats.delivered),
            ("failed", stats.failed),
        ] {
            self.families
                .alerts
                .get_or_create(&StateLabels { state })
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        }
    }

    /// The Prometheus text exposition of every family.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}
