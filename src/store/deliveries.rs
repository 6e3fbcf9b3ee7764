//! The durable queue of webhook deliveries.
//!
//! The webhook handler [`Store::enqueue`]s a delivery before it answers, so
//! an acknowledged delivery is never only in memory. Workers then
//! [`Store::claim`] the oldest due delivery under a lease and end the attempt
//! with [`Store::complete`], [`Store::retry`] or [`Store::fail`].
//!
//! - **No loss.** A delivery leaves the queue only when a worker says so. If
//!   a worker crashes, its lease runs out and the delivery becomes claimable
//!   again, with `attempts` counting the lost attempt, so that a delivery
//!   which brings down every worker can be failed by policy.
//! - **No double evaluation.** Claiming is one atomic statement, so two
//!   workers, in one process or in several replicas, never hold the same
//!   delivery at once. This holds as long as an evaluation ends within its
//!   lease: a worker that overruns may find its delivery claimed by another,
//!   and can then no longer end the attempt ([`Store::complete`] and the
//!   others return `false`). The lease must therefore be well above the
//!   longest evaluation, and a worker should not publish a result after its
//!   `lease_expires_at`.
//! - **Redeliveries.** `(forge, delivery_id)` is unique, so a redelivered
//!   webhook is acknowledged as [`Enqueued::Duplicate`] and not queued again,
//!   even when both copies arrive at once.
//! - **Replays.** A GitHub delivery's replay key (its verified signature,
//!   the HMAC of its body) is stored with it, and is unique among GitHub's
//!   deliveries: a signed body captured and sent again under a new delivery
//!   id is a [`Enqueued::Duplicate`] too, for as long as the first copy is
//!   kept. GitHub's payloads differ from one event to the next, so only a
//!   replay repeats one. GitLab's are not deduplicated by body (its
//!   token signs nothing, and it may send equal bodies for distinct events).
//!   Both checks are the one insert's unique indexes, so they hold across
//!   replicas.
//!
//! Worker names identify a claimant: they must be unique among the workers
//! alive at once (host, process and task, say), since the lease is checked
//! by name.

use std::fmt;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::{Any, Executor, FromRow};

use super::{Backend, Store, duration_millis, from_millis, to_millis};
use crate::engine::Forge;

/// A delivery's row in the queue: not the forge's delivery id, which is only
/// unique per forge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueId(i64);

impl QueueId {
    pub(super) fn from_row(id: i64) -> QueueId {
        QueueId(id)
    }
}

impl fmt::Display for QueueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A webhook delivery as received, before anything is made of it.
#[derive(Clone, Copy, Debug)]
pub struct NewDelivery<'a> {
    /// `github` or `gitlab`; the table refuses anything else.
    pub forge: &'a str,
    /// The forge's id for this delivery (`X-GitHub-Delivery`), the same on a
    /// redelivery.
    pub delivery_id: &'a str,
    /// The event name (`X-GitHub-Event`, `X-Gitlab-Event`).
    pub event: &'a str,
    /// The raw body, exactly as signed, so that it can be parsed again after
    /// a restart or by a newer version.
    pub payload: &'a [u8],
    /// What recognises this body when it is sent again under another
    /// delivery id: a GitHub delivery's verified signature (unique among
    /// GitHub's deliveries); `None` where bodies are not deduplicated.
    pub replay_key: Option<&'a str>,
    /// When the webhook was received; the queue is served oldest first.
    pub received_at: DateTime<Utc>,
}

/// What became of an enqueued delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enqueued {
    /// Stored for the first time, under this id.
    Accepted(QueueId),
    /// Already stored: a redelivery, to be acknowledged and not evaluated.
    Duplicate,
}

/// A delivery a worker now holds, until `lease_expires_at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimedDelivery {
    pub id: QueueId,
    pub forge: String,
    pub delivery_id: String,
    pub event: String,
    pub payload: Vec<u8>,
    pub received_at: DateTime<Utc>,
    /// Claims so far, this one included: 1 on the first attempt.
    pub attempts: u32,
    /// After this the delivery may be claimed by another worker, and this
    /// worker can no longer end the attempt if it has been.
    pub lease_expires_at: DateTime<Utc>,
    /// Why the previous attempt was retried, if it was.
    pub last_error: Option<String>,
}

/// The queue at a glance, for metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueStats {
    /// Waiting for a worker, whether due now or retried for later.
    pub queued: u64,
    /// Held by a worker (or by a crashed one, until its lease runs out).
    pub running: u64,
    /// Failed for good after their last attempt.
    pub failed: u64,
    /// How long the oldest queued delivery has waited since it was received;
    /// `None` when nothing is queued.
    pub oldest_queued_age: Option<Duration>,
}

