//! What the audit pages know of each change besides its evaluations: its
//! own title, author, address and state (the `changes` table, one row per
//! change, kept up to date), and how it was merged (the `merges` table).

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, as_i64, from_millis, to_millis};
use crate::audit::rollback::MergeMethod;
use crate::ids::ChangeKey;

/// The latest known facts about a pull or merge request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeRecord {
    pub change: ChangeKey,
    /// As the author wrote it; pages escape it.
    pub title: String,
    pub author: Option<String>,
    /// The change's page on the forge.
    pub url: Option<String>,
    pub state: ChangeStatus,
    /// When the forge reported these facts.
    pub updated_at: DateTime<Utc>,
}

/// Open, closed without merging, or merged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeStatus {
    Open,
    Closed,
    Merged,
}

impl ChangeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeStatus::Open => "open",
            ChangeStatus::Closed => "closed",
            ChangeStatus::Merged => "merged",
        }
    }

    pub fn parse(name: &str) -> Option<ChangeStatus> {
        match name {
            "open" => Some(ChangeStatus::Open),
            "closed" => Some(ChangeStatus::Closed),
            "merged" => Some(ChangeStatus::Merged),
            _ => None,
        }
    }
}

/// A merge as the merge webhook reports it.
#[derive(Clone, Copy, Debug)]
pub struct NewMerge<'a> {
    pub change: &'a ChangeKey,
    pub head_sha: &'a str,
    pub merge_commit_sha: Option<&'a str>,
    pub method: Option<MergeMethod>,
    /// How many commits the change had (what a rebase adds).
    pub commit_count: Option<u32>,
    pub delivery_id: Option<&'a str>,
    pub recorded_at: DateTime<Utc>,
}

/// The last merge recorded for a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeRecord {
    pub head_sha: String,
    pub merge_commit_sha: Option<String>,
    /// `None` when it was not recorded (or is not one Warrant knows).
    pub method: Option<MergeMethod>,
    pub commit_count: Option<u32>,
    pub recorded_at: DateTime<Utc>,
}

impl Store {
    /// Records the facts about a change, replacing those reported earlier.
    /// Facts older than the stored ones are ignored, so a late redelivery
    /// cannot reopen a merged change.
    pub async fn upsert_change(&self, c: &ChangeRecord) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO changes (forge, repo, number, title, author, url, state, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (forge, repo, number) DO UPDATE SET
                 title = excluded.title, author = COALESCE(excluded.author, changes.author),
                 url = COALESCE(excluded.url, changes.url),
                 state = excluded.state, updated_at = excluded.updated_at
             WHERE changes.updated_at <= excluded.updated_at",
        )
        .bind(c.change.forge.as_str())
        .bind(c.change.repo.as_str())
        .bind(as_i64(c.change.number)?)
        .bind(&c.title)
        .bind(c.author.as_deref())
        .bind(c.url.as_deref())
        .bind(c.state.as_str())
        .bind(to_millis(c.updated_at))
        .execute(&self.pool)
        .await
        .context("cannot record a change")?;
        Ok(())
    }

    /// The facts recorded about a change, if any.
    pub async fn change_record(&self, change: &ChangeKey) -> anyhow::Result<Option<ChangeRecord>> {
        let row = sqlx::query(
            "SELECT title, author, url, state, updated_at FROM changes
             WHERE forge = $1 AND repo = $2 AND number = $3",
        )
        .bind(change.forge.as_str())
        .bind(change.repo.as_str())
        .bind(as_i64(change.number)?)
        .fetch_optional(&self.pool)
        .await
        .context("cannot read a change")?;
        let Some(row) = row else { return Ok(None) };
        let state: String = row.try_get("state")?;
        Ok(Some(ChangeRecord {
            change: change.clone(),
            title: row.try_get("title")?,
            author: row.try_get("author")?,
            url: row.try_get("url")?,
            state: ChangeStatus::parse(&state)
                .with_context(|| format!("unknown change state `{state}`"))?,
            updated_at: from_millis(row.try_get("updated_at")?)?,
        }))
    }

    /// Appends a merge with how it was made: what the rollback reference
    /// needs.
    pub async fn record_merge_details(&self, m: &NewMerge<'_>) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO merges (forge, repo, number, head_sha, merge_commit_sha, merge_method,
                                 commit_count, delivery_id, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(m.change.forge.as_str())
        .bind(m.change.repo.as_str())
        .bind(as_i64(m.change.number)?)
        .bind(m.head_sha)
        .bind(m.merge_commit_sha)
        .bind(m.method.map(MergeMethod::as_str))
        .bind(m.commit_count.map(i64::from))
        .bind(m.delivery_id)
        .bind(to_millis(m.recorded_at))
        .execute(&self.pool)
        .await
        .context("cannot record a merge")?;
        Ok(())
    }

    /// The last merge recorded for a change, if any.
    pub async fn last_merge(&self, change: &ChangeKey) -> anyhow::Result<Option<MergeRecord>> {
        let row = sqlx::query(
            "SELECT head_sha, merge_commit_sha, merge_method, commit_count, recorded_at
             FROM merges WHERE forge = $1 AND repo = $2 AND number = $3
             ORDER BY id DESC LIMIT 1",
        )
        .bind(change.forge.as_str())
        .bind(change.repo.as_str())
        .bind(as_i64(change.number)?)
        .fetch_optional(&self.pool)
        .await
        .context("cannot read a merge")?;
        let Some(row) = row else { return Ok(None) };
        let method: Option<String> = row.try_get("merge_method")?;
        let count: Option<i64> = row.try_get("commit_count")?;
        Ok(Some(MergeRecord {
            head_sha: row.try_get("head_sha")?,
            merge_commit_sha: row.try_get("merge_commit_sha")?,
            method: method.as_deref().and_then(MergeMethod::parse),
            commit_count: count.and_then(|n| u32::try_from(n).ok()),
            recorded_at: from_millis(row.try_get("recorded_at")?)?,
        }))
    }
}
