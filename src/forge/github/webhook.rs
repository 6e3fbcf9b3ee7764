//! GitHub webhook payloads turned into Warrant's own events, at the edge.
//!
//! [`parse`] takes the event name (`X-GitHub-Event`) and the raw body and
//! returns a [`GithubEvent`], or `None` for what Warrant does not act on: an
//! unknown event, or an action of a known event that changes nothing Warrant
//! decides (a label added to a pull request, say). Past this module nothing
//! sees GitHub's JSON shapes.
//!
//! The payloads are read through small private serde structs holding only
//! the fields Warrant uses, so that GitHub adding or dropping unrelated
//! fields never breaks parsing. The webhook handler parses once to decide
//! whether to store a delivery; the worker parses the stored raw body again,
//! so a newer Warrant can make more of an old delivery.

mod payloads;

use serde::{Deserialize, Serialize};

use crate::forge::push::Push;
use crate::ids::{CommitSha, Login, RepoName};
use payloads::{
    action, check_run, check_suite, installation, installation_repositories, issue_comment,
    merge_group, ping, pull_request, push, push_worth_storing, review,
};

/// The events Warrant reads. Any other event is acknowledged and ignored;
/// the app manifest subscribes to exactly these.
pub const EVENTS: &[&str] = &[
    "pull_request",
    "pull_request_review",
    "check_run",
    "check_suite",
    "push",
    "merge_group",
    "installation",
    "installation_repositories",
    "ping",
    "issue_comment",
];

pub use crate::forge::WebhookPayloadError;

/// A webhook event Warrant acts on, in Warrant's terms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum GithubEvent {
    PullRequest(PullRequestEvent),
    Review(ReviewEvent),
    CheckRun(CheckRunEvent),
    CheckSuite(CheckSuiteEvent),
    Push(PushEvent),
    MergeGroup(MergeGroupEvent),
    Installation(InstallationEvent),
    InstallationRepositories(InstallationRepositoriesEvent),
    Ping(PingEvent),
    /// An override command on a pull request (other comments are not
    /// read past the door).
    Comment(CommentEvent),
}

impl GithubEvent {
    /// Whether a worker has anything to do with this event, and so whether
    /// the delivery is worth storing. A ping only checks the hook works, and
    /// a push matters only when it lists commits on the default branch
    /// (agent commits that bypassed review, a policy changed); everything
    /// else is evaluated or recorded.
    pub fn needs_processing(&self) -> bool {
        match self {
            GithubEvent::Ping(_) => false,
            GithubEvent::Push(push) => push.push.needs_processing(),
            _ => true,
        }
    }
}

/// An `issue_comment` `created` on a pull request whose first line is
/// `/warrant override`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CommentEvent {
    pub installation_id: Option<u64>,
    pub repo: RepoName,
    pub number: u64,
    pub comment: crate::forge::comment::OverrideComment,
}

/// What happened to a pull request, among what can change a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PullRequestAction {
    Opened,
    Reopened,
    /// New commits were pushed to the head branch.
    Synchronize,
    /// The title, body or base branch changed.
    Edited,
    ReadyForReview,
    /// Closed, merged or not; see [`PullRequestEvent::merged`].
    Closed,
}

/// A `pull_request` delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PullRequestEvent {
    pub action: PullRequestAction,
    /// Absent on deliveries to a plain repository webhook rather than an app.
    pub installation_id: Option<u64>,
    /// `owner/name`.
    pub repo: RepoName,
    pub default_branch: String,
    pub number: u64,
    pub author: Option<Login>,
    pub draft: bool,
    pub head_sha: CommitSha,
    pub base_sha: CommitSha,
    /// The branch the pull request would merge into.
    pub base_ref: String,
    pub merged: bool,
    /// The commit the merge created; only for a merged pull request (GitHub
    /// also fills the field with a test merge for open ones, which is
    /// dropped here so the field means one thing).
    pub merge_commit_sha: Option<CommitSha>,
    /// How many commits the pull request has, when the payload says.
    pub commits: Option<u64>,
    /// Who merged it, for a merged pull request.
    pub merged_by: Option<Login>,
    pub title: String,
    /// The pull request's page on GitHub.
    pub html_url: Option<String>,
    /// When GitHub last changed the pull request: orders the facts of
    /// deliveries that arrive out of order.
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// What happened to a review.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewAction {
    Submitted,
    Edited,
    Dismissed,
}

