//! Fetching a merge request for an evaluation, and turning GitLab's answer
//! into Warrant's [`Change`] at this edge.
//!
//! An evaluation reads the merge request, its diffs and commits (one
//! request per 100 of each), its approvals, each new user's bot flag (once
//! per process), and the policy file at the base commit.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::client::{GitlabClient, GitlabError, UserRef, decode_base64, project_path};
use crate::codeowners::GITLAB_CODEOWNERS_PATHS;
use crate::engine::{Account, Change, ChangedFile, Commit, Forge, Person};
use crate::forge::PolicyFile;
use crate::ids::{CommitSha, RepoPath};
use crate::policy::GITLAB_POLICY_PATHS;

/// Pages of diffs or commits read at most: 3,000 of each, as many files as
/// GitHub lists. A merge request with more is marked incomplete (and the
/// caller fails closed) rather than read without end.
const MAX_LIST_PAGES: usize = 30;

/// An approval of the merge request, as GitLab lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approval {
    pub user: Account,
    /// When it was given; only newer GitLab versions say.
    pub approved_at: Option<DateTime<Utc>>,
}

/// What an evaluation reads about a merge request.
#[derive(Clone, Debug)]
pub struct MergeRequestSnapshot {
    /// The change; its `reviews` are left empty for the caller to fill from
    /// `approvals`.
    pub change: Change,
    pub approvals: Vec<Approval>,
    /// The policy file at the base commit: the first of
    /// `GITLAB_POLICY_PATHS` that exists; `None` when none does.
    pub policy: Option<PolicyFile>,
    /// `opened`, `closed`, `locked` or `merged`.
    pub state: String,
    pub draft: bool,
    pub web_url: Option<String>,
    pub source_branch: String,
    pub target_branch: String,
    /// Whether `change.files` lists every changed file: false past
    /// 3,000 files, or when GitLab's own diff limits cut the list
    /// (`changes_count` such as `"1000+"`). A path past the list could be
    /// out of scope, so the caller fails closed.
    pub files_complete: bool,
    /// Whether `change.commits` lists every commit (at most 3,000 are
    /// read): a commit past them could carry an agent's signals.
    pub commits_complete: bool,
}

