//! Which recorded merge put a commit on its base branch: the local half of
//! telling a push from a merge (see `docs/alerts.md`, "How Warrant tells a
//! push from a merge"), asked before the forge.

use anyhow::Context;

use super::Store;
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
}
