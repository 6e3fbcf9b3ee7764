//! The audit trail's signed checkpoints (see [`crate::audit::checkpoint`]):
//! inserted once each, never updated or deleted, and read back as the lines
//! they were published as. Also the two readings of the trail a checkpoint
//! needs: each chain's size, and its event hashes in order.

use std::ops::ControlFlow;

use anyhow::Context;
use sqlx::Row;

use super::{Chain, Store};

/// A checkpoint as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub seq: u64,
    pub hash: String,
    pub at: i64,
    /// The signed checkpoint's JSON line.
    pub line: String,
}

impl Store {
    /// Inserts a checkpoint unless one with its seq, or naming its previous
    /// hash, is already stored (another replica wrote the next checkpoint
    /// first): `false` then, and nothing is written.
    pub async fn insert_checkpoint(
        &self,
        seq: u64,
        previous: &str,
        hash: &str,
        at: i64,
        line: &str,
    ) -> anyhow::Result<bool> {
        let seq = i64::try_from(seq).context("seq out of range")?;
        // Retried only while the database is busy: a conflict does nothing.
        let done = super::audit::retrying_races(|| {
            sqlx::query(
                "INSERT INTO audit_checkpoints (seq, previous, hash, at, line)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(seq)
            .bind(previous)
            .bind(hash)
            .bind(at)
            .bind(line)
            .execute(&self.pool)
        })
        .await
        .context("cannot store a checkpoint")?;
        Ok(done.rows_affected() == 1)
    }

    /// The newest checkpoint, if any.
    pub async fn latest_checkpoint(&self) -> anyhow::Result<Option<StoredCheckpoint>> {
        let rows = self
            .checkpoints_where("ORDER BY seq DESC LIMIT 1", 0)
            .await?;
        Ok(rows.into_iter().next())
    }

    /// Every checkpoint after `seq`, oldest first.
    pub async fn checkpoints_after(&self, seq: u64) -> anyhow::Result<Vec<StoredCheckpoint>> {
        self.checkpoints_where("WHERE seq > $1 ORDER BY seq", seq)
            .await
    }

    async fn checkpoints_where(
        &self,
        clause: &str,
        seq: u64,
    ) -> anyhow::Result<Vec<StoredCheckpoint>> {
        let sql = format!("SELECT seq, hash, at, line FROM audit_checkpoints {clause}");
        let mut query = sqlx::query(&sql);
        if clause.contains("$1") {
            query = query.bind(i64::try_from(seq).unwrap_or(i64::MAX));
        }
        let rows = query
            .fetch_all(&self.pool)
            .await
            .context("cannot read the checkpoints")?;
        rows.iter()
            .map(|row| {
                let seq: i64 = row.try_get("seq")?;
                Ok(StoredCheckpoint {
                    seq: u64::try_from(seq).unwrap_or(0),
                    hash: row.try_get("hash")?,
                    at: row.try_get("at")?,
                    line: row.try_get("line")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .context("cannot read a checkpoint")
    }

    /// How many events each chain holds, ordered by forge and repository.
    pub async fn audit_chain_sizes(&self) -> anyhow::Result<Vec<(Chain, u64)>> {
        let rows = sqlx::query(
            "SELECT forge, repo, COUNT(*) AS size FROM audit_events
             GROUP BY forge, repo ORDER BY forge, repo",
        )
        .fetch_all(&self.pool)
        .await
        .context("cannot count the audit chains")?;
        rows.iter()
            .map(|row| {
                let size: i64 = row.try_get("size")?;
                Ok((
                    Chain {
                        forge: row.try_get("forge")?,
                        repo: row.try_get("repo")?,
                    },
                    u64::try_from(size).unwrap_or(0),
                ))
            })
            .collect::<Result<_, sqlx::Error>>()
            .context("cannot count the audit chains")
    }

    /// Visits the event hashes of a chain in stored order (by `seq`, then
    /// by row id, as [`Store::scan_audit_chain`] reads them), `page` rows
    /// per query: the leaves of the chain's Merkle tree. Stops early when
    /// `visit` breaks.
    pub async fn scan_audit_hashes(
        &self,
        chain: &Chain,
        page: u32,
        mut visit: impl FnMut(&str) -> ControlFlow<()> + Send,
    ) -> anyhow::Result<()> {
        let mut after = (i64::MIN, i64::MIN);
        loop {
            let rows = self
                .chain_rows_after(chain, "seq, id, hash", after, page)
                .await
                .context("cannot read the audit trail's hashes")?;
            for row in &rows {
                after = (row.try_get("seq")?, row.try_get("id")?);
                if visit(row.try_get("hash")?).is_break() {
                    return Ok(());
                }
            }
            if rows.len() < page.max(1) as usize {
                return Ok(());
            }
        }
    }
}
