//! Approvals as Warrant saw them given: GitLab lists a merge request's
//! approvers but not the commit each approved, so the worker records the
//! head of every approval event (see the `approvals_seen` migration).

use anyhow::Context;
use chrono::{DateTime, Utc};

use super::{Store, as_i64, from_millis, to_millis};
use crate::ids::ChangeKey;

/// An approval event: given or withdrawn, on a head commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeenApproval {
    pub approver: String,
    pub head_sha: String,
    pub approved: bool,
    pub at: DateTime<Utc>,
}

impl Store {
    /// Records that `approval.approver` approved (or withdrew an approval
    /// of) `change` at `approval.head_sha`, unless a later event of
    /// theirs is recorded already: deliveries may be processed out of
    /// order, and the latest one tells.
    pub async fn record_approval_seen(
        &self,
        change: &ChangeKey,
        approval: &SeenApproval,
    ) -> anyhow::Result<()> {
        let state = if approval.approved {
            "approved"
        } else {
            "withdrawn"
        };
        sqlx::query(
            "INSERT INTO approvals_seen (forge, repo, number, approver, head_sha, state, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (forge, repo, number, approver) DO UPDATE
             SET head_sha = excluded.head_sha, state = excluded.state, at = excluded.at
             WHERE excluded.at >= approvals_seen.at",
        )
        .bind(change.forge.as_str())
        .bind(change.repo.as_str())
        .bind(as_i64(change.number)?)
        .bind(approval.approver.to_lowercase())
        .bind(&approval.head_sha)
        .bind(state)
        .bind(to_millis(approval.at))
        .execute(&self.pool)
        .await
        .context("cannot record an approval")?;
        Ok(())
    }

    /// The latest approval event of each approver of `change`, by
    /// lower-cased login.
    pub async fn approvals_seen(&self, change: &ChangeKey) -> anyhow::Result<Vec<SeenApproval>> {
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT approver, head_sha, state, at FROM approvals_seen
             WHERE forge = $1 AND repo = $2 AND number = $3 ORDER BY approver",
        )
        .bind(change.forge.as_str())
        .bind(change.repo.as_str())
        .bind(as_i64(change.number)?)
        .fetch_all(&self.pool)
        .await
        .context("cannot read the approvals seen")?;
        rows.into_iter()
            .map(|(approver, head_sha, state, at)| {
                Ok(SeenApproval {
                    approver,
                    head_sha,
                    approved: state == "approved",
                    at: from_millis(at)?,
                })
            })
            .collect()
    }
}
