//! Which pull requests GitHub associates with a commit: how Warrant tells
//! a push that merged a pull request from one that bypassed review,
//! whatever order the `push` and `pull_request` `closed` deliveries arrive
//! in (GitHub records the merge before it sends either).

use reqwest::Method;
use serde::Deserialize;

use super::client::{GithubClient, GithubError, InstallationId};
use crate::forge::push::AssociatedChange;
use crate::ids::CommitSha;

/// An item of `GET /repos/{o}/{r}/commits/{sha}/pulls`, in part.
#[derive(Debug, Deserialize)]
pub(crate) struct AssociatedPull {
    pub number: u64,
    /// Set once merged; a closed pull request that was not merged has none.
    #[serde(default)]
    pub merged_at: Option<String>,
}

impl From<AssociatedPull> for AssociatedChange {
    fn from(pull: AssociatedPull) -> Self {
        AssociatedChange {
            number: pull.number,
            merged: pull.merged_at.is_some(),
        }
    }
}

/// Associated pull requests read at most: the merged one that brought a
/// commit to the default branch is listed first, and a commit in more
/// than a page of pull requests is not worth a second request.
const PER_PAGE: u32 = 100;

impl GithubClient {
    /// The pull requests associated with commit `sha` of `repo` (for a
    /// commit on the default branch, the merged one that brought it
    /// there); one request, retried as every read is. A commit GitHub does
    /// not know has none.
    pub async fn pulls_of_commit(
        &self,
        installation: InstallationId,
        repo: &str,
        sha: &CommitSha,
    ) -> Result<Vec<AssociatedChange>, GithubError> {
        let path = format!(
            "/repos/{repo}/commits/{}/pulls?per_page={PER_PAGE}",
            sha.as_str()
        );
        let reply: Result<Vec<AssociatedPull>, _> =
            self.rest(installation, Method::GET, &path, None).await;
        match reply {
            Ok(pulls) => Ok(pulls.into_iter().map(AssociatedChange::from).collect()),
            Err(e) if matches!(e.status(), Some(404 | 422)) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }
}
