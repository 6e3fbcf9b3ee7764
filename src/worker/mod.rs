//! The evaluation worker: claims webhook deliveries from the durable queue,
//! acts on them, and ends each attempt (see `docs/storage.md`).
//!
//! Several tasks share one [`Worker`]; each claims one delivery at a time
//! under a lease. A task waits for work on the server's signal (rung for
//! every queued delivery) or, at the latest, for a poll interval, which
//! picks up retries that came due and deliveries queued by other replicas.
//!
//! Warrant never fails open: a forge or store error puts the delivery back
//! with backoff, and after the last attempt the check concludes `failure`
//! ("Warrant could not evaluate this change") and the delivery is failed
//! with the error recorded.

mod adapter;
mod alerting;
mod evaluate;
mod facts;
mod github;
mod gitlab;
mod heads;
mod history;
mod lease;
mod overrides;
mod policies;
mod pushes;
mod shown;
mod simulation;
mod target;
mod work;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::engine::Forge;
use crate::forge::github::client::GithubClient;
use crate::forge::gitlab::client::GitlabClient;
use crate::forge::retry::ApiStats;
use crate::ids::ChangeKey;
use crate::metrics::Metrics;
use crate::store::{ClaimedDelivery, Store};

use github::Github;
use gitlab::Gitlab;
pub use target::Target;

/// The forges a worker speaks to; it claims only their deliveries.
#[derive(Clone, Default)]
pub struct Forges {
    pub github: Option<Arc<GithubClient>>,
    pub gitlab: Option<Arc<GitlabClient>>,
}

impl Forges {
    /// GitHub alone, as the app `client` authenticates.
    pub fn github(client: Arc<GithubClient>) -> Forges {
        Forges {
            github: Some(client),
            gitlab: None,
        }
    }

    /// GitLab alone, with `client`'s token.
    pub fn gitlab(client: Arc<GitlabClient>) -> Forges {
        Forges {
            github: None,
            gitlab: Some(client),
        }
    }
}

/// How the workers run. [`WorkerConfig::default`] suits production; tests
/// shorten the waits.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Concurrent tasks. Two keep one slow evaluation from holding the
    /// queue, without crowding a small machine.
    pub tasks: usize,
    /// Far above the longest evaluation (a few requests, each retried for
    /// at most a minute), so a delivery is evaluated once.
    pub lease: Duration,
    /// The fallback when no signal comes: retries coming due, deliveries
    /// queued by other replicas.
    pub poll: Duration,
    /// Attempts before a delivery fails for good and its check says so.
    pub max_attempts: u32,
    /// The first retry's delay, doubled per attempt up to `retry_cap`.
    pub retry_base: Duration,
    pub retry_cap: Duration,
    /// `WARRANT_PUBLIC_URL`, for the check run's details link.
    pub public_url: Option<String>,
    /// Names the tasks (`host-pid` by default; each adds `-index`).
    pub name: String,
    /// Where alerts go; none by default.
    pub alerts: crate::alerts::Raise,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            tasks: 2,
            lease: Duration::from_secs(5 * 60),
            poll: Duration::from_secs(1),
            max_attempts: 5,
            retry_base: Duration::from_secs(10),
            retry_cap: Duration::from_secs(10 * 60),
            public_url: None,
            name: default_name(),
            alerts: Default::default(),
        }
    }
}

/// `host-pid`: unique among live workers, as the lease requires.
pub fn default_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "warrant".to_owned());
    format!("{host}-{}", std::process::id())
}

/// Held while a pull request is evaluated.
type ChangeLock = Arc<tokio::sync::Mutex<()>>;

/// What every worker task shares.
pub struct Worker {
    store: Store,
    github: Option<Github>,
    gitlab: Option<Gitlab>,
    /// The forges of `github` and `gitlab`, for claims.
    forges: Vec<Forge>,
    metrics: Metrics,
    config: WorkerConfig,
    /// One evaluation at a time per change in this process: two tasks
    /// racing on one head would each create a check run, and the one not
    /// recorded would stay in progress. Across replicas, the store's change
    /// lease does the same (see `evaluate`).
    changes: Mutex<HashMap<ChangeKey, ChangeLock>>,
    /// Policies parsed, by text.
    parsed_policies: crate::evaluation::ParsedPolicies,
    /// Deliveries ended so far: a signal tests (and future admin pages)
    /// wait on instead of sleeping.
    ended: watch::Sender<u64>,
}