impl Store {
    /// Stores a delivery unless the same one (same forge and delivery id) is
    /// already stored, or, from GitHub, the same body under another delivery
    /// id (a replay). Safe to call concurrently with the same delivery.
    ///
    /// Answers only once the delivery is durable: it is committed with the
    /// others that arrived meanwhile, in one transaction (see
    /// [`super::group_commit`]).
    pub async fn enqueue(&self, delivery: &NewDelivery<'_>) -> anyhow::Result<Enqueued> {
        Ok(self.enqueue_in_batch(delivery).await?.enqueued)
    }

    /// Takes the oldest delivery that is due at `now` for `worker`, for
    /// `lease`: a queued one whose `next_attempt_at` has come, or a running
    /// one whose worker let its lease run out. `None` when nothing is due.
    /// Only deliveries of `forges` are claimed: a worker that does not speak
    /// to a forge leaves its deliveries queued for one that does.
    pub async fn claim(
        &self,
        worker: &str,
        forges: &[Forge],
        lease: Duration,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<ClaimedDelivery>> {
        let now = to_millis(now);
        let expires = now.saturating_add(duration_millis(lease));
        let (Some(first), last) = (forges.first(), forges.last()) else {
            return Ok(None);
        };
        let forges = [first.as_str(), last.unwrap_or(first).as_str()];
        let row = claim_due(&self.pool, self.backend, worker, expires, now, forges)
            .await
            .context("cannot claim a delivery")?;
        row.map(ClaimedRow::into_claimed).transpose()
    }

    /// Ends the attempt successfully. `false` if `worker` no longer holds the
    /// delivery (its lease ran out and another worker claimed it). A worker
    /// whose lease ran out but whose delivery nobody has claimed since still
    /// ends it: nobody else has evaluated it.
    pub async fn complete(&self, id: QueueId, worker: &str) -> anyhow::Result<bool> {
        self.end_attempt(id, worker, Outcome::Done).await
    }

    /// Puts the delivery back in the queue, not to be claimed before
    /// `not_before`, recording why. `false` if `worker` no longer holds it.
    pub async fn retry(
        &self,
        id: QueueId,
        worker: &str,
        not_before: DateTime<Utc>,
        error: &str,
    ) -> anyhow::Result<bool> {
        let outcome = Outcome::Retry {
            not_before: to_millis(not_before),
            error,
        };
        self.end_attempt(id, worker, outcome).await
    }

    /// Gives up on the delivery for good, recording why. `false` if `worker`
    /// no longer holds it.
    pub async fn fail(&self, id: QueueId, worker: &str, error: &str) -> anyhow::Result<bool> {
        self.end_attempt(id, worker, Outcome::Failed { error })
            .await
    }

    /// Counts the queue by state, and the age of its oldest queued delivery
    /// at `now`.
    pub async fn stats(&self, now: DateTime<Utc>) -> anyhow::Result<QueueStats> {
        let row = count_by_state(&self.pool)
            .await
            .context("cannot read the queue's statistics")?;
        let age = |received: i64| {
            Duration::from_millis(non_negative(to_millis(now).saturating_sub(received)))
        };
        Ok(QueueStats {
            queued: non_negative(row.queued),
            running: non_negative(row.running),
            failed: non_negative(row.failed),
            oldest_queued_age: row.oldest_queued.map(age),
        })
    }

    async fn end_attempt(
        &self,
        id: QueueId,
        worker: &str,
        outcome: Outcome<'_>,
    ) -> anyhow::Result<bool> {
        end_attempt(&self.pool, id.0, worker, outcome)
            .await
            .with_context(|| format!("cannot end the attempt on queued delivery {id}"))
    }
}

/// A count, or an age that a clock stepping back could make negative.
fn non_negative(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// How an attempt ended.
#[derive(Clone, Copy, Debug)]
enum Outcome<'a> {
    Done,
    Retry { not_before: i64, error: &'a str },
    Failed { error: &'a str },
}

impl Outcome<'_> {
    /// The state, the new `next_attempt_at` (if it changes) and the error.
    fn columns(&self) -> (&'static str, Option<i64>, Option<&str>) {
        match *self {
            Outcome::Done => ("done", None, None),
            Outcome::Retry { not_before, error } => ("queued", Some(not_before), Some(error)),
            Outcome::Failed { error } => ("failed", None, Some(error)),
        }
    }
}

/// The claim statement, with the row-locking clause each backend needs in
/// its subquery. On PostgreSQL, `FOR UPDATE SKIP LOCKED` makes concurrent
/// claimers pass over a row another one is taking instead of both reading
/// it as due; SQLite has no such clause and needs none, since its write lock
/// is taken before the statement reads.
macro_rules! claim_due_sql {
    ($lock:literal) => {
        concat!(
            "
UPDATE deliveries
SET state = 'running', lease_owner = $1, lease_expires_at = $2, attempts = attempts + 1
WHERE id = (
    SELECT id FROM deliveries
    WHERE forge IN ($4, $5)
      AND ((state = 'queued' AND next_attempt_at <= $3)
        OR (state = 'running' AND lease_expires_at <= $3))
    ORDER BY received_at, id
    LIMIT 1
    ",
            $lock,
            "
)
RETURNING id, forge, delivery_id, event, payload, received_at, attempts, lease_expires_at, last_error"
        )
    };
}

const CLAIM_DUE_SQLITE: &str = claim_due_sql!("");
const CLAIM_DUE_POSTGRES: &str = claim_due_sql!("FOR UPDATE SKIP LOCKED");

#[derive(FromRow)]
struct ClaimedRow {
    id: i64,
    forge: String,
    delivery_id: String,
    event: String,
    payload: Vec<u8>,
    received_at: i64,
    attempts: i64,
    lease_expires_at: i64,
    last_error: Option<String>,
}

impl ClaimedRow {
    fn into_claimed(self) -> anyhow::Result<ClaimedDelivery> {
        Ok(ClaimedDelivery {
            id: QueueId(self.id),
            forge: self.forge,
            delivery_id: self.delivery_id,
            event: self.event,
            payload: self.payload,
            received_at: from_millis(self.received_at)?,
            attempts: u32::try_from(self.attempts).context("attempts out of range")?,
            lease_expires_at: from_millis(self.lease_expires_at)?,
            last_error: self.last_error,
        })
    }
}

/// Leases the oldest due delivery to `worker` until `lease_expires_at`.
async fn claim_due<'e>(
    executor: impl Executor<'e, Database = Any>,
    backend: Backend,
    worker: &str,
    lease_expires_at: i64,
    now: i64,
    [forge, other_forge]: [&str; 2],
) -> sqlx::Result<Option<ClaimedRow>> {
    let sql = match backend {
        Backend::Sqlite => CLAIM_DUE_SQLITE,
        Backend::Postgres => CLAIM_DUE_POSTGRES,
    };
    sqlx::query_as(sql)
        .bind(worker)
        .bind(lease_expires_at)
        .bind(now)
        .bind(forge)
        .bind(other_forge)
        .fetch_optional(executor)
        .await
}

/// Moves a running delivery held by `worker` to the outcome's state. The
/// lease owner stays recorded, as the worker that ended the attempt.
const END_ATTEMPT: &str = "
UPDATE deliveries
SET state = $3, next_attempt_at = COALESCE($4, next_attempt_at), last_error = $5,
    lease_expires_at = NULL
WHERE id = $1 AND state = 'running' AND lease_owner = $2";

/// Ends `worker`'s attempt on a delivery; `false` when it no longer held it.
async fn end_attempt<'e>(
    executor: impl Executor<'e, Database = Any>,
    id: i64,
    worker: &str,
    outcome: Outcome<'_>,
) -> sqlx::Result<bool> {
    let (state, next_attempt_at, error) = outcome.columns();
    let done = sqlx::query(END_ATTEMPT)
        .bind(id)
        .bind(worker)
        .bind(state)
        .bind(next_attempt_at)
        .bind(error)
        .execute(executor)
        .await?;
    Ok(done.rows_affected() == 1)
}

const COUNT_BY_STATE: &str = "
SELECT COUNT(*) FILTER (WHERE state = 'queued') AS queued,
       COUNT(*) FILTER (WHERE state = 'running') AS running,
       COUNT(*) FILTER (WHERE state = 'failed') AS failed,
       MIN(received_at) FILTER (WHERE state = 'queued') AS oldest_queued
FROM deliveries
WHERE state IN ('queued', 'running', 'failed')";

#[derive(FromRow)]
struct StatsRow {
    queued: i64,
    running: i64,
    failed: i64,
    oldest_queued: Option<i64>,
}

/// Counts deliveries by state; done ones, the bulk of the table, are not read.
async fn count_by_state<'e>(executor: impl Executor<'e, Database = Any>) -> sqlx::Result<StatsRow> {
    sqlx::query_as(COUNT_BY_STATE).fetch_one(executor).await
}
