//! The organisation policy of a change as the worker finds it: read with
//! the change, or kept in the store for every replica and read again when
//! stale.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::Worker;
use super::adapter::{Adapter, OrgPolicySource};
use crate::engine::Forge;
use crate::forge::{OrgPolicyFile, PolicyFile};
use crate::ids::{RepoName, RepoPath};
use crate::policy;
use crate::store::org_policies::OrgPolicyText;

/// How long an organisation policy read apart from the change (GitLab)
/// is trusted before it is read again. A push to the organisation's
/// repository refreshes it at once; this bounds how stale it can be when
/// that push's webhook never came (a webhook set on the projects, not the
/// group).
pub(crate) const ORG_POLICY_TTL: Duration = Duration::from_secs(5 * 60);

impl Worker {
    /// The organisation policy of a change: as read with it, or as the
    /// store keeps it for the organisation's repository (read again from
    /// the forge when it is older than [`ORG_POLICY_TTL`]).
    pub(super) async fn org_policy_of<A: Adapter>(
        &self,
        forge: &A,
        snapshot: &A::Snapshot,
    ) -> anyhow::Result<Option<OrgPolicyFile>> {
        let repo = match forge.org_policy(snapshot) {
            OrgPolicySource::Read(read) => return Ok(read),
            OrgPolicySource::At(repo) => repo,
        };
        let now = Utc::now();
        let kept = self.store.org_policy(A::FORGE, &repo).await?;
        let fresh = kept
            .filter(|k| now - k.read_at < TimeDelta::from_std(ORG_POLICY_TTL).unwrap_or_default());
        let file = match fresh {
            Some(kept) => kept.file.map(|f| PolicyFile {
                path: RepoPath::parse(&f.path).unwrap_or_else(|_| org_policy_path()),
                text: f.text,
                blob_id: f.blob_id,
                truncated: f.truncated,
            }),
            None => {
                let file = forge.read_org_policy(&repo).await?;
                self.keep_org_policy(A::FORGE, &repo, file.as_ref(), now)
                    .await?;
                file
            }
        };
        Ok(file.map(|file| OrgPolicyFile {
            repository: repo.to_string(),
            file,
        }))
    }

    /// Keeps what was read from the organisation's repository, for every
    /// replica.
    pub(super) async fn keep_org_policy(
        &self,
        forge: Forge,
        repo: &RepoName,
        file: Option<&PolicyFile>,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let text = file.map(|f| OrgPolicyText {
            path: f.path.to_string(),
            blob_id: f.blob_id.clone(),
            text: f.text.clone(),
            truncated: f.truncated,
        });
        self.store
            .record_org_policy(forge, repo, text.as_ref(), at)
            .await
    }
}

fn org_policy_path() -> RepoPath {
    RepoPath::parse(policy::ORG_POLICY_FILE).expect("a valid path")
}
