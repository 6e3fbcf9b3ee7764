//! GitHub's payload shapes, as far as Warrant reads them: small private
//! serde structs, one reader per event, each building the event from
//! [`super`]. Unrelated fields are skipped by serde, so GitHub may add or
//! drop them freely.

use serde::Deserialize;

use super::{
    CheckRunAction, CheckRunEvent, CheckSuiteEvent, CommentEvent, GithubEvent, InstallationAction,
    InstallationEvent, InstallationRepositoriesAction, InstallationRepositoriesEvent,
    MergeGroupAction, MergeGroupEvent, PingEvent, PullRequestAction, PullRequestEvent, PushEvent,
    ReviewAction, ReviewEvent, ReviewState,
};
use crate::forge::push::{Push, PushCommit, push_worth_storing as worth_storing_at, read_commits};
use crate::ids::{CommitSha, Login, RepoName};

/// The payload's `action`, if it is one of `A`'s: read before the rest so
/// that ignored actions, whose payloads may differ in shape, are never
/// parsed further.
pub(super) fn action<A: for<'de> Deserialize<'de>>(
    payload: &[u8],
) -> serde_json::Result<Option<A>> {
    #[derive(Deserialize)]
    struct Action {
        action: String,
    }
    let Action { action } = serde_json::from_slice(payload)?;
    Ok(serde_json::from_value(serde_json::Value::String(action)).ok())
}

#[derive(Deserialize)]
struct Installation {
    id: u64,
    #[serde(default)]
    account: Option<Account>,
}

#[derive(Deserialize)]
struct Account {
    login: String,
}

#[derive(Deserialize)]
struct Repository {
    full_name: RepoName,
    #[serde(default)]
    default_branch: Option<String>,
}

impl Repository {
    /// GitHub always sends the default branch on repository payloads; if it
    /// ever did not, `main` is the least surprising guess and only affects
    /// whether a push is audited.
    fn default_branch(&self) -> String {
        self.default_branch.clone().unwrap_or_else(|| "main".into())
    }
}

/// A repository as listed in installation payloads.
#[derive(Deserialize)]
struct ListedRepository {
    full_name: String,
}

fn names(repositories: Option<Vec<ListedRepository>>) -> Vec<String> {
    repositories
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.full_name)
        .collect()
}

#[derive(Deserialize)]
struct User {
    login: Login,
}

#[derive(Deserialize)]
struct GitRef {
    #[serde(rename = "ref")]
    name: String,
    sha: CommitSha,
}

#[derive(Deserialize)]
struct PullRequest {
    number: u64,
    user: Option<User>,
    #[serde(default)]
    draft: bool,
    head: GitRef,
    base: GitRef,
    #[serde(default)]
    merged: Option<bool>,
    merge_commit_sha: Option<CommitSha>,
    /// Absent from some older payloads.
    #[serde(default)]
    commits: Option<u64>,
    /// Who merged it.
    #[serde(default)]
    merged_by: Option<User>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    updated_at: Option<chrono::DateTime<chrono::Utc>>,
}

pub(super) fn pull_request(
    action: PullRequestAction,
    payload: &[u8],
) -> serde_json::Result<GithubEvent> {
    #[derive(Deserialize)]
    struct Payload {
        installation: Option<Installation>,
        repository: Repository,
        pull_request: PullRequest,
    }
    let p: Payload = serde_json::from_slice(payload)?;
    let pr = p.pull_request;
    let merged = pr.merged.unwrap_or(false);
    Ok(GithubEvent::PullRequest(PullRequestEvent {
        action,
        installation_id: p.installation.map(|i| i.id),
        default_branch: p.repository.default_branch(),
        repo: p.repository.full_name,
        number: pr.number,
        author: pr.user.map(|u| u.login),
        draft: pr.draft,
        head_sha: pr.head.sha,
        base_sha: pr.base.sha,
        base_ref: pr.base.name,
        merged,
        merge_commit_sha: pr.merge_commit_sha.filter(|_| merged),
        commits: pr.commits,
        merged_by: pr.merged_by.map(|u| u.login),
        title: pr.title,
        html_url: pr.html_url,
        updated_at: pr.updated_at,
    }))
}

pub(super) fn review(action: ReviewAction, payload: &[u8]) -> serde_json::Result<GithubEvent> {
    #[derive(Deserialize)]
    struct Review {
        id: u64,
        user: Option<User>,
        state: ReviewState,
        commit_id: Option<CommitSha>,
    }
    #[derive(Deserialize)]
    struct Payload {
        installation: Option<Installation>,
        repository: Repository,
        pull_request: PullRequest,
        review: Review,
    }
    let p: Payload = serde_json::from_slice(payload)?;
    Ok(GithubEvent::Review(ReviewEvent {
        action,
        installation_id: p.installation.map(|i| i.id),
        repo: p.repository.full_name,
        number: p.pull_request.number,
        head_sha: p.pull_request.head.sha,
        base_sha: p.pull_request.base.sha,
        review_id: p.review.id,
        reviewer: p.review.user.map(|u| u.login),
        state: p.review.state,
        commit_id: p.review.commit_id,
    }))
}

