//! The audit trail's rows: appended with their place in the repository's
//! hash chain, never updated or deleted (see [`crate::audit`]).
//!
//! Appending reads the head of the chain and inserts after it in one
//! transaction. Two writers appending to one repository at once (two
//! replicas on PostgreSQL, or a webhook and a worker on SQLite) may read the
//! same head: the `UNIQUE (forge, repo, seq)` constraint lets one of them
//! in, and the other starts over from the new head. No lock outlives a
//! transaction and no row is ever rewritten.

use std::ops::ControlFlow;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::{Store, as_i64, from_millis, to_millis};
use crate::audit::verify::StoredRow;
use crate::audit::{AuditEvent, EventKind, GENESIS, NewAuditEvent, row_hash};
use crate::ids::ChangeKey;

/// How often an append starts over after losing a race for the head.
const APPEND_ATTEMPTS: u32 = 20;

/// The columns of an [`AuditEvent`], in the order [`event_of_row`] reads.
pub(crate) const AUDIT_COLUMNS: &str = "id, forge, repo, seq, at, kind, change_number, head_sha, \
     base_sha, policy_blob, agent_id, role, owner, actor, requester, paths, approval, decision, \
     detail, prev_hash, hash";

/// One chain: a forge and repository with at least one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    pub forge: String,
    pub repo: String,
}

impl Store {
    /// Appends `events` in order, each after the head of its repository's
    /// chain, all in one transaction: they are stored together or not at
    /// all. Returns them as stored.
    pub async fn append_audit(&self, events: &[NewAuditEvent]) -> anyhow::Result<Vec<AuditEvent>> {
        self.append_audit_alerting(events, &[]).await
    }

    /// Appends `events` and queues the `alerts` they raise, in one
    /// transaction: an alert is never lost nor sent for an event that was
    /// not recorded.
    pub async fn append_audit_alerting(
        &self,
        events: &[NewAuditEvent],
        alerts: &[super::alerts::NewAlert],
    ) -> anyhow::Result<Vec<AuditEvent>> {
        retrying_races(|| async {
            let mut tx = self.pool.begin().await?;
            let stored = append_all(&mut tx, events).await?;
            super::alerts::insert_alerts(&mut tx, alerts).await?;
            tx.commit().await?;
            Ok(stored)
        })
        .await
        .context("cannot append to the audit trail")
    }

