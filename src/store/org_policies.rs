//! The organisation policy as last read from each organisation's
//! repository, shared by every replica: a forge that cannot read it with
//! the change (GitLab) reads it once in a while, and again when a push
//! changes it.

use anyhow::Context;
use chrono::{DateTime, Utc};

use super::{Store, from_millis, to_millis};
use crate::engine::Forge;
use crate::ids::RepoName;

/// An organisation's repository as last read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredOrgPolicy {
    /// `None`: the repository had no `warrant-org.yml`.
    pub file: Option<OrgPolicyText>,
    pub read_at: DateTime<Utc>,
}

/// The file read: its path, blob id and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgPolicyText {
    pub path: String,
    pub blob_id: String,
    pub text: String,
    pub truncated: bool,
}

type Row = (Option<String>, Option<String>, Option<String>, i64, i64);

impl Store {
    /// What was last read from the organisation's repository `repo`, if
    /// it was ever read.
    pub async fn org_policy(
        &self,
        forge: Forge,
        repo: &RepoName,
    ) -> anyhow::Result<Option<StoredOrgPolicy>> {
        let row: Option<Row> = sqlx::query_as(
            "SELECT blob_id, path, text, truncated, read_at FROM org_policies
             WHERE forge = $1 AND repo = $2",
        )
        .bind(forge.as_str())
        .bind(repo.as_str())
        .fetch_optional(&self.pool)
        .await
        .context("cannot read the organisation policy kept")?;
        let Some((blob_id, path, text, truncated, read_at)) = row else {
            return Ok(None);
        };
        let file = match (blob_id, path, text) {
            (Some(blob_id), Some(path), Some(text)) => Some(OrgPolicyText {
                path,
                blob_id,
                text,
                truncated: truncated != 0,
            }),
            _ => None,
        };
        Ok(Some(StoredOrgPolicy {
            file,
            read_at: from_millis(read_at)?,
        }))
    }

    /// Keeps what was read from the organisation's repository `repo` at
    /// `at` (`None`: no file there), in place of what was kept.
    pub async fn record_org_policy(
        &self,
        forge: Forge,
        repo: &RepoName,
        file: Option<&OrgPolicyText>,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO org_policies (forge, repo, blob_id, path, text, truncated, read_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (forge, repo) DO UPDATE SET blob_id = excluded.blob_id,
               path = excluded.path, text = excluded.text,
               truncated = excluded.truncated, read_at = excluded.read_at",
        )
        .bind(forge.as_str())
        .bind(repo.as_str())
        .bind(file.map(|f| f.blob_id.as_str()))
        .bind(file.map(|f| f.path.as_str()))
        .bind(file.map(|f| f.text.as_str()))
        .bind(i64::from(file.is_some_and(|f| f.truncated)))
        .bind(to_millis(at))
        .execute(&self.pool)
        .await
        .context("cannot keep the organisation policy read")?;
        Ok(())
    }
}
