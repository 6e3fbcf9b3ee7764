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

mod evaluate;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

use serde_json::json;

use crate::audit::{EventKind, NewAuditEvent};
use crate::forge::github::checks::CHECK_NAME;
use crate::forge::github::client::{GithubClient, InstallationId};
use crate::forge::github::merges::MergeMethod;
use crate::forge::github::webhook::{self as events, GithubEvent, PullRequestAction};
use crate::ids::{CommitSha, Login};
use crate::metrics::Metrics;
use crate::store::{ClaimedDelivery, Store};

pub use evaluate::Target;

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
        }
    }
}

/// `host-pid`: unique among live workers, as the lease requires.
fn default_name() -> String {
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
    github: Arc<GithubClient>,
    metrics: Metrics,
    config: WorkerConfig,
    /// One evaluation at a time per pull request in this process: two
    /// tasks racing on one head would each create a check run, and the one
    /// not recorded would stay in progress. Across replicas, the store's
    /// change lease does the same (see `evaluate`).
    changes: Mutex<HashMap<(String, u64), ChangeLock>>,
    /// Warrant's own bot (`{slug}[bot]`), read once per process.
    app_login: tokio::sync::OnceCell<Login>,
    /// Deliveries ended so far: a signal tests (and future admin pages)
    /// wait on instead of sleeping.
    ended: watch::Sender<u64>,
}

