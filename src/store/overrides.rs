//! Override comments (break-glass) as the worker stored them, each tied to
//! the head commit its change had when it was written (see the `overrides`
//! migration). Whether one counts is decided at each evaluation.

use anyhow::Context;

use super::{Store, as_i64, from_millis, to_millis};
use crate::engine::{Account, AccountKind, OverrideRequest};
use crate::ids::{ChangeKey, CommitSha, Login};

impl Store {
    /// Stores an override comment on `change`; a comment stored already
    /// (a retried delivery) is left as it is. Answers whether it was new.
    pub async fn record_override(
        &self,
        change: &ChangeKey,
        request: &OverrideRequest,
        delivery_id: &str,
    ) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "INSERT INTO overrides (forge, repo, number, comment_id, head_sha, author,
                 author_bot, author_id, reason, at, delivery_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (forge, repo, number, comment_id) DO NOTHING",
        )
        .bind(change.forge.as_str())
        .bind(change.repo.as_str())
        .bind(as_i64(change.number)?)
        .bind(as_i64(request.comment_id)?)
        .bind(request.head_sha.as_str())
        .bind(request.by.login.as_str())
        .bind(i64::from(request.by.kind == AccountKind::Bot))
        .bind(request.by.id.map(as_i64).transpose()?)
        .bind(&request.reason)
        .bind(to_millis(request.at))
        .bind(delivery_id)
        .execute(&self.pool)
        .await
        .context("cannot record an override")?;
        Ok(done.rows_affected() > 0)
    }

    /// The override comments on `change` at `head`, oldest first.
    pub async fn overrides_at(
        &self,
        change: &ChangeKey,
        head: &CommitSha,
    ) -> anyhow::Result<Vec<OverrideRequest>> {
        type Row = (i64, String, String, i64, Option<i64>, String, i64);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT comment_id, head_sha, author, author_bot, author_id, reason, at
             FROM overrides
             WHERE forge = $1 AND repo = $2 AND number = $3 AND head_sha = $4
             ORDER BY at, comment_id",
        )
        .bind(change.forge.as_str())
        .bind(change.repo.as_str())
        .bind(as_i64(change.number)?)
        .bind(head.as_str())
        .fetch_all(&self.pool)
        .await
        .context("cannot read the overrides")?;
        rows.into_iter()
            .map(|(comment_id, head, author, bot, id, reason, at)| {
                Ok(OverrideRequest {
                    comment_id: u64::try_from(comment_id)?,
                    by: Account {
                        login: Login::parse(&author)?,
                        kind: if bot == 1 {
                            AccountKind::Bot
                        } else {
                            AccountKind::User
                        },
                        id: id.map(u64::try_from).transpose()?,
                    },
                    reason,
                    head_sha: CommitSha::parse(&head)?,
                    at: from_millis(at)?,
                })
            })
            .collect()
    }
}