impl Worker {
    pub fn new(
        store: Store,
        forges: Forges,
        metrics: Metrics,
        config: WorkerConfig,
    ) -> Arc<Worker> {
        if let Some(github) = &forges.github {
            count_requests(
                &github.stats(),
                &metrics,
                Metrics::record_github_api_request,
            );
            let rate_metrics = metrics.clone();
            github
                .stats()
                .set_rate_limit_hook(Arc::new(move |resource, remaining| {
                    rate_metrics.set_github_rate_limit_remaining(resource, remaining);
                }));
        }
        if let Some(gitlab) = &forges.gitlab {
            count_requests(
                &gitlab.stats(),
                &metrics,
                Metrics::record_gitlab_api_request,
            );
        }
        let mut names = Vec::new();
        names.extend(forges.github.as_ref().map(|_| Forge::Github));
        names.extend(forges.gitlab.as_ref().map(|_| Forge::Gitlab));
        Arc::new(Worker {
            store,
            github: forges.github.map(Github::new),
            gitlab: forges.gitlab.map(Gitlab::new),
            forges: names,
            metrics,
            config,
            changes: Mutex::default(),
            parsed_policies: Default::default(),
            ended: watch::channel(0).0,
        })
    }

    /// The count of deliveries ended (done, retried or failed), updated
    /// after each.
    pub fn ended(&self) -> watch::Receiver<u64> {
        self.ended.subscribe()
    }

    /// Starts the tasks; they stop when `stop` turns true, after the
    /// delivery in hand.
    pub fn spawn(
        self: &Arc<Self>,
        work: Arc<Notify>,
        stop: watch::Receiver<bool>,
    ) -> Vec<JoinHandle<()>> {
        (0..self.config.tasks.max(1))
            .map(|index| {
                let name = format!("{}-{index}", self.config.name);
                let (worker, work, stop) = (self.clone(), work.clone(), stop.clone());
                tokio::spawn(async move { worker.run(name, work, stop).await })
            })
            .collect()
    }

