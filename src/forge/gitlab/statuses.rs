//! Warrant's verdict on a merge request, as a commit status on its head:
//! GitLab's counterpart of GitHub's check run. A project can require it to
//! pass before merging (external status checks, or "pipelines must
//! succeed" with the status in the pipeline).

use reqwest::Method;
use serde::Serialize;
use serde_json::json;

use super::client::{GitlabClient, GitlabError, project_path};
use crate::ids::CommitSha;

/// The status's name: one per commit, replaced on each evaluation.
pub const STATUS_NAME: &str = "warrant";

/// GitLab refuses a longer `description` (its column is 255 characters).
pub const MAX_DESCRIPTION_CHARS: usize = 255;

/// A commit status's state, as GitLab names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusState {
    Pending,
    Running,
    Success,
    Failed,
    Canceled,
}

impl StatusState {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusState::Pending => "pending",
            StatusState::Running => "running",
            StatusState::Success => "success",
            StatusState::Failed => "failed",
            StatusState::Canceled => "canceled",
        }
    }

    /// Whether GitLab considers the status finished; posting again after a
    /// finished status starts a new one.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            StatusState::Success | StatusState::Failed | StatusState::Canceled
        )
    }
}

/// A commit status to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitStatus {
    pub state: StatusState,
    /// The one-line verdict; cut to [`MAX_DESCRIPTION_CHARS`] on sending.
    pub description: String,
    /// Where the status links: the decision's page.
    pub target_url: Option<String>,
    /// The branch the status is for (the merge request's source branch);
    /// GitLab picks one when absent.
    pub git_ref: Option<String>,
}

/// `title` cut to GitLab's 255 characters on a character boundary, ending
/// with `…` when cut.
pub fn status_description(title: &str) -> String {
    if title.chars().count() <= MAX_DESCRIPTION_CHARS {
        return title.to_owned();
    }
    let mut cut: String = title.chars().take(MAX_DESCRIPTION_CHARS - 1).collect();
    cut.push('…');
    cut
}

impl GitlabClient {
    /// Writes the `warrant` status on `sha` (`POST
    /// /projects/:id/statuses/:sha`).
    ///
    /// Idempotent: GitLab answers 400 "Cannot transition status via :run
    /// from :running" when the status is already pending or running and
    /// the same state is posted again (a redelivered webhook, a retried
    /// evaluation). The status is then already what was asked, so that
    /// answer is a success.
    pub async fn set_commit_status(
        &self,
        project: &str,
        sha: &CommitSha,
        status: &CommitStatus,
    ) -> Result<(), GitlabError> {
        let path = format!("{}/statuses/{}", project_path(project)?, sha.as_str());
        let mut body = json!({
            "state": status.state.as_str(),
            "name": STATUS_NAME,
            "description": status_description(&status.description),
        });
        if let Some(url) = &status.target_url {
            body["target_url"] = json!(url);
        }
        if let Some(git_ref) = &status.git_ref {
            body["ref"] = json!(git_ref);
        }
        match self.send(Method::POST, &path, Some(&body)).await {
            Ok(_) => Ok(()),
            Err(GitlabError::Status {
                status: 400,
                message,
                ..
            }) if message.contains("Cannot transition status") => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_description_is_kept_whole() {
        assert_eq!(status_description("3 of 3 rules pass"), "3 of 3 rules pass");
        let exact = "x".repeat(MAX_DESCRIPTION_CHARS);
        assert_eq!(status_description(&exact), exact);
    }

    #[test]
    fn a_long_description_is_cut_on_a_character_boundary() {
        let long = "é".repeat(300);
        let cut = status_description(&long);
        assert_eq!(cut.chars().count(), MAX_DESCRIPTION_CHARS);
        assert!(cut.ends_with('…'));
        assert!(cut.starts_with("éé"));
    }

    #[test]
    fn states_are_spelled_as_gitlab_spells_them() {
        assert_eq!(
            serde_json::to_value(StatusState::Canceled).unwrap(),
            "canceled"
        );
        assert_eq!(StatusState::Failed.as_str(), "failed");
        assert!(!StatusState::Running.is_finished());
    }
}
