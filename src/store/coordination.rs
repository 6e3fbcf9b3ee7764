//! What workers share through the database rather than memory, so that
//! replicas and restarts agree: the teams of each repository's policies
//! (hints for the next query), one lease per change being evaluated and one
//! per head commit being published to.

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};

use super::{Store, as_i64, duration_millis, to_millis};
use crate::engine::Forge;
use crate::ids::{ChangeKey, RepoName};

impl Store {
    /// The teams named by the policies of `repo` applied since `since`, or
    /// `None` when no evaluation of `repo` ever loaded a policy.
    pub async fn policy_team_hints(
        &self,
        forge: Forge,
        repo: &RepoName,
        since: DateTime<Utc>,
    ) -> anyhow::Result<Option<Vec<String>>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT teams, seen_at FROM policy_teams WHERE forge = $1 AND repo = $2",
        )
        .bind(forge.as_str())
        .bind(repo.as_str())
        .fetch_all(&self.pool)
        .await
        .context("cannot read the policy's teams")?;
        if rows.is_empty() {
            return Ok(None);
        }
        let since = to_millis(since);
        let mut teams = Vec::new();
        for (json, seen_at) in rows {
            if seen_at < since {
                continue;
            }
            let named: Vec<String> =
                serde_json::from_str(&json).context("stored teams are not a JSON array")?;
            teams.extend(named);
        }
        teams.sort();
        teams.dedup();
        Ok(Some(teams))
    }

    /// Records the teams the policy `policy_blob` of `repo` names (none is
    /// worth recording too: the repository is then known).
    pub async fn record_policy_teams(
        &self,
        forge: Forge,
        repo: &RepoName,
        policy_blob: &str,
        teams: &[String],
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO policy_teams (forge, repo, policy_blob, teams, seen_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (forge, repo, policy_blob)
             DO UPDATE SET teams = excluded.teams, seen_at = excluded.seen_at",
        )
        .bind(forge.as_str())
        .bind(repo.as_str())
        .bind(policy_blob)
        .bind(serde_json::to_string(teams)?)
        .bind(to_millis(at))
        .execute(&self.pool)
        .await
        .context("cannot record the policy's teams")?;
        Ok(())
    }

    /// Takes the lease on a change for `owner` until `now + lease`, if no
    /// one else holds it (or theirs ran out). Returns whether it was taken.
    pub async fn lease_change(
        &self,
        change: &ChangeKey,
        owner: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let key = LeaseKey::Change(as_i64(change.number)?);
        self.take_lease(change.forge, &change.repo, key, owner, lease, now)
            .await
            .context("cannot lease a change")
    }

    /// Gives the lease on a change back, if `owner` still holds it.
    pub async fn release_change(&self, change: &ChangeKey, owner: &str) -> anyhow::Result<()> {
        let key = LeaseKey::Change(as_i64(change.number)?);
        self.give_lease_back(change.forge, &change.repo, key, owner)
            .await
            .context("cannot release a change")
    }

    /// Takes the lease on `key`; see [`Store::lease_change`].
    pub(super) async fn take_lease(
        &self,
        forge: Forge,
        repo: &RepoName,
        key: LeaseKey<'_>,
        owner: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        let now = to_millis(now);
        let (table, column) = key.table();
        let sql = format!(
            "INSERT INTO {table} (forge, repo, {column}, owner, expires_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (forge, repo, {column}) DO UPDATE
                 SET owner = excluded.owner, expires_at = excluded.expires_at
                 WHERE {table}.expires_at <= $6 OR {table}.owner = excluded.owner
             RETURNING owner"
        );
        let taken: Option<String> = key
            .bind(
                sqlx::query_scalar(&sql)
                    .bind(forge.as_str())
                    .bind(repo.as_str()),
            )
            .bind(owner)
            .bind(now.saturating_add(duration_millis(lease)))
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        Ok(taken.is_some())
    }

    /// Deletes the lease on `key`, if `owner` holds it.
    pub(super) async fn give_lease_back(
        &self,
        forge: Forge,
        repo: &RepoName,
        key: LeaseKey<'_>,
        owner: &str,
    ) -> Result<(), sqlx::Error> {
        let (table, column) = key.table();
        let sql = format!(
            "DELETE FROM {table} WHERE forge = $1 AND repo = $2 AND {column} = $3 AND owner = $4"
        );
        key.bind_query(sqlx::query(&sql).bind(forge.as_str()).bind(repo.as_str()))
            .bind(owner)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// What a lease is taken on: a change, or publishing to a head commit.
#[derive(Clone, Copy, Debug)]
pub(super) enum LeaseKey<'a> {
    Change(i64),
    Head(&'a str),
}

type AnyArgs<'q> = sqlx::any::AnyArguments<'q>;

impl<'a> LeaseKey<'a> {
    /// The table of such leases and the column naming the key.
    fn table(self) -> (&'static str, &'static str) {
        match self {
            LeaseKey::Change(_) => ("change_leases", "number"),
            LeaseKey::Head(_) => ("head_leases", "head_sha"),
        }
    }

    fn bind<'q, O>(
        self,
        query: sqlx::query::QueryScalar<'q, sqlx::Any, O, AnyArgs<'q>>,
    ) -> sqlx::query::QueryScalar<'q, sqlx::Any, O, AnyArgs<'q>>
    where
        'a: 'q,
    {
        match self {
            LeaseKey::Change(number) => query.bind(number),
            LeaseKey::Head(sha) => query.bind(sha),
        }
    }

    fn bind_query<'q>(
        self,
        query: sqlx::query::Query<'q, sqlx::Any, AnyArgs<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, AnyArgs<'q>>
    where
        'a: 'q,
    {
        match self {
            LeaseKey::Change(number) => query.bind(number),
            LeaseKey::Head(sha) => query.bind(sha),
        }
    }
}
