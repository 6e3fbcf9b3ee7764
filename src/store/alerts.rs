//! The alerts' durable outbox: each alert with one delivery per receiver,
//! written in the caller's transaction (the audit event's), and claimed per
//! receiver under a lease, so that a crash loses none and several replicas
//! deliver each once between them (see `docs/alerts.md`).

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::{Any, FromRow, Transaction};

use super::{Backend, Store, from_millis, to_millis};

/// An alert to queue.
#[derive(Clone, Debug)]
pub struct NewAlert {
    /// The CloudEvent id.
    pub id: String,
    /// The CloudEvent type.
    pub kind: String,
    pub subject: String,
    /// The CloudEvent, as JSON: what webhook receivers are sent, byte for
    /// byte, on every attempt.
    pub event: String,
    /// The keys of the receivers it goes to.
    pub receivers: Vec<String>,
    pub at: DateTime<Utc>,
}

/// A delivery of an alert to one receiver, held under a lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimedAlert {
    pub alert_id: String,
    pub receiver: String,
    pub event: String,
    /// This attempt's number, from 1.
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
}

/// The outbox at a glance, for metrics and the operator's page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AlertStats {
    pub pending: u64,
    pub running: u64,
    pub delivered: u64,
    pub failed: u64,
}

/// A delivery given up on, for the operator's page.
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct FailedAlert {
    pub alert_id: String,
    pub receiver: String,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub subject: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub ended_at: Option<i64>,
}

impl Store {
    /// Queues `alerts` in a transaction of their own.
    pub async fn queue_alerts(&self, alerts: &[NewAlert]) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        insert_alerts(&mut tx, alerts).await?;
        tx.commit().await.context("cannot queue alerts")
    }

    /// Takes the oldest delivery to `receiver` that is due at `now`, for
    /// `lease`: a pending one whose time has come, or a running one whose
    /// holder let its lease run out. `None` when nothing is due.
    pub async fn claim_alert(
        &self,
        receiver: &str,
        worker: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<ClaimedAlert>> {
        let now = to_millis(now);
        let expires = now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        let sql = match self.backend {
            Backend::Sqlite => CLAIM_SQLITE,
            Backend::Postgres => CLAIM_POSTGRES,
        };
        let row: Option<ClaimedRow> = sqlx::query_as(sql)
            .bind(worker)
            .bind(expires)
            .bind(now)
            .bind(receiver)
            .fetch_optional(&self.pool)
            .await
            .context("cannot claim an alert")?;
        let Some(row) = row else {
            return Ok(None);
        };
        let event: (String, i64) =
            sqlx::query_as("SELECT event, created_at FROM alerts WHERE id = $1")
                .bind(&row.alert_id)
                .fetch_one(&self.pool)
                .await
                .context("cannot read a claimed alert")?;
        Ok(Some(ClaimedAlert {
            alert_id: row.alert_id,
            receiver: row.receiver,
            event: event.0,
            attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
            created_at: from_millis(event.1)?,
        }))
    }

    /// The receiver took the alert. `false` if `worker` no longer held it.
    pub async fn alert_delivered(
        &self,
        claimed: &ClaimedAlert,
        worker: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        self.end_alert(claimed, worker, "delivered", None, None, Some(now))
            .await
    }

    /// Tries again from `not_before`, recording why.
    pub async fn alert_retry(
        &self,
        claimed: &ClaimedAlert,
        worker: &str,
        not_before: DateTime<Utc>,
        error: &str,
    ) -> anyhow::Result<bool> {
        self.end_alert(
            claimed,
            worker,
            "pending",
            Some(not_before),
            Some(error),
            None,
        )
        .await
    }

    /// Gives up on the delivery for good, recording why.
    pub async fn alert_failed(
        &self,
        claimed: &ClaimedAlert,
        worker: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        self.end_alert(claimed, worker, "failed", None, Some(error), Some(now))
            .await
    }

    async fn end_alert(
        &self,
        claimed: &ClaimedAlert,
        worker: &str,
        state: &str,
        not_before: Option<DateTime<Utc>>,
        error: Option<&str>,
        ended: Option<DateTime<Utc>>,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE alert_deliveries
             SET state = $4, next_attempt_at = COALESCE($5, next_attempt_at),
                 last_error = COALESCE($6, last_error), ended_at = $7, lease_expires_at = NULL
             WHERE alert_id = $1 AND receiver = $2 AND state = 'running' AND lease_owner = $3",
        )
        .bind(&claimed.alert_id)
        .bind(&claimed.receiver)
        .bind(worker)
        .bind(state)
        .bind(not_before.map(to_millis))
        .bind(error)
        .bind(ended.map(to_millis))
        .execute(&self.pool)
        .await
        .with_context(|| format!("cannot end the delivery of alert {}", claimed.alert_id))?;
        Ok(done.rows_affected() == 1)
    }

    /// Counts the deliveries by state.
    pub async fn alert_stats(&self) -> anyhow::Result<AlertStats> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM alert_deliveries GROUP BY state")
                .fetch_all(&self.pool)
                .await
                .context("cannot count the alerts")?;
        let mut stats = AlertStats::default();
        for (state, n) in rows {
            let n = u64::try_from(n).unwrap_or(0);
            match state.as_str() {
                "pending" => stats.pending = n,
                "running" => stats.running = n,
                "delivered" => stats.delivered = n,
                _ => stats.failed += n,
            }
        }
        Ok(stats)
    }

    /// The deliveries given up on, the latest first.
    pub async fn failed_alerts(&self, limit: u32) -> anyhow::Result<Vec<FailedAlert>> {
        sqlx::query_as(
            "SELECT d.alert_id, d.receiver, a.type, a.subject, d.attempts, d.last_error, d.ended_at
             FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id
             WHERE d.state = 'failed'
             ORDER BY d.ended_at DESC, d.alert_id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .context("cannot read the failed alerts")
    }
}

