//! Fetching a merge request for an evaluation, and turning GitLab's answer
//! into Warrant's [`Change`] at this edge.
//!
//! An evaluation reads the merge request with its commits, approvers, bot
//! flags and the policy and CODEOWNERS files at the base in one GraphQL
//! query, and its diffs on REST beside it (one request per 100 of each).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::client::{
    GitlabClient, GitlabError, decode_base64, project_path, reserved_bot_username,
};
use super::graphql::{
    BLOBS_QUERY, BlobNode, BlobsProject, COMMITS_QUERY, CommitNode, CommitPage, CommitsProject,
    MERGE_REQUEST_QUERY, MergeRequestNode, ProjectData, ProjectReply, UserNode,
};
use crate::codeowners::GITLAB_CODEOWNERS_PATHS;
use crate::engine::{Account, AccountKind, Change, ChangedFile, Commit, Forge, Person};
use crate::forge::PolicyFile;
use crate::ids::{CommitSha, Login, RepoPath};
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
    /// 3,000 files, or when GitLab's own diff limits cut the list (its
    /// `diffStatsSummary.fileCount` counts more than were listed). A path past the list could be
    /// out of scope, so the caller fails closed.
    pub files_complete: bool,
    /// Whether `change.commits` lists every commit (at most 3,000 are
    /// read): a commit past them could carry an agent's signals.
    pub commits_complete: bool,
    /// The CODEOWNERS file at the base commit, read with the policy: the
    /// first of `GITLAB_CODEOWNERS_PATHS` there, in GitLab's own order. A
    /// file that cannot be read is an error only for a policy that names
    /// `codeowners`, so it is kept as one until then.
    pub codeowners: Result<Option<PolicyFile>, String>,
    /// The policy and CODEOWNERS candidates at the head the webhook named,
    /// when they were read with the merge request.
    head_files: Option<(CommitSha, Vec<BlobNode>)>,
}

impl MergeRequestSnapshot {
    /// The first of `paths` at commit `sha`, when the files read with the
    /// merge request answer it: read at `sha`, and among the paths read.
    /// `None` when they do not, and the file must be asked for.
    pub fn file_at_head(
        &self,
        sha: &CommitSha,
        paths: &[&str],
    ) -> Option<Result<Option<PolicyFile>, GitlabError>> {
        let (at, blobs) = self.head_files.as_ref()?;
        let read = file_paths();
        if !at.matches(sha) || !paths.iter().all(|p| read.contains(p)) {
            return None;
        }
        let what = format!("commit {sha}");
        Some(first_blob(&what, blobs, paths))
    }
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

/// `GET /projects/:id/repository/files/:path`, the part Warrant reads.
#[derive(Deserialize)]
pub(crate) struct FileReply {
    pub encoding: String,
    pub content: String,
    pub blob_id: String,
}

/// The files read with the merge request: at the commit guessed to be
/// its base (that commit, when known), and at the head asked, if asked.
#[derive(Default)]
struct ReadWith {
    at: Option<CommitSha>,
    guessed: Vec<BlobNode>,
    head: Option<(CommitSha, Vec<BlobNode>)>,
}

impl GitlabClient {
    /// Fetches merge request `iid` of `project` (its full path,
    /// `group/sub/project`), with the policy at its base commit, not
    /// knowing the base: one request more than [`Self::fetch_merge_request_at`]
    /// with the right base.
    pub async fn fetch_merge_request(
        &self,
        project: &str,
        iid: u64,
    ) -> Result<MergeRequestSnapshot, GitlabError> {
        self.fetch_merge_request_at(project, iid, None, None).await
    }