impl Worker {
    pub fn new(
        store: Store,
        github: Arc<GithubClient>,
        metrics: Metrics,
        config: WorkerConfig,
    ) -> Arc<Worker> {
        // Every API attempt, retries included, is counted in the metrics.
        let api_metrics = metrics.clone();
        github
            .stats()
            .set_hook(Arc::new(move |_, _, status, elapsed| {
                let status = (status != 0).then_some(status);
                api_metrics.record_github_api_request(status, elapsed);
            }));
        let rate_metrics = metrics.clone();
        github
            .stats()
            .set_rate_limit_hook(Arc::new(move |resource, remaining| {
                rate_metrics.set_github_rate_limit_remaining(resource, remaining);
            }));
        Arc::new(Worker {
            store,
            github,
            metrics,
            config,
            changes: Mutex::default(),
            app_login: tokio::sync::OnceCell::new(),
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
            match self.store.claim(&name, self.config.lease, Utc::now()).await {
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
            Err(Failure::Retry(error, _)) if delivery.attempts < self.config.max_attempts => {
                let wait = self.backoff(delivery.attempts);
                tracing::warn!(%error, retry_in = ?wait, "evaluation failed; retrying");
                let not_before = Utc::now() + chrono::Duration::from_std(wait)?;
                self.store.retry(id, worker, not_before, &error).await?
            }
            Err(Failure::Retry(error, targets)) => {
                tracing::error!(%error, "evaluation failed for good; failing the check");
                for target in &targets {
                    self.give_up(target, delivery).await;
                }
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

    /// What to do for a delivery's event.
    async fn act(&self, delivery: &ClaimedDelivery) -> Result<(), Failure> {
        let event = match events::parse(&delivery.event, &delivery.payload) {
            Ok(Some(event)) => event,
            Ok(None) => return Ok(()),
            Err(err) => return Err(Failure::Permanent(err.to_string())),
        };
        let id = delivery;
        if delivery.attempts == 1
            && let Some(receipt) = receipt(delivery, &event)
        {
            self.store
                .append_audit(&[receipt])
                .await
                .map_err(|err| Failure::Retry(format!("{err:#}"), Vec::new()))?;
        }
        match event {
            GithubEvent::PullRequest(pr) if pr.action == PullRequestAction::Closed => {
                self.record_close(&pr, &id.delivery_id).await
            }
            GithubEvent::PullRequest(pr) => {
                let target = Target::new(pr.installation_id, &pr.repo, pr.number, &pr.head_sha)?;
                self.evaluate_all(vec![target.with_base(pr.base_sha)], id)
                    .await
            }
            GithubEvent::Review(r) => {
                let target = Target::new(r.installation_id, &r.repo, r.number, &r.head_sha)?;
                self.evaluate_all(vec![target.with_base(r.base_sha)], id)
                    .await
            }
            GithubEvent::CheckRun(run) if run.name == CHECK_NAME && self.is_ours(run.app_id) => {
                let targets = Target::each(
                    run.installation_id,
                    &run.repo,
                    &run.pull_requests,
                    &run.head_sha,
                )?;
                self.evaluate_all(targets, id).await
            }
            GithubEvent::CheckSuite(suite) if self.is_ours(suite.app_id) => {
                let targets = Target::each(
                    suite.installation_id,
                    &suite.repo,
                    &suite.pull_requests,
                    &suite.head_sha,
                )?;
                self.evaluate_all(targets, id).await
            }
            GithubEvent::Push(push) if push.changes_policy_on_default_branch() => {
                self.record_policy_change(&push, &id.delivery_id).await
            }
            // Installations span repositories and have no chain of their
            // own (their deliveries stay in the queue's history); the rest
            // is not Warrant's.
            _ => Ok(()),
        }
    }

    /// Whether a check run or suite belongs to this app: a workflow job
    /// may be called `warrant` too, and re-running it is not ours to act on.
    fn is_ours(&self, app_id: Option<u64>) -> bool {
        app_id.is_none_or(|id| Some(id) == self.github.app_id())
    }

    /// Records a merge (with its method, for the revert command) or a
    /// close, in the merges table and the audit trail.
    async fn record_close(
        &self,
        pr: &events::PullRequestEvent,
        delivery: &str,
    ) -> Result<(), Failure> {
        let merge = pr.merge_commit_sha.as_ref();
        tracing::info!(repo = %pr.repo, change = pr.number, merged = pr.merged, merge_commit = ?merge.map(CommitSha::as_str), "pull request closed");
        let retry = |err: anyhow::Error| Failure::Retry(format!("{err:#}"), Vec::new());
        let kind = if pr.merged {
            EventKind::ChangeMerged
        } else {
            EventKind::ChangeClosed
        };
        let mut event = NewAuditEvent::new("github", &pr.repo, kind, Utc::now());
        event.change = Some(pr.number);
        event.head_sha = Some(pr.head_sha.as_str().to_owned());
        event.base_sha = Some(pr.base_sha.as_str().to_owned());
        event.actor = pr.merged_by.as_ref().map(|l| l.as_str().to_owned());
        let mut event = event.with_detail("delivery", delivery);
        if let (true, Some(sha)) = (pr.merged, merge) {
            let method = match pr.installation_id {
                Some(id) => Some(
                    self.github
                        .merge_method(InstallationId(id), &pr.repo, sha, pr.number, pr.commits)
                        .await
                        .map_err(|err| retry(err.into()))?,
                ),
                None => None,
            };
            event = event
                .with_detail("merge_commit_sha", sha.as_str())
                .with_detail("merge_method", method.map(MergeMethod::as_str))
                .with_detail("commits", pr.commits);
            self.store
                .record_merge(
                    "github",
                    &pr.repo,
                    pr.number,
                    pr.head_sha.as_str(),
                    Some(sha.as_str()),
                    delivery,
                )
                .await
                .map_err(retry)?;
        }
        self.store.append_audit(&[event]).await.map_err(retry)?;
        Ok(())
    }

    /// Records a change to the policy on the default branch: the new
    /// policy's blob, whether it is valid, and the teams it names (stored
    /// as hints, so that the next evaluation resolves them in its query).
    async fn record_policy_change(
        &self,
        push: &events::PushEvent,
        delivery: &str,
    ) -> Result<(), Failure> {
        let retry = |err: anyhow::Error| Failure::Retry(format!("{err:#}"), Vec::new());
        let at = Utc::now();
        let mut event = NewAuditEvent::new("github", &push.repo, EventKind::PolicyChanged, at);
        event.head_sha = Some(push.after.as_str().to_owned());
        event.base_sha = Some(push.before.as_str().to_owned());
        event.actor = push.pusher.clone();
        event.paths = push
            .changed_paths
            .iter()
            .filter(|p| crate::policy::GITHUB_POLICY_PATHS.contains(&p.as_str()))
            .cloned()
            .collect();
        let mut event = event
            .with_detail("delivery", delivery)
            .with_detail("ref", push.git_ref.as_str());
        let file = match push.installation_id {
            Some(id) if push.after.as_str().bytes().any(|b| b != b'0') => self
                .github
                .policy_at(InstallationId(id), &push.repo, &push.after)
                .await
                .map_err(|err| retry(err.into()))?,
            _ => None,
        };
        match &file {
            None => event = event.with_detail("policy", "removed"),
            Some(file) => {
                event.policy_blob = Some(file.blob_id.clone());
                event = event.with_detail("path", file.path.as_str());
                match crate::policy::load(file.path.as_str(), &file.text) {
                    Ok(policy) => {
                        let teams: Vec<String> = policy
                            .teams()
                            .iter()
                            .map(|t| t.as_str().to_owned())
                            .collect();
                        self.store
                            .record_policy_teams("github", &push.repo, &file.blob_id, &teams, at)
                            .await
                            .map_err(retry)?;
                        event = event
                            .with_detail("policy", "valid")
                            .with_detail("teams", teams);
                    }
                    Err(errors) => {
                        let first: Vec<String> =
                            errors.0.iter().take(5).map(ToString::to_string).collect();
                        event = event
                            .with_detail("policy", "invalid")
                            .with_detail("errors", first);
                    }
                }
            }
        }
        self.store.append_audit(&[event]).await.map_err(retry)?;
        Ok(())
    }

    /// Evaluates each target; the first error retries the delivery (the
    /// targets done already are simply evaluated again).
    async fn evaluate_all(
        &self,
        targets: Vec<Target>,
        delivery: &ClaimedDelivery,
    ) -> Result<(), Failure> {
        for target in &targets {
            if let Err(err) = self.evaluate(target, delivery).await {
                return Err(Failure::Retry(format!("{err:#}"), targets));
            }
        }
        Ok(())
    }
}

/// The audit trail's record of a delivery's arrival, for events about one
/// repository (installations span many and are not chained to one).
fn receipt(delivery: &ClaimedDelivery, event: &GithubEvent) -> Option<NewAuditEvent> {
    let (repo, change, head, action) = match event {
        GithubEvent::PullRequest(pr) => (
            &pr.repo,
            Some(pr.number),
            Some(&pr.head_sha),
            Some(json!(pr.action)),
        ),
        GithubEvent::Review(r) => (
            &r.repo,
            Some(r.number),
            Some(&r.head_sha),
            Some(json!(r.action)),
        ),
        GithubEvent::CheckRun(run) => (
            &run.repo,
            run.pull_requests.first().copied(),
            Some(&run.head_sha),
            None,
        ),
        GithubEvent::CheckSuite(suite) => (
            &suite.repo,
            suite.pull_requests.first().copied(),
            Some(&suite.head_sha),
            None,
        ),
        GithubEvent::Push(push) => (&push.repo, None, Some(&push.after), None),
        _ => return None,
    };
    let mut receipt = NewAuditEvent::new(
        &delivery.forge,
        repo,
        EventKind::DeliveryReceived,
        delivery.received_at,
    );
    receipt.change = change;
    receipt.head_sha = head.map(|h| h.as_str().to_owned());
    Some(
        receipt
            .with_detail("delivery", delivery.delivery_id.as_str())
            .with_detail("event", delivery.event.as_str())
            .with_detail("action", action),
    )
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
    /// A forge or store error: retried, and after the last attempt the
    /// targets' checks conclude `failure`.
    Retry(String, Vec<Target>),
}

impl From<evaluate::NotAnApp> for Failure {
    fn from(err: evaluate::NotAnApp) -> Self {
        Failure::Permanent(err.to_string())
    }
}

/// The installation named by a payload.
fn installation(id: Option<u64>) -> Result<InstallationId, evaluate::NotAnApp> {
    id.map(InstallationId).ok_or(evaluate::NotAnApp)
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