/// A review's verdict, as GitHub states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    #[serde(alias = "APPROVED")]
    Approved,
    #[serde(alias = "CHANGES_REQUESTED")]
    ChangesRequested,
    #[serde(alias = "COMMENTED")]
    Commented,
    #[serde(alias = "DISMISSED")]
    Dismissed,
    #[serde(alias = "PENDING")]
    Pending,
}

/// A `pull_request_review` delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReviewEvent {
    pub action: ReviewAction,
    pub installation_id: Option<u64>,
    pub repo: RepoName,
    pub number: u64,
    pub head_sha: CommitSha,
    /// The pull request's base commit when the review was given: where its
    /// policy is read, so an evaluation needs no query to find it.
    pub base_sha: CommitSha,
    pub review_id: u64,
    /// `None` when the reviewer's account was deleted.
    pub reviewer: Option<Login>,
    pub state: ReviewState,
    /// The commit the review was made on; an approval of an older commit
    /// may not count for the head.
    pub commit_id: Option<CommitSha>,
}

/// What was asked of a check run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckRunAction {
    /// "Re-run" was pressed.
    Rerequested,
    /// A button the check run offered was pressed.
    RequestedAction { identifier: String },
}

/// A `check_run` delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckRunEvent {
    pub action: CheckRunAction,
    pub installation_id: Option<u64>,
    pub repo: RepoName,
    pub check_run_id: u64,
    pub name: String,
    /// The app that owns the check run: Warrant acts only on its own.
    pub app_id: Option<u64>,
    pub head_sha: CommitSha,
    /// Open pull requests whose head is `head_sha`, in this repository.
    pub pull_requests: Vec<u64>,
}

/// A `check_suite` delivery: "Re-run all checks" was pressed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckSuiteEvent {
    pub installation_id: Option<u64>,
    pub repo: RepoName,
    pub app_id: Option<u64>,
    pub head_sha: CommitSha,
    pub pull_requests: Vec<u64>,
}

/// A `push` delivery to the default branch: its agent commits are checked
/// for review, and a change to the policy file is audited.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PushEvent {
    pub installation_id: Option<u64>,
    pub repo: RepoName,
    #[serde(flatten)]
    pub push: Push,
}

impl PushEvent {
    /// Whether the push changes a policy file on the default branch.
    pub fn changes_policy_on_default_branch(&self) -> bool {
        self.push
            .changes_a_policy(crate::policy::GITHUB_POLICY_PATHS)
    }
}

/// What happened to a merge group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeGroupAction {
    /// GitHub asks for the required checks on the group's head commit.
    ChecksRequested,
    /// The group is gone: merged, invalidated or dequeued (see
    /// [`MergeGroupEvent::reason`]).
    Destroyed,
}

/// A `merge_group` delivery: a merge queue built a commit that merges the
/// pull requests ahead in the queue, and the last one, onto the base.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MergeGroupEvent {
    pub action: MergeGroupAction,
    pub installation_id: Option<u64>,
    pub repo: RepoName,
    /// The commit GitHub asks the `warrant` check for.
    pub head_sha: CommitSha,
    /// `refs/heads/gh-readonly-queue/{base}/pr-{number}-{sha}`.
    pub head_ref: String,
    /// The tip of the base branch the group is built on: its policy
    /// decides the group.
    pub base_sha: CommitSha,
    /// `refs/heads/{base}`.
    pub base_ref: String,
    /// Why a destroyed group went: `merged`, `invalidated` or `dequeued`.
    pub reason: Option<String>,
}

impl MergeGroupEvent {
    /// The base branch's name, without `refs/heads/`.
    pub fn base_branch(&self) -> &str {
        self.base_ref
            .strip_prefix("refs/heads/")
            .unwrap_or(&self.base_ref)
    }

    /// The pull request the head ref names: the last one in the group.
    pub fn last_pull_request(&self) -> Option<u64> {
        let name = self.head_ref.rsplit('/').next()?;
        let rest = name.strip_prefix("pr-")?;
        rest.split('-').next()?.parse().ok()
    }
}