/// `GET /projects/:id/merge_requests/:iid`, the part Warrant reads.
#[derive(Deserialize)]
pub(crate) struct MergeRequestReply {
    pub iid: u64,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    pub state: String,
    #[serde(default)]
    pub draft: bool,
    pub author: UserRef,
    #[serde(default)]
    pub assignees: Vec<UserRef>,
    /// The head of the source branch; `null` while GitLab prepares a new
    /// merge request.
    pub sha: Option<String>,
    pub diff_refs: Option<DiffRefs>,
    pub source_branch: String,
    pub target_branch: String,
    #[serde(default)]
    pub web_url: Option<String>,
    /// How many files changed, as a string: `"1000+"` when GitLab's diff
    /// limits cut the list.
    #[serde(default)]
    pub changes_count: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct DiffRefs {
    pub base_sha: Option<String>,
}

/// An item of `GET .../merge_requests/:iid/diffs`.
#[derive(Deserialize)]
pub(crate) struct DiffReply {
    pub old_path: String,
    pub new_path: String,
    #[serde(default)]
    pub renamed_file: bool,
    #[serde(default)]
    pub deleted_file: bool,
}

/// An item of `GET .../merge_requests/:iid/commits`.
#[derive(Deserialize)]
pub(crate) struct CommitReply {
    pub id: String,
    #[serde(default)]
    pub author_name: Option<String>,
    #[serde(default)]
    pub author_email: Option<String>,
    #[serde(default)]
    pub committer_name: Option<String>,
    #[serde(default)]
    pub committer_email: Option<String>,
    /// The full message, trailers included.
    #[serde(default)]
    pub message: String,
}

/// `GET .../merge_requests/:iid/approvals`, the part Warrant reads.
#[derive(Deserialize)]
pub(crate) struct ApprovalsReply {
    #[serde(default)]
    pub approved_by: Vec<ApprovedBy>,
}

#[derive(Deserialize)]
pub(crate) struct ApprovedBy {
    pub user: UserRef,
    #[serde(default)]
    pub approved_at: Option<DateTime<Utc>>,
}

/// `GET /projects/:id/repository/files/:path`, the part Warrant reads.
#[derive(Deserialize)]
pub(crate) struct FileReply {
    pub encoding: String,
    pub content: String,
    pub blob_id: String,
}

/// What is read about a merge request once its base is known.
struct Lists {
    diffs: Vec<DiffReply>,
    /// Whether the diffs ended within the pages read.
    files_complete: bool,
    commits: Vec<CommitReply>,
    commits_complete: bool,
    approvals: ApprovalsReply,
    policy: Option<PolicyFile>,
}

impl GitlabClient {
    /// Fetches merge request `iid` of `project` (its full path,
    /// `group/sub/project`), with the policy at its base commit.
    pub async fn fetch_merge_request(
        &self,
        project: &str,
        iid: u64,
    ) -> Result<MergeRequestSnapshot, GitlabError> {
        let mr_path = format!("{}/merge_requests/{iid}", project_path(project)?);
        let mr: MergeRequestReply = match self.get(&mr_path).await {
            Err(e) if e.status() == Some(404) => {
                return Err(GitlabError::NotFound(format!(
                    "merge request {project}!{iid}"
                )));
            }
            other => other?,
        };
        let head_sha = sha(&mr_path, mr.sha.as_deref(), "sha")?;
        let base = mr.diff_refs.as_ref().and_then(|d| d.base_sha.as_deref());
        let base_sha = sha(&mr_path, base, "diff_refs.base_sha")?;
        let read = self.read_lists(project, &mr_path, &base_sha).await?;
        let files_complete = read.files_complete && !cut_by_diff_limits(&mr, read.diffs.len());
        let change = Change {
            forge: Forge::Gitlab,
            repository: project.to_owned(),
            number: mr.iid,
            title: mr.title.clone(),
            body: mr.description.clone().unwrap_or_default(),
            author: self.account(&mr.author).await?,
            assignees: self.accounts(&mr.assignees).await?,
            base_sha,
            head_sha,
            commits: read
                .commits
                .into_iter()
                .map(|c| commit(&mr_path, c))
                .collect::<Result<_, _>>()?,
            files: read
                .diffs
                .iter()
                .map(|d| file(&mr_path, d))
                .collect::<Result<_, _>>()?,
            reviews: Vec::new(),
        };
        Ok(MergeRequestSnapshot {
            change,
            approvals: self.approvals(read.approvals).await?,
            policy: read.policy,
            state: mr.state,
            draft: mr.draft,
            web_url: mr.web_url,
            source_branch: mr.source_branch,
            target_branch: mr.target_branch,
            files_complete,
            commits_complete: read.commits_complete,
        })
    }

    /// The diffs, commits, approvals and policy: independent reads, made
    /// together to shorten the evaluation. Commits come oldest first.
    async fn read_lists(
        &self,
        project: &str,
        mr_path: &str,
        base_sha: &CommitSha,
    ) -> Result<Lists, GitlabError> {
        let diffs_path = format!("{mr_path}/diffs");
        let commits_path = format!("{mr_path}/commits");
        let approvals_path = format!("{mr_path}/approvals");
        let (diffs, commits, approvals, policy) = tokio::try_join!(
            self.get_pages::<DiffReply>(&diffs_path, MAX_LIST_PAGES),
            self.get_pages::<CommitReply>(&commits_path, MAX_LIST_PAGES),
            self.get::<ApprovalsReply>(&approvals_path),
            self.policy_at(project, base_sha),
        )?;
        let (mut commit_list, commits_complete) = commits;
        // GitLab lists the newest first; a change lists them oldest first,
        // as GitHub does.
        commit_list.reverse();
        Ok(Lists {
            diffs: diffs.0,
            files_complete: diffs.1,
            commits: commit_list,
            commits_complete,
            approvals,
            policy,
        })
    }

    /// The policy file at `sha`: the first of `GITLAB_POLICY_PATHS` that
    /// exists there (one request per path tried), `None` when none does.
    pub async fn policy_at(
        &self,
        project: &str,
        sha: &CommitSha,
    ) -> Result<Option<PolicyFile>, GitlabError> {
        self.first_file_at(project, sha.as_str(), GITLAB_POLICY_PATHS)
            .await
    }

    /// The first of `paths` that exists at `git_ref` (a commit, a branch,
    /// or `HEAD` for the head of the default branch), one request per path
    /// tried; `None` when none does.
    pub async fn file_at(
        &self,
        project: &str,
        git_ref: &str,
        paths: &[&str],
    ) -> Result<Option<PolicyFile>, GitlabError> {
        self.first_file_at(project, git_ref, paths).await
    }

