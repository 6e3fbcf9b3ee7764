//! What the worker publishes: the check run of each head commit, each
//! evaluation's decision, and merge commits. Rows are only ever added, so
//! the history of a change stays readable (the audit trail will chain them).

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::{Any, Executor};

use super::{Store, as_i64, to_millis};
use crate::audit::NewAuditEvent;
use crate::engine::Forge;
use crate::ids::{ChangeKey, RepoName};

/// An evaluation as published on a change.
#[derive(Clone, Copy, Debug)]
pub struct NewEvaluation<'a> {
    pub change: &'a ChangeKey,
    pub head_sha: &'a str,
    /// `None` when the change could not be read.
    pub base_sha: Option<&'a str>,
    pub check_run_id: Option<u64>,
    pub conclusion: &'a str,
    pub title: &'a str,
    /// The decision as JSON; `None` when none was reached.
    pub decision: Option<&'a str>,
    /// The facts decided on (`evaluation::record::Record` as JSON); `None`
    /// when the change could not be read.
    pub input: Option<&'a str>,
    /// The texts of the files the facts name, by SHA-256.
    pub texts: Option<&'a std::collections::HashMap<String, String>>,
    /// Alerts the evaluation raises, queued with it.
    pub alerts: &'a [super::alerts::NewAlert],
    pub delivery_id: Option<&'a str>,
    pub evaluated_at: DateTime<Utc>,
}

/// A stored evaluation, as tests and pages read it back.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredEvaluation {
    pub number: i64,
    pub head_sha: String,
    pub base_sha: Option<String>,
    pub check_run_id: Option<i64>,
    pub conclusion: String,
    pub title: String,
    pub decision: Option<String>,
    pub delivery_id: Option<String>,
}

impl Store {
    /// The check run recorded for `head_sha`, if any.
    pub async fn check_run_id(
        &self,
        forge: Forge,
        repo: &RepoName,
        head_sha: &str,
    ) -> anyhow::Result<Option<u64>> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT check_run_id FROM check_runs WHERE forge = $1 AND repo = $2 AND head_sha = $3",
        )
        .bind(forge.as_str())
        .bind(repo.as_str())
        .bind(head_sha)
        .fetch_optional(&self.pool)
        .await
        .context("cannot read a check run id")?;
        Ok(id.and_then(|id| u64::try_from(id).ok()))
    }

    /// Records the check run of `head_sha`. The first one recorded wins, so
    /// two workers racing on one commit agree on the run they update.
    pub async fn record_check_run(
        &self,
        forge: Forge,
        repo: &RepoName,
        head_sha: &str,
        check_run_id: u64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO check_runs (forge, repo, head_sha, check_run_id, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (forge, repo, head_sha) DO NOTHING",
        )
        .bind(forge.as_str())
        .bind(repo.as_str())
        .bind(head_sha)
        .bind(as_i64(check_run_id)?)
        .bind(to_millis(Utc::now()))
        .execute(&self.pool)
        .await
        .context("cannot record a check run")?;
        Ok(())
    }

    /// Appends an evaluation and the audit events it left, in one
    /// transaction: the trail never misses a published decision, nor
    /// records one that was not stored.
    pub async fn record_evaluation(
        &self,
        e: &NewEvaluation<'_>,
        events: &[NewAuditEvent],
    ) -> anyhow::Result<()> {
        super::audit::retrying_races(|| async {
            let mut tx = self.pool.begin().await?;
            insert_evaluation(&mut *tx, e).await?;
            if let Some(texts) = e.texts {
                super::records::insert_texts(&mut tx, texts).await?;
            }
            super::alerts::insert_alerts(&mut tx, e.alerts).await?;
            super::audit::append_all(&mut tx, events).await?;
            tx.commit().await
        })
        .await
        .context("cannot record an evaluation")
    }

    /// The evaluations of a change, oldest first.
    pub async fn evaluations(&self, change: &ChangeKey) -> anyhow::Result<Vec<StoredEvaluation>> {
        sqlx::query_as(
            "SELECT number, head_sha, base_sha, check_run_id, conclusion, title, decision, delivery_id
             FROM evaluations WHERE forge = $1 AND repo = $2 AND number = $3 ORDER BY id",
        )
        .bind(change.forge.as_str())
        .bind(change.repo.as_str())
        .bind(as_i64(change.number)?)
        .fetch_all(&self.pool)
        .await
        .context("cannot read evaluations")
    }

    /// The base commit of the last evaluation of a change that read it: the
    /// best guess of the base for events that do not carry it (check runs
    /// and suites), which saves a query when it is still right.
    pub async fn last_base_sha(&self, change: &ChangeKey) -> anyhow::Result<Option<String>> {
        self.last_of_change("base_sha", change)
            .await
            .context("cannot read the last base commit")
    }

    /// The head commit of the last evaluation of a change.
    pub async fn last_head_sha(&self, change: &ChangeKey) -> anyhow::Result<Option<String>> {
        self.last_of_change("head_sha", change)
            .await
            .context("cannot read the last head commit")
    }

    /// The decision (JSON) of the last evaluation of a change that reached
    /// one.
    pub async fn last_decision(&self, change: &ChangeKey) -> anyhow::Result<Option<String>> {
        self.last_of_change("decision", change)
            .await
            .context("cannot read the last decision")
    }

    /// `column` of the last evaluation of a change where it is set.
    async fn last_of_change(
        &self,
        column: &'static str,
        change: &ChangeKey,
    ) -> anyhow::Result<Option<String>> {
        let sql = format!(
            "SELECT {column} FROM evaluations
             WHERE forge = $1 AND repo = $2 AND number = $3 AND {column} IS NOT NULL
             ORDER BY id DESC LIMIT 1"
        );
        let row: Option<Option<String>> = sqlx::query_scalar(&sql)
            .bind(change.forge.as_str())
            .bind(change.repo.as_str())
            .bind(as_i64(change.number)?)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.flatten())
    }
}

const INSERT_EVALUATION: &str = "
INSERT INTO evaluations (forge, repo, number, head_sha, base_sha, check_run_id, conclusion,
                         title, decision, input, delivery_id, evaluated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

async fn insert_evaluation<'e>(
    executor: impl Executor<'e, Database = Any>,
    e: &NewEvaluation<'_>,
) -> Result<(), sqlx::Error> {
    let encode = |err: anyhow::Error| sqlx::Error::Encode(err.into());
    let check_run_id = e.check_run_id.map(as_i64).transpose().map_err(encode)?;
    sqlx::query(INSERT_EVALUATION)
        .bind(e.change.forge.as_str())
        .bind(e.change.repo.as_str())
        .bind(as_i64(e.change.number).map_err(encode)?)
        .bind(e.head_sha)
        .bind(e.base_sha)
        .bind(check_run_id)
        .bind(e.conclusion)
        .bind(e.title)
        .bind(e.decision)
        .bind(e.input)
        .bind(e.delivery_id)
        .bind(to_millis(e.evaluated_at))
        .execute(executor)
        .await?;
    Ok(())
}
