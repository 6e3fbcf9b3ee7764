//! The rollout's figures, for the repositories page and the overview: the
//! latest decision in each repository (which says its rollout state), and
//! the facts of each change evaluated since a time, small enough to hold
//! many weeks of them.

use std::collections::BTreeMap;

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::Store;
use super::inventory::registration;
use super::reports::{ChangeBatches, ChangeFilter, EvaluationRow, Readable, evaluation_row};
use crate::ids::ChangeKey;

/// A change by its latest evaluation, as the rollout's figures count it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecentChange {
    pub change: ChangeKey,
    pub evaluated_at: DateTime<Utc>,
    /// The check's conclusion (`success`, `failure`, ...).
    pub conclusion: String,
    /// Each agent found, with whether a policy registers it
    /// (`registered`, `unregistered` or `lapsed`).
    pub agents: Vec<(String, &'static str)>,
}

impl Store {
    /// The latest evaluation in each `readable` repository that has one,
    /// keyed by `(forge, repo)`.
    pub async fn latest_by_repository(
        &self,
        readable: &Readable,
    ) -> anyhow::Result<BTreeMap<(String, String), EvaluationRow>> {
        let rows = sqlx::query(
            "SELECT e.forge, e.repo, e.id, e.head_sha, e.base_sha, e.conclusion, e.title,
                    e.decision, e.evaluated_at
             FROM evaluations e
             WHERE e.id = (SELECT MAX(l.id) FROM evaluations l
                           WHERE l.forge = e.forge AND l.repo = e.repo)",
        )
        .fetch_all(&self.pool)
        .await
        .context("cannot read the latest decision of each repository")?;
        let mut latest = BTreeMap::new();
        for row in &rows {
            let forge: String = row.try_get("forge")?;
            let repo: String = row.try_get("repo")?;
            if readable.contains(&forge, &repo) {
                latest.insert((forge, repo), evaluation_row(row)?);
            }
        }
        Ok(latest)
    }

    /// Every change in a `readable` repository whose latest evaluation is
    /// at or after `since`, newest first.
    pub async fn changes_since(
        &self,
        readable: &Readable,
        since: DateTime<Utc>,
    ) -> anyhow::Result<Vec<RecentChange>> {
        let filter = ChangeFilter {
            from: Some(since),
            ..ChangeFilter::default()
        };
        let mut batches = ChangeBatches::new(&filter, readable);
        let mut changes = Vec::new();
        while let Some(rows) = batches.next(self).await? {
            changes.extend(rows.into_iter().map(|row| {
                RecentChange {
                    agents: row
                        .latest
                        .decision
                        .iter()
                        .flat_map(|d| &d.agents)
                        .map(|a| (a.id.clone(), registration(&a.status)))
                        .collect(),
                    conclusion: row.latest.conclusion,
                    evaluated_at: row.latest.evaluated_at,
                    change: row.change,
                }
            }));
        }
        Ok(changes)
    }
}