    /// Every chain, ordered by forge and repository.
    pub async fn audit_chains(&self) -> anyhow::Result<Vec<Chain>> {
        let rows =
            sqlx::query("SELECT DISTINCT forge, repo FROM audit_events ORDER BY forge, repo")
                .fetch_all(&self.pool)
                .await
                .context("cannot list the audit chains")?;
        rows.iter()
            .map(|row| {
                Ok(Chain {
                    forge: row.try_get("forge")?,
                    repo: row.try_get("repo")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .context("cannot read the audit chains")
    }

    /// Up to `limit` rows of a chain with `seq` above `after`, in stored
    /// order (by `seq`, then by row id: a tampered chain may repeat a seq).
    pub async fn audit_chain_page(
        &self,
        chain: &Chain,
        after: u64,
        limit: u32,
    ) -> anyhow::Result<Vec<AuditEvent>> {
        let rows = sqlx::query(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_events
             WHERE forge = $1 AND repo = $2 AND seq > $3 ORDER BY seq, id LIMIT $4"
        ))
        .bind(&chain.forge)
        .bind(&chain.repo)
        .bind(i64::try_from(after).unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .context("cannot read the audit trail")?;
        rows.iter().map(event_of_row).collect()
    }

    /// Visits every row of a chain in stored order (by `seq`, then by row
    /// id), reading `page` rows at a time, until `visit` breaks. Unlike
    /// [`Store::audit_chain_page`], a row whose values do not make an event
    /// is handed over as [`StoredRow::Unreadable`] rather than failing the
    /// read, and pages continue after the last row's seq *and id*, so that
    /// a repeated seq is never skipped: this is the reading `warrant audit
    /// verify` needs, in flat memory however long the chain.
    pub async fn scan_audit_chain(
        &self,
        chain: &Chain,
        page: u32,
        mut visit: impl FnMut(StoredRow) -> ControlFlow<()> + Send,
    ) -> anyhow::Result<()> {
        let mut after = (i64::MIN, i64::MIN);
        loop {
            let rows = self
                .chain_rows_after(chain, AUDIT_COLUMNS, after, page)
                .await
                .context("cannot read the audit trail")?;
            let full = rows.len() >= page.max(1) as usize;
            for row in &rows {
                let id: i64 = row
                    .try_get("id")
                    .context("an audit row's id cannot be read")?;
                let Ok(seq) = row.try_get::<i64, _>("seq") else {
                    // Without a seq there is no place to continue from.
                    let why = "its seq is not an integer".to_owned();
                    let _ = visit(StoredRow::Unreadable { id, seq: None, why });
                    return Ok(());
                };
                after = (seq, id);
                let stored = match event_of_row(row) {
                    Ok(event) => StoredRow::Event(event),
                    Err(err) => StoredRow::Unreadable {
                        id,
                        seq: u64::try_from(seq).ok(),
                        // The first link of the chain names the row, which
                        // the report does already.
                        why: err
                            .chain()
                            .skip(1)
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(": "),
                    },
                };
                if visit(stored).is_break() {
                    return Ok(());
                }
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// Up to `page` rows of a chain after the row at `after` (its seq and
    /// row id), in stored order, with `columns`: one page of a walk of
    /// the chain that never skips a repeated seq.
    pub(super) async fn chain_rows_after(
        &self,
        chain: &Chain,
        columns: &str,
        after: (i64, i64),
        page: u32,
    ) -> Result<Vec<AnyRow>, sqlx::Error> {
        // `seq >= $3` keeps the index on (forge, repo, seq) in use: each
        // page starts where the last ended, not at the chain's first row.
        sqlx::query(&format!(
            "SELECT {columns} FROM audit_events
             WHERE forge = $1 AND repo = $2 AND seq >= $3 AND (seq > $3 OR id > $4)
             ORDER BY seq, id LIMIT $5"
        ))
        .bind(&chain.forge)
        .bind(&chain.repo)
        .bind(after.0)
        .bind(after.1)
        .bind(i64::from(page.max(1)))
        .fetch_all(&self.pool)
        .await
    }

    /// The events of one change, in chain order.
    pub async fn audit_events_of_change(
        &self,
        change: &ChangeKey,
    ) -> anyhow::Result<Vec<AuditEvent>> {
        let rows = sqlx::query(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_events
             WHERE forge = $1 AND repo = $2 AND change_number = $3 ORDER BY seq, id"
        ))
        .bind(change.forge.as_str())
        .bind(change.repo.as_str())
        .bind(as_i64(change.number)?)
        .fetch_all(&self.pool)
        .await
        .context("cannot read the audit trail of a change")?;
        rows.iter().map(event_of_row).collect()
    }
}

/// Runs `attempt` (one transaction) again while it loses the race for a
/// chain's head to another writer, after a pause that grows and varies.
pub(super) async fn retrying_races<T, F, Fut>(mut attempt: F) -> Result<T, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, sqlx::Error>>,
{
    let mut attempts = 0;
    loop {
        attempts += 1;
        match attempt().await {
            Err(err) if attempts < APPEND_ATTEMPTS && lost_race(&err) => {
                let jitter = u64::from(rand::random::<u8>() % 8);
                tokio::time::sleep(Duration::from_millis(u64::from(attempts) * 2 + jitter)).await;
            }
            result => return result,
        }
    }
}

/// Appends `events` in order inside `tx`.
pub(super) async fn append_all(
    tx: &mut Transaction<'static, Any>,
    events: &[NewAuditEvent],
) -> Result<Vec<AuditEvent>, sqlx::Error> {
    let mut stored = Vec::with_capacity(events.len());
    for event in events {
        stored.push(append_one(tx, event).await?);
    }
    Ok(stored)
}

/// Inserts `event` after the head of its chain, inside `tx`.
async fn append_one(
    tx: &mut Transaction<'static, Any>,
    event: &NewAuditEvent,
) -> Result<AuditEvent, sqlx::Error> {
    let head = sqlx::query(
        "SELECT seq, hash FROM audit_events WHERE forge = $1 AND repo = $2
         ORDER BY seq DESC LIMIT 1",
    )
    .bind(&event.forge)
    .bind(&event.repo)
    .fetch_optional(&mut **tx)
    .await?;
    let (seq, prev_hash) = match head {
        Some(row) => {
            let seq: i64 = row.try_get("seq")?;
            let hash: String = row.try_get("hash")?;
            (u64::try_from(seq).unwrap_or(0) + 1, hash)
        }
        None => (1, GENESIS.to_owned()),
    };
    let hash = row_hash(event, seq, &prev_hash);
    let paths = serde_json::to_string(&event.paths).map_err(|e| sqlx::Error::Encode(e.into()))?;
    let detail = serde_json::to_string(&event.detail).map_err(|e| sqlx::Error::Encode(e.into()))?;
    let change = event
        .change
        .map(i64::try_from)
        .transpose()
        .map_err(|e| sqlx::Error::Encode(e.into()))?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO audit_events (forge, repo, seq, at, kind, change_number, head_sha, base_sha,
             policy_blob, agent_id, role, owner, actor, requester, paths, approval, decision,
             detail, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
             $18, $19, $20)
         RETURNING id",
    )
    .bind(&event.forge)
    .bind(&event.repo)
    .bind(i64::try_from(seq).unwrap_or(i64::MAX))
    .bind(to_millis(event.at))
    .bind(event.kind.as_str())
    .bind(change)
    .bind(event.head_sha.as_deref())
    .bind(event.base_sha.as_deref())
    .bind(event.policy_blob.as_deref())
    .bind(event.agent.as_deref())
    .bind(event.role.as_deref())
    .bind(event.owner.as_deref())
    .bind(event.actor.as_deref())
    .bind(event.requester.as_deref())
    .bind(paths)
    .bind(event.approval.as_deref())
    .bind(event.decision.as_deref())
    .bind(detail)
    .bind(&prev_hash)
    .bind(&hash)
    .fetch_one(&mut **tx)
    .await?;
    Ok(AuditEvent {
        id,
        seq,
        event: NewAuditEvent {
            at: from_millis(to_millis(event.at)).unwrap_or(event.at),
            ..event.clone()
        },
        prev_hash,
        hash,
    })
}

/// Whether an append failed because another writer took the head first
/// (a unique violation), or the database was busy (SQLite's snapshot
/// conflict): both are worth starting over.
fn lost_race(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            db.is_unique_violation()
                || db
                    .code()
                    .is_some_and(|c| c == "5" || c == "517" || c == "40001")
                || db.message().contains("database is locked")
        }
        _ => false,
    }
}

/// Reads a row selected with [`AUDIT_COLUMNS`]. A stored value that does not
/// parse (a tampered kind, say) is an error naming the row.
pub(crate) fn event_of_row(row: &sqlx::any::AnyRow) -> anyhow::Result<AuditEvent> {
    let id: i64 = row.try_get("id")?;
    let read = || -> anyhow::Result<AuditEvent> {
        let kind: String = row.try_get("kind")?;
        let paths: String = row.try_get("paths")?;
        let detail: String = row.try_get("detail")?;
        let change: Option<i64> = row.try_get("change_number")?;
        let seq: i64 = row.try_get("seq")?;
        Ok(AuditEvent {
            id,
            seq: u64::try_from(seq).context("negative seq")?,
            event: NewAuditEvent {
                forge: row.try_get("forge")?,
                repo: row.try_get("repo")?,
                at: from_millis(row.try_get("at")?)?,
                kind: EventKind::parse(&kind)
                    .with_context(|| format!("unknown event kind `{kind}`"))?,
                change: change
                    .map(u64::try_from)
                    .transpose()
                    .context("negative change")?,
                head_sha: row.try_get("head_sha")?,
                base_sha: row.try_get("base_sha")?,
                policy_blob: row.try_get("policy_blob")?,
                agent: row.try_get("agent_id")?,
                role: row.try_get("role")?,
                owner: row.try_get("owner")?,
                actor: row.try_get("actor")?,
                requester: row.try_get("requester")?,
                paths: serde_json::from_str(&paths).context("paths are not a JSON array")?,
                approval: row.try_get("approval")?,
                decision: row.try_get("decision")?,
                detail: serde_json::from_str(&detail).context("detail is not a JSON object")?,
            },
            prev_hash: row.try_get("prev_hash")?,
            hash: row.try_get("hash")?,
        })
    };
    read().with_context(|| format!("audit row {id} cannot be read"))
}
