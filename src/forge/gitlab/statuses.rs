//! Warrant's verdict on a merge request, as a commit status on its head:
//! GitLab's counterpart of GitHub's check run. A project can require it to
//! pass before merging (external status checks, or "pipelines must
//! succeed" with the status in the pipeline).

use std::time::Duration;

use reqwest::Method;
use serde::{Deserialize, Serialize};
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

/// Warrant's answer to GitLab's external status check named `warrant`
/// (Ultimate), for projects that enforce Warrant that way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckResponse {
    Passed,
    Failed,
    /// Waiting for a human; GitLab 16.5 and later. GitLab turns a check
    /// pending for two minutes into a failed one, which blocks the same.
    Pending,
}

impl CheckResponse {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckResponse::Passed => "passed",
            CheckResponse::Failed => "failed",
            CheckResponse::Pending => "pending",
        }
    }
}

/// How long which status check is Warrant's is remembered, per project
/// and per merge request: it is asked on every evaluation otherwise, and
/// most projects (every one below Ultimate) have none.
pub const STATUS_CHECK_TTL: Duration = Duration::from_secs(5 * 60);

/// What a project's external status checks say of Warrant's, remembered
/// per project.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ProjectCheck {
    /// No check named `warrant`, or no status checks at all (below
    /// Ultimate).
    None,
    /// A check named `warrant` on every branch: it applies to every merge
    /// request of the project.
    Everywhere(u64),
    /// A check named `warrant` scoped to protected branches: whether it
    /// applies depends on the merge request's target branch, which the
    /// merge request's own list says.
    Scoped,
}

/// One `GET /projects/:id/external_status_checks` item, the part Warrant
/// reads; the merge request's own list has no `protected_branches`.
#[derive(Deserialize)]
struct StatusCheckReply {
    id: u64,
    name: String,
    #[serde(default)]
    protected_branches: Vec<serde_json::Value>,
}

fn is_warrants(check: &StatusCheckReply) -> bool {
    check.name.eq_ignore_ascii_case(STATUS_NAME)
}

impl GitlabClient {
    /// The id of the external status check named `warrant` that applies to
    /// merge request `iid` of `project`, if any.
    ///
    /// The project's checks are read once per project
    /// (`GET /projects/:id/external_status_checks`, remembered for
    /// [`STATUS_CHECK_TTL`]): a check on every branch applies to every
    /// merge request, and no check means none. Only a check scoped to
    /// protected branches needs the merge request's own list
    /// (`GET .../merge_requests/:iid/status_checks`, remembered per merge
    /// request), which GitLab matches against its target branch. A GitLab
    /// without the feature (below Ultimate) answers 403 or 404: none.
    pub async fn warrant_status_check(
        &self,
        project: &str,
        iid: u64,
    ) -> Result<Option<u64>, GitlabError> {
        match self.project_status_check(project).await? {
            ProjectCheck::None => return Ok(None),
            ProjectCheck::Everywhere(id) => return Ok(Some(id)),
            ProjectCheck::Scoped => {}
        }
        let key = format!("{}!{iid}", project.to_lowercase());
        if let Some(known) = self.status_checks.get(&key) {
            return Ok(known);
        }
        let path = format!(
            "{}/merge_requests/{iid}/status_checks",
            project_path(project)?
        );
        let found = self
            .status_check_list(&path)
            .await?
            .into_iter()
            .find(is_warrants)
            .map(|c| c.id);
        self.status_checks.put(key, found);
        Ok(found)
    }

    /// What `project`'s external status checks say of Warrant's.
    async fn project_status_check(&self, project: &str) -> Result<ProjectCheck, GitlabError> {
        let key = project.to_lowercase();
        if let Some(known) = self.project_checks.get(&key) {
            return Ok(known);
        }
        let path = format!("{}/external_status_checks", project_path(project)?);
        let found = match self
            .status_check_list(&path)
            .await?
            .iter()
            .find(|c| is_warrants(c))
        {
            None => ProjectCheck::None,
            Some(c) if c.protected_branches.is_empty() => ProjectCheck::Everywhere(c.id),
            Some(_) => ProjectCheck::Scoped,
        };
        self.project_checks.put(key, found);
        Ok(found)
    }

    /// A list of status checks; 403 or 404 (no Ultimate) as none.
    async fn status_check_list(&self, path: &str) -> Result<Vec<StatusCheckReply>, GitlabError> {
        match self.get::<Vec<StatusCheckReply>>(path).await {
            Ok(checks) => Ok(checks),
            Err(e) if matches!(e.status(), Some(403 | 404)) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// Answers the external status check `check` of merge request `iid` for
    /// its head `sha`: `POST .../status_check_responses`. A GitLab older
    /// than 16.5 refuses `pending` (400): `failed` is sent instead, which
    /// blocks the merge the same way.
    pub async fn respond_to_status_check(
        &self,
        project: &str,
        iid: u64,
        sha: &CommitSha,
        check: u64,
        response: CheckResponse,
    ) -> Result<(), GitlabError> {
        let path = format!(
            "{}/merge_requests/{iid}/status_check_responses",
            project_path(project)?
        );
        let body = |status: CheckResponse| {
            json!({
                "sha": sha.as_str(),
                "external_status_check_id": check,
                "status": status.as_str(),
            })
        };
        match self.send(Method::POST, &path, Some(&body(response))).await {
            Err(e) if response == CheckResponse::Pending && e.status() == Some(400) => {
                let failed = body(CheckResponse::Failed);
                self.send(Method::POST, &path, Some(&failed)).await?;
                Ok(())
            }
            result => result.map(drop),
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