    /// Fetches merge request `iid` of `project`: the merge request, its
    /// commits, approvers, bot flags and the policy and CODEOWNERS files at
    /// `base` (a guess: the last evaluation's; without one, `HEAD`, the tip
    /// of the default branch, which is the base of a merge request branched
    /// from it and not yet overtaken) in one GraphQL query, the diffs
    /// beside it on REST.
    ///
    /// When the commit guessed is not the merge request's base, the same
    /// files read at `head` (the head the webhook named) stand for the
    /// base's if the merge request is still at that head and its complete
    /// list of changes touches none of them: a file a merge request does
    /// not change is the same blob at its head as at its base. Otherwise
    /// the files are read at the real base in one more query.
    pub async fn fetch_merge_request_at(
        &self,
        project: &str,
        iid: u64,
        base: Option<&CommitSha>,
        head: Option<&CommitSha>,
    ) -> Result<MergeRequestSnapshot, GitlabError> {
        let mr_path = format!("{}/merge_requests/{iid}", project_path(project)?);
        let diffs_path = format!("{mr_path}/diffs");
        let diffs = async {
            match self
                .get_pages::<DiffReply>(&diffs_path, MAX_LIST_PAGES)
                .await
            {
                Err(e) if e.status() == Some(404) => Err(GitlabError::NotFound(format!(
                    "merge request {project}!{iid}"
                ))),
                other => other,
            }
        };
        let node = self.merge_request_node(project, iid, base, head);
        let (node, diffs) = tokio::try_join!(node, diffs)?;
        let (mr, read) = node;
        let what = format!("merge request {project}!{iid}");
        let refs = mr.diff_refs.as_ref();
        let head_sha = sha(&what, refs.and_then(|d| d.head_sha.as_deref()), "headSha")?;
        let base_sha = sha(&what, refs.and_then(|d| d.base_sha.as_deref()), "baseSha")?;
        let (diffs, listed_all) = diffs;
        let cut = mr
            .diff_stats_summary
            .as_ref()
            .is_some_and(|d| d.file_count > diffs.len());
        let files_complete = listed_all && !cut;
        let ReadWith { at, guessed, head } = read.unwrap_or_default();
        let head_files = head.filter(|(at, _)| at.matches(&head_sha));
        let at_head = head_files
            .as_ref()
            .filter(|_| files_complete && untouched(&diffs));
        let blobs = if at.as_ref().is_some_and(|at| base_sha.matches(at)) {
            guessed
        } else if let Some((_, blobs)) = at_head {
            blobs.clone()
        } else {
            self.blobs_at(project, &base_sha).await?
        };
        let (commit_nodes, commits_complete) = self.all_commits(project, iid, mr.commits).await?;
        let approvals = mr
            .approved_by
            .nodes
            .iter()
            .filter_map(account_of)
            .map(|user| Approval {
                user,
                approved_at: None,
            })
            .collect();
        let change = Change {
            forge: Forge::Gitlab,
            repository: project.to_owned(),
            number: mr.iid.parse().unwrap_or(iid),
            title: mr.title,
            body: mr.description.unwrap_or_default(),
            author: mr.author.as_ref().and_then(account_of),
            assignees: mr.assignees.nodes.iter().filter_map(account_of).collect(),
            base_sha,
            head_sha,
            // GitLab lists the newest first; a change lists them oldest
            // first, as GitHub does.
            commits: commit_nodes
                .into_iter()
                .rev()
                .map(|c| commit(&what, c))
                .collect::<Result<_, _>>()?,
            files: diffs
                .iter()
                .map(|d| file(&mr_path, d))
                .collect::<Result<_, _>>()?,
            reviews: Vec::new(),
        };
        Ok(MergeRequestSnapshot {
            change,
            approvals,
            policy: first_blob(&what, &blobs, GITLAB_POLICY_PATHS)?,
            codeowners: first_blob(&what, &blobs, GITLAB_CODEOWNERS_PATHS)
                .map_err(|e| e.to_string()),
            state: mr.state,
            draft: mr.draft,
            web_url: mr.web_url,
            source_branch: mr.source_branch,
            target_branch: mr.target_branch,
            files_complete,
            head_files,
            commits_complete,
        })
    }

    /// The `WarrantMergeRequest` query, with the files at `base` (or at
    /// `HEAD`) and the commit they were read at, when GitLab says, and
    /// the same files at `head` when the base is a guess.
    async fn merge_request_node(
        &self,
        project: &str,
        iid: u64,
        base: Option<&CommitSha>,
        head: Option<&CommitSha>,
    ) -> Result<(MergeRequestNode, Option<ReadWith>), GitlabError> {
        let vars = json!({
            "project": project,
            "iid": iid.to_string(),
            "ref": base.map_or("HEAD", |b| b.as_str()),
            "head": head.map_or("", |h| h.as_str()),
            "paths": file_paths(),
            "blobs": true,
            "atHead": head.is_some(),
        });
        let data: ProjectData<ProjectReply> = self
            .graphql("WarrantMergeRequest", MERGE_REQUEST_QUERY, vars)
            .await?;
        let not_found = || GitlabError::NotFound(format!("merge request {project}!{iid}"));
        let reply = data.project.ok_or_else(not_found)?;
        let mr = reply.merge_request.ok_or_else(not_found)?;
        let read = reply.repository.map(|r| {
            let commit = r.tree.and_then(|t| t.last_commit).map(|c| c.sha);
            // A GitLab whose tree does not say its commit: a commit guessed
            // by its id was read at that id.
            let at = commit.or_else(|| base.map(|b| b.as_str().to_owned()));
            ReadWith {
                at: at.and_then(|sha| CommitSha::parse(&sha).ok()),
                guessed: r.blobs.nodes,
                head: head.cloned().zip(r.head_blobs.map(|b| b.nodes)),
            }
        });
        Ok((mr, read))
    }