/// What happened to an installation of the app.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstallationAction {
    Created,
    Deleted,
    Suspend,
    Unsuspend,
    NewPermissionsAccepted,
}

/// An `installation` delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InstallationEvent {
    pub action: InstallationAction,
    pub installation_id: u64,
    /// The user or organisation the app is installed on.
    pub account: Option<String>,
    /// `owner/name` of each repository listed; empty when the installation
    /// covers all repositories and GitHub does not list them.
    pub repositories: Vec<String>,
}

/// Repositories added to or removed from an installation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstallationRepositoriesAction {
    Added,
    Removed,
}

/// An `installation_repositories` delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InstallationRepositoriesEvent {
    pub action: InstallationRepositoriesAction,
    pub installation_id: u64,
    pub account: Option<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// A `ping` delivery, sent when a hook or app is set up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PingEvent {
    pub zen: Option<String>,
    pub hook_id: Option<u64>,
    pub app_id: Option<u64>,
}

/// Reads a delivery. `Ok(None)` for events and actions Warrant ignores;
/// an error for a relevant event whose payload cannot be read.
pub fn parse(event: &str, payload: &[u8]) -> Result<Option<GithubEvent>, WebhookPayloadError> {
    parse_known(event, payload).map_err(|source| WebhookPayloadError {
        event: event.to_owned(),
        source,
    })
}

/// Whether a delivery is worth storing, read once and no further than
/// that takes: for most events the `action` alone decides, a `push` by its
/// ref and whether it lists commits, and only a `check_run`, a
/// `check_suite`, a `ping` or an `issue_comment` (stored only when it is an
/// override command) is read in full.
/// `Ok(None)` for an event Warrant does not read.
pub fn worth_storing(event: &str, payload: &[u8]) -> serde_json::Result<Option<bool>> {
    let relevant = match event {
        "pull_request" => action::<PullRequestAction>(payload)?.is_some(),
        "pull_request_review" => action::<ReviewAction>(payload)?.is_some(),
        "merge_group" => action::<MergeGroupAction>(payload)?.is_some(),
        "installation" => action::<InstallationAction>(payload)?.is_some(),
        "installation_repositories" => action::<InstallationRepositoriesAction>(payload)?.is_some(),
        "push" => push_worth_storing(payload)?,
        _ if EVENTS.contains(&event) => {
            parse_known(event, payload)?.is_some_and(|e| e.needs_processing())
        }
        _ => return Ok(None),
    };
    Ok(Some(relevant))
}

/// The repository a delivery is about: its `owner/name` and GitHub's id,
/// which, unlike the name, is never given to another repository. `None`
/// for a delivery about no one repository (an installation).
pub fn repository_identity(payload: &[u8]) -> Option<(RepoName, u64)> {
    #[derive(Deserialize)]
    struct Payload {
        repository: Option<Repository>,
    }
    #[derive(Deserialize)]
    struct Repository {
        full_name: RepoName,
        id: u64,
    }
    let repository = serde_json::from_slice::<Payload>(payload)
        .ok()?
        .repository?;
    Some((repository.full_name, repository.id))
}

/// Dispatches on the event name; `None` for an event Warrant ignores.
fn parse_known(event: &str, payload: &[u8]) -> serde_json::Result<Option<GithubEvent>> {
    match event {
        "pull_request" => action(payload)?
            .map(|action| pull_request(action, payload))
            .transpose(),
        "pull_request_review" => action(payload)?
            .map(|action| review(action, payload))
            .transpose(),
        "check_run" => check_run(payload),
        "check_suite" => check_suite(payload),
        "push" => push(payload).map(Some),
        "merge_group" => action(payload)?
            .map(|action| merge_group(action, payload))
            .transpose(),
        "installation" => action(payload)?
            .map(|action| installation(action, payload))
            .transpose(),
        "installation_repositories" => action(payload)?
            .map(|action| installation_repositories(action, payload))
            .transpose(),
        "ping" => ping(payload).map(Some),
        "issue_comment" => issue_comment(payload),
        _ => Ok(None),
    }
}
