//! What workers share through the database rather than memory, so that
//! replicas and restarts agree: the teams of each repository's policies
//! (hints for the next query) and one lease per change being evaluated.

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};

use super::{Store, as_i64, duration_millis, to_millis};

impl Store {
    /// The teams named by the policies of `repo` applied since `since`, or
    /// `None` when no evaluation of `repo` ever loaded a policy.
    pub async fn policy_team_hints(
        &self,
        forge: &str,
        repo: &str,
        since: DateTime<Utc>,
    ) -> anyhow::Result<Option<Vec<String>>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT teams, seen_at FROM policy_teams WHERE forge = $1 AND repo = $2",
        )
        .bind(forge)
        .bind(repo)
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
        forge: &str,
        repo: &str,
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
        .bind(forge)
        .bind(repo)
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
        forge: &str,
        repo: &str,
        number: u64,
        owner: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let now = to_millis(now);
        let taken: Option<String> = sqlx::query_scalar(
            "INSERT INTO change_leases (forge, repo, number, owner, expires_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (forge, repo, number) DO UPDATE
                 SET owner = excluded.owner, expires_at = excluded.expires_at
                 WHERE change_leases.expires_at <= $6 OR change_leases.owner = excluded.owner
             RETURNING owner",
        )
        .bind(forge)
        .bind(repo)
        .bind(as_i64(number)?)
        .bind(owner)
        .bind(now.saturating_add(duration_millis(lease)))
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .context("cannot lease a change")?;
        Ok(taken.is_some())
    }

    /// Gives the lease on a change back, if `owner` still holds it.
    pub async fn release_change(
        &self,
        forge: &str,
        repo: &str,
        number: u64,
        owner: &str,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "DELETE FROM change_leases WHERE forge = $1 AND repo = $2 AND number = $3 AND owner = $4",
        )
        .bind(forge)
        .bind(repo)
        .bind(as_i64(number)?)
        .bind(owner)
        .execute(&self.pool)
        .await
        .context("cannot release a change")?;
        Ok(())
    }
}