    /// The policy and CODEOWNERS candidates at `base` (`WarrantBlobs`).
    async fn blobs_at(
        &self,
        project: &str,
        base: &CommitSha,
    ) -> Result<Vec<BlobNode>, GitlabError> {
        let vars = json!({ "project": project, "ref": base.as_str(), "paths": file_paths() });
        let data: ProjectData<BlobsProject> =
            self.graphql("WarrantBlobs", BLOBS_QUERY, vars).await?;
        Ok(data
            .project
            .and_then(|p| p.repository)
            .map(|r| r.blobs.nodes)
            .unwrap_or_default())
    }

    /// The commits of the first page and every later one (`WarrantCommits`,
    /// 100 a page), up to [`MAX_LIST_PAGES`]; says whether they ended there.
    async fn all_commits(
        &self,
        project: &str,
        iid: u64,
        first: CommitPage,
    ) -> Result<(Vec<CommitNode>, bool), GitlabError> {
        let mut commits = first.nodes;
        let mut info = first.page_info;
        for _ in 1..MAX_LIST_PAGES {
            let Some(after) = info.end_cursor.filter(|_| info.has_next_page) else {
                return Ok((commits, true));
            };
            let vars = json!({ "project": project, "iid": iid.to_string(), "after": after });
            let data: ProjectData<CommitsProject> =
                self.graphql("WarrantCommits", COMMITS_QUERY, vars).await?;
            let page = data
                .project
                .and_then(|p| p.merge_request)
                .ok_or_else(|| GitlabError::NotFound(format!("merge request {project}!{iid}")))?
                .commits;
            commits.extend(page.nodes);
            info = page.page_info;
        }
        Ok((commits, !info.has_next_page))
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
}

/// A user as Warrant's account, its kind as GitLab flags it (or a
/// username GitLab reserves for bots); `None` for a username Warrant
/// cannot hold.
fn account_of(user: &UserNode) -> Option<Account> {
    let login = Login::parse(&user.username).ok()?;
    let id = user.numeric_id();
    let bot = user.bot || reserved_bot_username(&user.username);
    Some(Account {
        login,
        kind: if bot {
            AccountKind::Bot
        } else {
            AccountKind::User
        },
        id,
    })
}

/// Every candidate path read at the base: the policy's and CODEOWNERS'.
fn file_paths() -> Vec<&'static str> {
    GITLAB_POLICY_PATHS
        .iter()
        .chain(GITLAB_CODEOWNERS_PATHS)
        .copied()
        .collect()
}

/// Whether none of the changes touches a file read with the merge request
/// (the policy's and CODEOWNERS' paths), by its old path or its new one.
fn untouched(diffs: &[DiffReply]) -> bool {
    let read = file_paths();
    diffs
        .iter()
        .all(|d| !read.contains(&d.old_path.as_str()) && !read.contains(&d.new_path.as_str()))
}

/// The first of `candidates` among the blobs read, in the candidates'
/// order.
fn first_blob(
    what: &str,
    blobs: &[BlobNode],
    candidates: &[&str],
) -> Result<Option<PolicyFile>, GitlabError> {
    let Some((candidate, blob)) = candidates
        .iter()
        .find_map(|c| blobs.iter().find(|b| b.path == *c).map(|b| (c, b)))
    else {
        return Ok(None);
    };
    let text = blob
        .raw_text_blob
        .clone()
        .ok_or_else(|| GitlabError::decode(what, format!("`{candidate}` is not text")))?;
    Ok(Some(PolicyFile {
        path: repo_path(what, candidate)?,
        text,
        blob_id: blob.oid.clone(),
        truncated: false,
    }))
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

fn commit(path: &str, c: CommitNode) -> Result<Commit, GitlabError> {
    let person = |name: Option<String>, email: Option<String>| Person {
        name: name.unwrap_or_default(),
        email: email.unwrap_or_default(),
        account: None,
    };
    Ok(Commit {
        sha: CommitSha::parse(&c.sha).map_err(|e| GitlabError::decode(path, e))?,
        author: person(c.author_name, c.author_email),
        committer: person(c.committer_name, c.committer_email),
        message: c.message.unwrap_or_default(),
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
