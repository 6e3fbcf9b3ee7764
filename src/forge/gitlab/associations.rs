//! Which merge requests GitLab associates with a commit: how Warrant tells
//! a push that merged a merge request from one that bypassed review,
//! whatever order the Push Hook and the Merge Request Hook arrive in
//! (GitLab records the merge before it sends either).

use serde::Deserialize;

use super::client::{GitlabClient, GitlabError, project_path};
use crate::forge::push::AssociatedChange;
use crate::ids::CommitSha;

/// An item of `GET /projects/:id/repository/commits/:sha/merge_requests`,
/// in part.
#[derive(Debug, Deserialize)]
pub(crate) struct AssociatedMergeRequest {
    pub iid: u64,
    /// `opened`, `closed`, `locked` or `merged`.
    pub state: String,
}

impl From<AssociatedMergeRequest> for AssociatedChange {
    fn from(mr: AssociatedMergeRequest) -> Self {
        AssociatedChange {
            number: mr.iid,
            merged: mr.state == "merged",
        }
    }
}

impl GitlabClient {
    /// The merge requests associated with commit `sha` of `project` (one
    /// of their commits, their merge or squash commit); one request,
    /// retried as every read is. A commit GitLab does not know has none.
    pub async fn merge_requests_of_commit(
        &self,
        project: &str,
        sha: &CommitSha,
    ) -> Result<Vec<AssociatedChange>, GitlabError> {
        let path = format!(
            "{}/repository/commits/{}/merge_requests",
            project_path(project)?,
            sha.as_str()
        );
        match self.get::<Vec<AssociatedMergeRequest>>(&path).await {
            Ok(mrs) => Ok(mrs.into_iter().map(AssociatedChange::from).collect()),
            Err(e) if e.status() == Some(404) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }
}
