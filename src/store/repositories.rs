//! The forge's id of each repository (GitHub) or project (GitLab) with an
//! audit trail: access to a trail is granted by id, since a name can be
//! taken by a new repository once the old one is deleted or renamed (see
//! `docs/access.md`).

use anyhow::Context;
use chrono::{DateTime, Utc};

use super::{Store, as_i64, to_millis};
use crate::engine::Forge;
use crate::ids::RepoName;

impl Store {
    /// Records that `repo` on `forge` is the repository with id `id`,
    /// unless an id is recorded for the name already: the first is kept,
    /// because the trail under the name began with it. Returns the id
    /// recorded, which differs from `id` when the name was reused.
    pub async fn record_repository(
        &self,
        forge: Forge,
        repo: &RepoName,
        id: u64,
        seen_at: DateTime<Utc>,
    ) -> anyhow::Result<u64> {
        sqlx::query(
            "INSERT INTO repositories (forge, repo, repo_id, seen_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (forge, repo) DO NOTHING",
        )
        .bind(forge.as_str())
        .bind(repo.as_str())
        .bind(as_i64(id)?)
        .bind(to_millis(seen_at))
        .execute(&self.pool)
        .await
        .context("cannot record a repository's id")?;
        self.repository_id(forge, repo)
            .await?
            .context("the repository's id vanished as it was recorded")
    }

    /// The id recorded for `repo` on `forge`, if any.
    pub async fn repository_id(
        &self,
        forge: Forge,
        repo: &RepoName,
    ) -> anyhow::Result<Option<u64>> {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT repo_id FROM repositories WHERE forge = $1 AND repo = $2")
                .bind(forge.as_str())
                .bind(repo.as_str())
                .fetch_optional(&self.pool)
                .await
                .context("cannot read a repository's id")?;
        id.map(|id| u64::try_from(id).context("stored repository id is negative"))
            .transpose()
    }
}