/// A pull request as listed on a check run or suite: only its number is
/// used, the rest is looked up through the API when evaluating.
#[derive(Deserialize)]
struct ListedPullRequest {
    number: u64,
}

#[derive(Deserialize)]
struct App {
    id: u64,
}

pub(super) fn check_run(payload: &[u8]) -> serde_json::Result<Option<GithubEvent>> {
    #[derive(Deserialize)]
    struct CheckRun {
        id: u64,
        name: String,
        head_sha: CommitSha,
        app: Option<App>,
        #[serde(default)]
        pull_requests: Vec<ListedPullRequest>,
    }
    #[derive(Deserialize)]
    struct RequestedAction {
        identifier: String,
    }
    #[derive(Deserialize)]
    struct Payload {
        action: String,
        installation: Option<Installation>,
        repository: Repository,
        check_run: CheckRun,
        requested_action: Option<RequestedAction>,
    }
    let p: Payload = serde_json::from_slice(payload)?;
    let action = match (p.action.as_str(), p.requested_action) {
        ("rerequested", _) => CheckRunAction::Rerequested,
        ("requested_action", Some(requested)) => CheckRunAction::RequestedAction {
            identifier: requested.identifier,
        },
        ("requested_action", None) => {
            return Err(serde::de::Error::missing_field("requested_action"));
        }
        _ => return Ok(None),
    };
    let run = p.check_run;
    Ok(Some(GithubEvent::CheckRun(CheckRunEvent {
        action,
        installation_id: p.installation.map(|i| i.id),
        repo: p.repository.full_name,
        check_run_id: run.id,
        name: run.name,
        app_id: run.app.map(|a| a.id),
        head_sha: run.head_sha,
        pull_requests: run.pull_requests.into_iter().map(|pr| pr.number).collect(),
    })))
}

pub(super) fn check_suite(payload: &[u8]) -> serde_json::Result<Option<GithubEvent>> {
    #[derive(Deserialize)]
    struct CheckSuite {
        head_sha: CommitSha,
        app: Option<App>,
        #[serde(default)]
        pull_requests: Vec<ListedPullRequest>,
    }
    #[derive(Deserialize)]
    struct Payload {
        action: String,
        installation: Option<Installation>,
        repository: Repository,
        check_suite: CheckSuite,
    }
    let p: Payload = serde_json::from_slice(payload)?;
    if p.action != "rerequested" {
        return Ok(None);
    }
    let suite = p.check_suite;
    Ok(Some(GithubEvent::CheckSuite(CheckSuiteEvent {
        installation_id: p.installation.map(|i| i.id),
        repo: p.repository.full_name,
        app_id: suite.app.map(|a| a.id),
        head_sha: suite.head_sha,
        pull_requests: suite
            .pull_requests
            .into_iter()
            .map(|pr| pr.number)
            .collect(),
    })))
}

pub(super) fn push(payload: &[u8]) -> serde_json::Result<GithubEvent> {
    #[derive(Deserialize)]
    struct Pusher {
        name: String,
    }
    #[derive(Deserialize)]
    struct Payload {
        #[serde(rename = "ref")]
        git_ref: String,
        before: CommitSha,
        after: CommitSha,
        installation: Option<Installation>,
        repository: Repository,
        pusher: Option<Pusher>,
        #[serde(default)]
        commits: Option<Vec<PushCommit>>,
    }
    let p: Payload = serde_json::from_slice(payload)?;
    let (commits, changed_paths) = read_commits(p.commits.unwrap_or_default());
    Ok(GithubEvent::Push(PushEvent {
        installation_id: p.installation.map(|i| i.id),
        push: Push {
            default_branch: p.repository.default_branch(),
            git_ref: p.git_ref,
            before: p.before,
            after: p.after,
            pusher: p.pusher.map(|p| p.name),
            changed_paths,
            commits,
        },
        repo: p.repository.full_name,
    }))
}

/// Whether a push is worth storing, reading only its ref, the default
/// branch and whether it lists commits.
pub(super) fn push_worth_storing(payload: &[u8]) -> serde_json::Result<bool> {
    #[derive(Deserialize)]
    struct Payload {
        #[serde(rename = "ref")]
        git_ref: String,
        repository: Repository,
        #[serde(default)]
        commits: Option<Vec<serde::de::IgnoredAny>>,
    }
    let p: Payload = serde_json::from_slice(payload)?;
    let default_branch = p.repository.default_branch();
    Ok(worth_storing_at(
        &p.git_ref,
        p.commits.as_deref(),
        &default_branch,
    ))
}

