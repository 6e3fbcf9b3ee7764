//! One `warrant` check per head commit: the changes whose head a commit is,
//! what the check on it shows, and one lease per commit so that replicas
//! publish on it one at a time (see the migration `head_checks`).

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::coordination::LeaseKey;
use super::{Store, from_millis, to_millis};
use crate::engine::Forge;
use crate::ids::RepoName;

/// The latest evaluation of an open change whose head is a given commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AtHead {
    pub number: u64,
    pub conclusion: String,
    pub title: String,
    /// The decision as JSON; `None` when none was reached.
    pub decision: Option<String>,
}

/// One change a check stands for, with its own conclusion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandsFor {
    pub number: u64,
    pub conclusion: String,
}

/// What the check on a head commit shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeadCheck {
    pub forge: Forge,
    pub repo: RepoName,
    pub head_sha: String,
    pub conclusion: String,
    pub title: String,
    /// Strictest first.
    pub changes: Vec<StandsFor>,
    pub published_at: DateTime<Utc>,
}

impl Store {
    /// The open changes of `repo` whose latest evaluation names `head_sha`,
    /// by number. A change with no recorded state counts as open: a check
    /// event names a pull request before any of its own events arrives.
    pub async fn changes_at_head(
        &self,
        forge: Forge,
        repo: &RepoName,
        head_sha: &str,
    ) -> anyhow::Result<Vec<AtHead>> {
        let rows = sqlx::query(
            "SELECT e.number, e.conclusion, e.title, e.decision
             FROM evaluations e
             WHERE e.forge = $1 AND e.repo = $2 AND e.head_sha = $3
               AND e.id = (SELECT MAX(l.id) FROM evaluations l
                           WHERE l.forge = e.forge AND l.repo = e.repo AND l.number = e.number)
               AND NOT EXISTS (SELECT 1 FROM changes c
                               WHERE c.forge = e.forge AND c.repo = e.repo
                                 AND c.number = e.number AND c.state <> 'open')
             ORDER BY e.number",
        )
        .bind(forge.as_str())
        .bind(repo.as_str())
        .bind(head_sha)
        .fetch_all(&self.pool)
        .await
        .context("cannot read the changes at a head commit")?;
        rows.iter()
            .map(|row| {
                let number: i64 = row.try_get("number")?;
                Ok(AtHead {
                    number: u64::try_from(number).context("a negative change number")?,
                    conclusion: row.try_get("conclusion")?,
                    title: row.try_get("title")?,
                    decision: row.try_get("decision")?,
                })
            })
            .collect()
    }

    /// Records what the check on a head commit shows now.
    pub async fn record_head_check(&self, check: &HeadCheck) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO head_checks (forge, repo, head_sha, conclusion, title, changes, published_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (forge, repo, head_sha) DO UPDATE
                 SET conclusion = excluded.conclusion, title = excluded.title,
                     changes = excluded.changes, published_at = excluded.published_at",
        )
        .bind(check.forge.as_str())
        .bind(check.repo.as_str())
        .bind(&check.head_sha)
        .bind(&check.conclusion)
        .bind(&check.title)
        .bind(serde_json::to_string(&check.changes)?)
        .bind(to_millis(check.published_at))
        .execute(&self.pool)
        .await
        .context("cannot record the check of a head commit")?;
        Ok(())
    }

    /// What the check on `head_sha` shows, if Warrant published one.
    pub async fn head_check(
        &self,
        forge: Forge,
        repo: &RepoName,
        head_sha: &str,
    ) -> anyhow::Result<Option<HeadCheck>> {
        let row = sqlx::query(
            "SELECT conclusion, title, changes, published_at FROM head_checks
             WHERE forge = $1 AND repo = $2 AND head_sha = $3",
        )
        .bind(forge.as_str())
        .bind(repo.as_str())
        .bind(head_sha)
        .fetch_optional(&self.pool)
        .await
        .context("cannot read the check of a head commit")?;
        let Some(row) = row else { return Ok(None) };
        let changes: String = row.try_get("changes")?;
        Ok(Some(HeadCheck {
            forge,
            repo: repo.clone(),
            head_sha: head_sha.to_owned(),
            conclusion: row.try_get("conclusion")?,
            title: row.try_get("title")?,
            changes: serde_json::from_str(&changes).context("stored changes are not JSON")?,
            published_at: from_millis(row.try_get("published_at")?)?,
        }))
    }

    /// Takes the lease on publishing to a head commit for `owner` until
    /// `now + lease`, if no one else holds it (or theirs ran out).
    pub async fn lease_head(
        &self,
        forge: Forge,
        repo: &RepoName,
        head_sha: &str,
        owner: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let key = LeaseKey::Head(head_sha);
        self.take_lease(forge, repo, key, owner, lease, now)
            .await
            .context("cannot lease a head commit")
    }

    /// Gives the lease on a head commit back, if `owner` still holds it.
    pub async fn release_head(
        &self,
        forge: Forge,
        repo: &RepoName,
        head_sha: &str,
        owner: &str,
    ) -> anyhow::Result<()> {
        let key = LeaseKey::Head(head_sha);
        self.give_lease_back(forge, repo, key, owner)
            .await
            .context("cannot release a head commit")
    }
}