    /// The CODEOWNERS file at `sha`: the first of
    /// `GITLAB_CODEOWNERS_PATHS` there, in GitLab's own order (one request
    /// per path tried). Read only for a policy that names `codeowners`.
    pub async fn codeowners_at(
        &self,
        project: &str,
        sha: &CommitSha,
    ) -> Result<Option<PolicyFile>, GitlabError> {
        self.first_file_at(project, sha.as_str(), GITLAB_CODEOWNERS_PATHS)
            .await
    }

    async fn first_file_at(
        &self,
        project: &str,
        git_ref: &str,
        candidates: &[&str],
    ) -> Result<Option<PolicyFile>, GitlabError> {
        let project_root = project_path(project)?;
        for candidate in candidates {
            let path = format!(
                "{project_root}/repository/files/{}?ref={}",
                crate::urls::encode(candidate),
                crate::urls::encode(git_ref)
            );
            let reply: FileReply = match self.get(&path).await {
                Err(e) if e.status() == Some(404) => continue,
                other => other?,
            };
            return Ok(Some(policy_file(&path, candidate, reply)?));
        }
        Ok(None)
    }

    async fn accounts(&self, users: &[UserRef]) -> Result<Vec<Account>, GitlabError> {
        let mut accounts = Vec::with_capacity(users.len());
        for user in users {
            accounts.extend(self.account(user).await?);
        }
        Ok(accounts)
    }

    async fn approvals(&self, reply: ApprovalsReply) -> Result<Vec<Approval>, GitlabError> {
        let mut approvals = Vec::with_capacity(reply.approved_by.len());
        for by in reply.approved_by {
            if let Some(user) = self.account(&by.user).await? {
                approvals.push(Approval {
                    user,
                    approved_at: by.approved_at,
                });
            }
        }
        Ok(approvals)
    }
}

/// Whether GitLab's diff limits kept files out of the list: `changes_count`
/// ends in `+`, or counts more than were listed.
fn cut_by_diff_limits(mr: &MergeRequestReply, listed: usize) -> bool {
    let Some(count) = mr.changes_count.as_deref() else {
        return false;
    };
    count.ends_with('+') || count.parse::<usize>().is_ok_and(|n| n > listed)
}

fn sha(path: &str, value: Option<&str>, field: &str) -> Result<CommitSha, GitlabError> {
    let value = value.ok_or_else(|| {
        GitlabError::decode(
            path,
            format!("no `{field}`: GitLab has not prepared the merge request's diff yet"),
        )
    })?;
    CommitSha::parse(value).map_err(|e| GitlabError::decode(path, e))
}

fn repo_path(path: &str, value: &str) -> Result<RepoPath, GitlabError> {
    RepoPath::parse(value).map_err(|e| GitlabError::decode(path, e))
}

/// A diff as a changed file. A renamed file touches its old path too; a
/// deleted file is listed under its old path (GitLab repeats it as
/// `new_path`).
fn file(path: &str, d: &DiffReply) -> Result<ChangedFile, GitlabError> {
    let (current, previous) = if d.deleted_file {
        (&d.old_path, None)
    } else if d.renamed_file || d.old_path != d.new_path {
        (&d.new_path, Some(&d.old_path))
    } else {
        (&d.new_path, None)
    };
    Ok(ChangedFile {
        path: repo_path(path, current)?,
        previous_path: previous.map(|p| repo_path(path, p)).transpose()?,
    })
}

fn commit(path: &str, c: CommitReply) -> Result<Commit, GitlabError> {
    let person = |name: Option<String>, email: Option<String>| Person {
        name: name.unwrap_or_default(),
        email: email.unwrap_or_default(),
        account: None,
    };
    Ok(Commit {
        sha: CommitSha::parse(&c.id).map_err(|e| GitlabError::decode(path, e))?,
        author: person(c.author_name, c.author_email),
        committer: person(c.committer_name, c.committer_email),
        message: c.message,
    })
}

fn policy_file(path: &str, candidate: &str, reply: FileReply) -> Result<PolicyFile, GitlabError> {
    let bytes = match reply.encoding.as_str() {
        "base64" => decode_base64(&reply.content)
            .ok_or_else(|| GitlabError::decode(path, "the file's content is not base64"))?,
        "text" => reply.content.into_bytes(),
        other => {
            return Err(GitlabError::decode(
                path,
                format!("unknown encoding `{other}`"),
            ));
        }
    };
    let text = String::from_utf8(bytes)
        .map_err(|_| GitlabError::decode(path, format!("`{candidate}` is not UTF-8")))?;
    Ok(PolicyFile {
        path: repo_path(path, candidate)?,
        text,
        blob_id: reply.blob_id,
        truncated: false,
    })
}