    async fn run(&self, name: String, work: Arc<Notify>, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            match self
                .store
                .claim(&name, &self.forges, self.config.lease, Utc::now())
                .await
            {
                Ok(Some(delivery)) => {
                    self.process(&name, delivery).await;
                    self.ended.send_modify(|n| *n += 1);
                    continue;
                }
                Ok(None) => {}
                Err(err) => {
                    tracing::error!(worker = %name, error = %format!("{err:#}"), "cannot claim")
                }
            }
            tokio::select! {
                () = work.notified() => {}
                () = tokio::time::sleep(self.config.poll) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Acts on one delivery and ends the attempt.
    async fn process(&self, worker: &str, delivery: ClaimedDelivery) {
        let span = tracing::info_span!(
            "delivery",
            delivery = %delivery.delivery_id,
            event = %delivery.event,
            queue_id = %delivery.id,
            attempt = delivery.attempts,
        );
        async {
            let result = self.act(&delivery).await;
            if let Err(err) = self.end(worker, &delivery, result).await {
                tracing::error!(error = %format!("{err:#}"), "cannot end the attempt");
            }
        }
        .instrument(span)
        .await
    }

    /// Records the attempt's outcome in the queue: done, retried with
    /// backoff, or failed for good after the check says so.
    async fn end(
        &self,
        worker: &str,
        delivery: &ClaimedDelivery,
        result: Result<(), Failure>,
    ) -> anyhow::Result<()> {
        let id = delivery.id;
        let held = match result {
            Ok(()) => self.store.complete(id, worker).await?,
            Err(Failure::Permanent(error)) => {
                tracing::error!(%error, "delivery failed");
                self.store.fail(id, worker, &error).await?
            }
            Err(Failure::Retry(error)) if !self.last_attempt(delivery) => {
                let wait = self.backoff(delivery.attempts);
                tracing::warn!(%error, retry_in = ?wait, "evaluation failed; retrying");
                let not_before = Utc::now() + chrono::Duration::from_std(wait)?;
                self.store.retry(id, worker, not_before, &error).await?
            }
            Err(Failure::Retry(error)) => {
                tracing::error!(%error, "delivery failed for good after its last attempt");
                self.store.fail(id, worker, &error).await?
            }
        };
        if !held {
            tracing::warn!("the lease ran out and another worker took the delivery over");
        }
        Ok(())
    }

    fn backoff(&self, attempts: u32) -> Duration {
        backoff(&self.config, attempts)
    }

    /// Whether this attempt is the delivery's last: a failure now fails
    /// the checks it was about (closed), rather than waiting for another.
    fn last_attempt(&self, delivery: &ClaimedDelivery) -> bool {
        delivery.attempts >= self.config.max_attempts
    }

    /// What to do for a delivery: its forge's adapter reads it. A delivery
    /// of a forge this worker does not speak to is never claimed.
    async fn act(&self, delivery: &ClaimedDelivery) -> Result<(), Failure> {
        match (delivery.forge.as_str(), &self.github, &self.gitlab) {
            ("github", Some(github), _) => self.act_with(github, delivery).await,
            ("gitlab", _, Some(gitlab)) => self.act_with(gitlab, delivery).await,
            (forge, _, _) => Err(Failure::Permanent(format!(
                "this worker does not speak to {forge}"
            ))),
        }
    }

    /// Evaluates each target; the first error retries the delivery (the
    /// targets done already are simply evaluated again), and on the last
    /// attempt fails every target's check closed.
    async fn evaluate_all<A: adapter::Adapter>(
        &self,
        forge: &A,
        targets: Vec<Target<A::At>>,
        delivery: &ClaimedDelivery,
    ) -> Result<(), Failure> {
        for target in &targets {
            let Err(err) = self.evaluate(forge, target, delivery).await else {
                continue;
            };
            if self.last_attempt(delivery) {
                tracing::error!(error = %format!("{err:#}"), "evaluation failed for good; failing the check");
                for target in &targets {
                    self.give_up(forge, target, delivery).await;
                }
            }
            return Err(Failure::retry(err));
        }
        Ok(())
    }
}

/// Every API attempt of a forge's client, retries included, is counted in
/// the metrics by `record` (a status of 0 is no response).
fn count_requests(
    stats: &ApiStats,
    metrics: &Metrics,
    record: fn(&Metrics, Option<u16>, Duration),
) {
    let metrics = metrics.clone();
    stats.set_hook(Arc::new(move |_, _, status, elapsed| {
        record(&metrics, (status != 0).then_some(status), elapsed);
    }));
}

/// `retry_base × 2^(attempts-1)`, capped: GitHub's outages last minutes,
/// and five attempts then span about five minutes.
fn backoff(config: &WorkerConfig, attempts: u32) -> Duration {
    let factor = 1u32 << attempts.saturating_sub(1).min(16);
    config
        .retry_base
        .saturating_mul(factor)
        .min(config.retry_cap)
}

/// Why an attempt did not complete.
#[derive(Debug)]
enum Failure {
    /// Another attempt cannot help (an unreadable payload, a delivery not
    /// addressed to an app).
    Permanent(String),
    /// A forge or store error: retried (after the last attempt, the checks
    /// it was about have concluded `failure` already).
    Retry(String),
}

impl Failure {
    /// A store or forge error: retried.
    fn retry(err: anyhow::Error) -> Failure {
        Failure::Retry(format!("{err:#}"))
    }
}

impl From<target::NotAnApp> for Failure {
    fn from(err: target::NotAnApp) -> Self {
        Failure::Permanent(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_the_cap() {
        let config = WorkerConfig::default();
        let waits: Vec<u64> = (1..=8).map(|n| backoff(&config, n).as_secs()).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 600, 600]);
    }
}