/// Writes `alerts` and their deliveries in `tx`. An alert already queued
/// (the same id: a transaction retried) is left as it is.
pub(crate) async fn insert_alerts(
    tx: &mut Transaction<'static, Any>,
    alerts: &[NewAlert],
) -> Result<(), sqlx::Error> {
    for alert in alerts {
        let at = to_millis(alert.at);
        let inserted = sqlx::query(
            "INSERT INTO alerts (id, type, subject, event, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&alert.id)
        .bind(&alert.kind)
        .bind(&alert.subject)
        .bind(&alert.event)
        .bind(at)
        .execute(&mut **tx)
        .await?;
        if inserted.rows_affected() == 0 {
            continue;
        }
        for receiver in &alert.receivers {
            sqlx::query(
                "INSERT INTO alert_deliveries (alert_id, receiver, state, next_attempt_at, created_at)
                 VALUES ($1, $2, 'pending', $3, $3)",
            )
            .bind(&alert.id)
            .bind(receiver)
            .bind(at)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// Leases a receiver's oldest due delivery. PostgreSQL skips rows another
/// replica is claiming; SQLite takes its write lock before reading.
macro_rules! claim_sql {
    ($lock:literal) => {
        concat!(
            "
UPDATE alert_deliveries
SET state = 'running', lease_owner = $1, lease_expires_at = $2, attempts = attempts + 1
WHERE id = (
    SELECT id FROM alert_deliveries
    WHERE receiver = $4
      AND ((state = 'pending' AND next_attempt_at <= $3)
        OR (state = 'running' AND lease_expires_at <= $3))
    ORDER BY id
    LIMIT 1
    ",
            $lock,
            "
)
RETURNING alert_id, receiver, attempts"
        )
    };
}

const CLAIM_SQLITE: &str = claim_sql!("");
const CLAIM_POSTGRES: &str = claim_sql!("FOR UPDATE SKIP LOCKED");

#[derive(FromRow)]
struct ClaimedRow {
    alert_id: String,
    receiver: String,
    attempts: i64,
}

impl Store {
    /// Records that `worker` ran the sweep `name` on `day` (UTC), with
    /// the audit events and alerts it found, in one transaction; `false`
    /// (and nothing written) when a replica already ran it that day.
    pub async fn record_sweep(
        &self,
        sweep: &Sweep<'_>,
        events: &[crate::audit::NewAuditEvent],
        alerts: &[NewAlert],
    ) -> anyhow::Result<bool> {
        super::audit::retrying_races(|| async {
            let mut tx = self.pool.begin().await?;
            let claimed = sqlx::query(
                "INSERT INTO sweeps (name, day, ran_at, worker, found) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (name, day) DO NOTHING",
            )
            .bind(sweep.name)
            .bind(sweep.day.format("%Y-%m-%d").to_string())
            .bind(to_millis(sweep.at))
            .bind(sweep.worker)
            .bind(i64::try_from(events.len()).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
            if claimed.rows_affected() == 0 {
                return Ok(false);
            }
            super::audit::append_all(&mut tx, events).await?;
            insert_alerts(&mut tx, alerts).await?;
            tx.commit().await?;
            Ok(true)
        })
        .await
        .with_context(|| format!("cannot record the sweep {}", sweep.name))
    }

    /// The day `name` last ran, if ever.
    pub async fn last_sweep(&self, name: &str) -> anyhow::Result<Option<SweepRun>> {
        let row: Option<(String, i64, String, i64)> = sqlx::query_as(
            "SELECT day, ran_at, worker, found FROM sweeps WHERE name = $1
             ORDER BY day DESC LIMIT 1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .context("cannot read the last sweep")?;
        row.map(|(day, ran_at, worker, found)| {
            Ok(SweepRun {
                day,
                ran_at: from_millis(ran_at)?,
                worker,
                found: u64::try_from(found).unwrap_or(0),
            })
        })
        .transpose()
    }
}

/// One run of a periodic sweep.
#[derive(Clone, Copy, Debug)]
pub struct Sweep<'a> {
    pub name: &'a str,
    pub day: chrono::NaiveDate,
    pub at: DateTime<Utc>,
    pub worker: &'a str,
}

/// A sweep as it was recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SweepRun {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    pub ran_at: DateTime<Utc>,
    pub worker: String,
    pub found: u64,
}

/// An alert with the state of its delivery to each receiver, for the
/// operator's page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertRow {
    pub id: String,
    pub kind: String,
    pub subject: String,
    pub created_at: DateTime<Utc>,
    pub deliveries: Vec<DeliveryState>,
}

/// Where one delivery of an alert stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryState {
    pub receiver: String,
    /// `pending`, `running`, `delivered` or `failed`.
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// When a failing delivery is tried next.
    pub next_attempt_at: DateTime<Utc>,
}

impl Store {
    /// The `limit` alerts queued last, newest first, each with its
    /// deliveries.
    pub async fn recent_alerts(&self, limit: u32) -> anyhow::Result<Vec<AlertRow>> {
        type Row = (
            String,
            String,
            String,
            i64,
            String,
            String,
            i64,
            Option<String>,
            i64,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT a.id, a.type, a.subject, a.created_at,
                    d.receiver, d.state, d.attempts, d.last_error, d.next_attempt_at
             FROM alerts a JOIN alert_deliveries d ON d.alert_id = a.id
             WHERE a.id IN (SELECT id FROM alerts ORDER BY created_at DESC, id LIMIT $1)
             ORDER BY a.created_at DESC, a.id, d.receiver",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .context("cannot read the recent alerts")?;
        let mut alerts: Vec<AlertRow> = Vec::new();
        for (id, kind, subject, created_at, receiver, state, attempts, last_error, next) in rows {
            let delivery = DeliveryState {
                receiver,
                state,
                attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                last_error,
                next_attempt_at: from_millis(next)?,
            };
            match alerts.last_mut() {
                Some(last) if last.id == id => last.deliveries.push(delivery),
                _ => alerts.push(AlertRow {
                    id,
                    kind,
                    subject,
                    created_at: from_millis(created_at)?,
                    deliveries: vec![delivery],
                }),
            }
        }
        Ok(alerts)
    }
}