pub(super) fn merge_group(
    action: MergeGroupAction,
    payload: &[u8],
) -> serde_json::Result<GithubEvent> {
    #[derive(Deserialize)]
    struct MergeGroup {
        head_sha: CommitSha,
        head_ref: String,
        base_sha: CommitSha,
        base_ref: String,
    }
    #[derive(Deserialize)]
    struct Payload {
        installation: Option<Installation>,
        repository: Repository,
        merge_group: MergeGroup,
        #[serde(default)]
        reason: Option<String>,
    }
    let p: Payload = serde_json::from_slice(payload)?;
    let group = p.merge_group;
    Ok(GithubEvent::MergeGroup(MergeGroupEvent {
        action,
        installation_id: p.installation.map(|i| i.id),
        repo: p.repository.full_name,
        head_sha: group.head_sha,
        head_ref: group.head_ref,
        base_sha: group.base_sha,
        base_ref: group.base_ref,
        reason: p.reason,
    }))
}

pub(super) fn installation(
    action: InstallationAction,
    payload: &[u8],
) -> serde_json::Result<GithubEvent> {
    #[derive(Deserialize)]
    struct Payload {
        installation: Installation,
        repositories: Option<Vec<ListedRepository>>,
    }
    let p: Payload = serde_json::from_slice(payload)?;
    Ok(GithubEvent::Installation(InstallationEvent {
        action,
        installation_id: p.installation.id,
        account: p.installation.account.map(|a| a.login),
        repositories: names(p.repositories),
    }))
}

pub(super) fn installation_repositories(
    action: InstallationRepositoriesAction,
    payload: &[u8],
) -> serde_json::Result<GithubEvent> {
    #[derive(Deserialize)]
    struct Payload {
        installation: Installation,
        repositories_added: Option<Vec<ListedRepository>>,
        repositories_removed: Option<Vec<ListedRepository>>,
    }
    let p: Payload = serde_json::from_slice(payload)?;
    Ok(GithubEvent::InstallationRepositories(
        InstallationRepositoriesEvent {
            action,
            installation_id: p.installation.id,
            account: p.installation.account.map(|a| a.login),
            added: names(p.repositories_added),
            removed: names(p.repositories_removed),
        },
    ))
}

pub(super) fn ping(payload: &[u8]) -> serde_json::Result<GithubEvent> {
    #[derive(Deserialize)]
    struct Hook {
        app_id: Option<u64>,
    }
    #[derive(Deserialize)]
    struct Payload {
        zen: Option<String>,
        hook_id: Option<u64>,
        hook: Option<Hook>,
    }
    let p: Payload = serde_json::from_slice(payload)?;
    Ok(GithubEvent::Ping(PingEvent {
        zen: p.zen,
        hook_id: p.hook_id,
        app_id: p.hook.and_then(|h| h.app_id),
    }))
}

/// An `issue_comment` delivery: `None` unless it is a comment created on a
/// pull request (an issue with `pull_request`) whose first line is an
/// override command; any other comment is not Warrant's.
pub(super) fn issue_comment(payload: &[u8]) -> serde_json::Result<Option<GithubEvent>> {
    use crate::forge::comment::{OverrideComment, override_reason};
    #[derive(Deserialize)]
    struct Commenter {
        login: Login,
        id: Option<u64>,
        #[serde(default, rename = "type")]
        kind: Option<String>,
    }
    #[derive(Deserialize)]
    struct Comment {
        id: u64,
        user: Option<Commenter>,
        #[serde(default)]
        body: Option<String>,
        #[serde(default)]
        created_at: Option<chrono::DateTime<chrono::Utc>>,
    }
    #[derive(Deserialize)]
    struct Issue {
        number: u64,
        #[serde(default)]
        pull_request: Option<serde::de::IgnoredAny>,
    }
    #[derive(Deserialize)]
    struct Payload {
        action: String,
        installation: Option<Installation>,
        repository: Repository,
        issue: Issue,
        comment: Comment,
    }
    let p: Payload = serde_json::from_slice(payload)?;
    let body = p.comment.body.as_deref().unwrap_or_default();
    let reason = override_reason(body).filter(|_| p.action == "created");
    let (Some(reason), Some(_), Some(user)) = (reason, p.issue.pull_request, p.comment.user) else {
        return Ok(None);
    };
    Ok(Some(GithubEvent::Comment(CommentEvent {
        installation_id: p.installation.map(|i| i.id),
        repo: p.repository.full_name,
        number: p.issue.number,
        comment: OverrideComment {
            comment_id: p.comment.id,
            author_bot: user.kind.as_deref() == Some("Bot") || user.login.has_bot_suffix(),
            author: user.login,
            author_id: user.id,
            reason: reason.to_owned(),
            created_at: p.comment.created_at,
        },
    })))
}
