//! Pushes to the default branch: which recorded merge put a commit on its
//! base branch (the local half of telling a push from a merge, asked
//! before the forge; see `docs/alerts.md`, "How Warrant tells a push from
//! a merge"), and the unreviewed pushes the audit pages list.

use anyhow::Context;
use chrono::{DateTime, Utc};

use super::audit::{AUDIT_COLUMNS, event_of_row};
use super::reports::Readable;
use super::{Store, to_millis};
use crate::audit::{AuditEvent, EventKind};
use crate::engine::Forge;
use crate::ids::{CommitSha, RepoName};

impl Store {
    /// The change whose recorded merge put commit `sha` on its base
    /// branch, if one did: `sha` is its merge commit (a merge, a squash,
    /// the last commit of a rebase) or, merged as it was, its head.
    pub async fn change_merged_as(
        &self,
        forge: Forge,
        repo: &RepoName,
        sha: &CommitSha,
    ) -> anyhow::Result<Option<u64>> {
        let number: Option<i64> = sqlx::query_scalar(
            "SELECT number FROM merges
             WHERE forge = $1 AND repo = $2 AND (merge_commit_sha = $3 OR head_sha = $3)
             ORDER BY id LIMIT 1",
        )
        .bind(forge.as_str())
        .bind(repo.as_str())
        .bind(sha.as_str())
        .fetch_optional(&self.pool)
        .await
        .context("cannot read the merges of a commit")?;
        Ok(number.and_then(|n| u64::try_from(n).ok()))
    }

    /// The `push_unreviewed` events since `since` of the repositories in
    /// `readable`, newest first, at most `limit` of them (found among the
    /// latest `4 × limit` of all repositories: a page lists the recent
    /// ones, not a complete history, which the audit export gives).
    pub async fn unreviewed_pushes(
        &self,
        readable: &Readable,
        since: DateTime<Utc>,
        limit: usize,
    ) -> anyhow::Result<Vec<AuditEvent>> {
        let rows = sqlx::query(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_events
             WHERE kind = $1 AND at >= $2 ORDER BY at DESC, id DESC LIMIT $3"
        ))
        .bind(EventKind::PushUnreviewed.as_str())
        .bind(to_millis(since))
        .bind(i64::try_from(limit.saturating_mul(4)).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .context("cannot read the unreviewed pushes")?;
        let mut events = Vec::new();
        for row in &rows {
            let event = event_of_row(row)?;
            if readable.contains(&event.event.forge, &event.event.repo) {
                events.push(event);
            }
            if events.len() >= limit {
                break;
            }
        }
        Ok(events)
    }
}
