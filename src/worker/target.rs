//! A change to evaluate at a head commit, as the worker addresses it on
//! its forge.

use crate::engine::Forge;
use crate::forge::github::client::InstallationId;
use crate::ids::CommitSha;

/// A delivery that names no installation: sent to a repository webhook,
/// not to the app, so Warrant cannot act as the app on it.
#[derive(Debug, thiserror::Error)]
#[error("the payload names no app installation")]
pub struct NotAnApp;

/// A change to evaluate at a head commit.
#[derive(Clone, Debug)]
pub struct Target {
    pub forge: Forge,
    /// The GitHub App installation to act as; `None` on GitLab.
    pub installation: Option<InstallationId>,
    /// `owner/name` on GitHub, the project's full path on GitLab.
    pub repo: String,
    pub number: u64,
    pub head_sha: CommitSha,
    /// The base commit, when the event names it.
    pub base_sha: Option<CommitSha>,
    /// The source branch, when the event names it: GitLab ties a commit
    /// status to the pipeline of a branch.
    pub branch: Option<String>,
}

impl Target {
    /// A GitHub pull request, as the app installation `installation_id`.
    pub(super) fn github(
        installation_id: Option<u64>,
        repo: &str,
        number: u64,
        head_sha: &CommitSha,
    ) -> Result<Target, NotAnApp> {
        let installation = installation_id.map(InstallationId).ok_or(NotAnApp)?;
        Ok(Target {
            forge: Forge::Github,
            installation: Some(installation),
            repo: repo.to_owned(),
            number,
            head_sha: head_sha.clone(),
            base_sha: None,
            branch: None,
        })
    }

    /// A GitLab merge request `!iid` of `project`, from `branch`.
    pub(super) fn gitlab(project: &str, iid: u64, head_sha: &CommitSha, branch: &str) -> Target {
        Target {
            forge: Forge::Gitlab,
            installation: None,
            repo: project.to_owned(),
            number: iid,
            head_sha: head_sha.clone(),
            base_sha: None,
            branch: Some(branch.to_owned()),
        }
    }

    pub(super) fn with_base(mut self, base: CommitSha) -> Target {
        self.base_sha = Some(base);
        self
    }

    /// One GitHub target per pull request of a check run or suite.
    pub(super) fn each(
        installation_id: Option<u64>,
        repo: &str,
        numbers: &[u64],
        head_sha: &CommitSha,
    ) -> Result<Vec<Target>, NotAnApp> {
        numbers
            .iter()
            .map(|n| Target::github(installation_id, repo, *n, head_sha))
            .collect()
    }

    /// The installation of a GitHub target.
    pub(super) fn installation(&self) -> Result<InstallationId, NotAnApp> {
        self.installation.ok_or(NotAnApp)
    }

    pub(super) fn forge_name(&self) -> &'static str {
        self.forge.as_str()
    }
}
