//! GitLab webhook payloads turned into Warrant's own events, at the edge.
//!
//! [`parse`] takes the event name (`X-Gitlab-Event`) and the raw body and
//! returns a [`GitlabEvent`], or `None` for what Warrant does not act on: an
//! unknown event, or a merge request action that changes nothing Warrant
//! decides. The payloads are read through small private serde structs
//! holding only the fields Warrant uses, so GitLab adding or dropping
//! unrelated fields never breaks parsing.

use serde::{Deserialize, Serialize};

use crate::forge::push::{Push, PushCommit, push_worth_storing as worth_storing_at, read_commits};
use crate::ids::{CommitSha, RepoName};

/// The `X-Gitlab-Event` names Warrant reads; any other event is
/// acknowledged and ignored.
pub const EVENTS: &[&str] = &["Merge Request Hook", "Push Hook", "Note Hook"];

pub use crate::forge::WebhookPayloadError;

/// A GitLab webhook event Warrant acts on, in Warrant's terms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum GitlabEvent {
    MergeRequest(MergeRequestEvent),
    Push(PushEvent),
    /// An override command on a merge request (other notes are not read
    /// past the door).
    Note(NoteEvent),
}

impl GitlabEvent {
    /// Whether a worker has anything to do with this event, and so whether
    /// the delivery is worth storing: a push matters only when it lists
    /// commits on the default branch (agent commits that bypassed review, a
    /// policy changed); every merge request event that parses is evaluated
    /// or recorded.
    pub fn needs_processing(&self) -> bool {
        match self {
            GitlabEvent::MergeRequest(_) | GitlabEvent::Note(_) => true,
            GitlabEvent::Push(push) => push.push.needs_processing(),
        }
    }
}

/// What happened to a merge request, among what can change a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeRequestAction {
    Open,
    Reopen,
    /// `update` with `oldrev`: new commits were pushed to the source branch.
    NewCommits,
    /// `update` without `oldrev`: the title, description, target branch or
    /// other attributes changed.
    Update,
    /// The merge request reached its required approvals.
    Approved,
    /// It no longer has its required approvals.
    Unapproved,
    /// One approval was given.
    Approval,
    /// One approval was withdrawn.
    Unapproval,
    Merge,
    Close,
}

impl MergeRequestAction {
    /// GitLab's `object_attributes.action`; `None` for an action Warrant
    /// does not act on.
    fn from_gitlab(action: &str, has_oldrev: bool) -> Option<Self> {
        Some(match action {
            "open" => Self::Open,
            "reopen" => Self::Reopen,
            "update" if has_oldrev => Self::NewCommits,
            "update" => Self::Update,
            "approved" => Self::Approved,
            "unapproved" => Self::Unapproved,
            "approval" => Self::Approval,
            "unapproval" => Self::Unapproval,
            "merge" => Self::Merge,
            "close" => Self::Close,
            _ => return None,
        })
    }
}

/// A `Merge Request Hook` delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MergeRequestEvent {
    pub action: MergeRequestAction,
    /// The target project's full path: `group/subgroup/project`.
    pub project: RepoName,
    pub project_id: Option<u64>,
    pub default_branch: Option<String>,
    /// The merge request's number within its project (`!iid`).
    pub iid: u64,
    /// The head of the source branch.
    pub head_sha: CommitSha,
    pub source_branch: String,
    /// The branch the merge request would merge into.
    pub target_branch: String,
    /// The merge request's author, by GitLab user id (the payload names
    /// only the id).
    pub author_id: Option<u64>,
    /// Who caused the event (opened, pushed, approved, merged...).
    pub actor: Option<String>,
    pub draft: bool,
    /// The commit the merge created; only for a merged merge request.
    pub merge_commit_sha: Option<CommitSha>,
    pub title: String,
    /// The merge request's page on GitLab.
    pub url: Option<String>,
}

/// A `Note Hook` delivery: a note created on a merge request whose first
/// line is `/warrant override`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NoteEvent {
    pub project: RepoName,
    pub project_id: Option<u64>,
    pub iid: u64,
    /// The merge request's head when the note was written: the override
    /// holds for it.
    pub head_sha: CommitSha,
    pub source_branch: String,
    pub comment: crate::forge::comment::OverrideComment,
}

/// A `Push Hook` delivery to the default branch: its agent commits are
/// checked for review, and a change to the policy file is audited.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PushEvent {
    /// `group/subgroup/project`.
    pub project: RepoName,
    pub project_id: Option<u64>,
    /// GitLab lists at most 20 commits of a push (`total_commits_count`
    /// says how many there were).
    #[serde(flatten)]
    pub push: Push,
}

impl PushEvent {
    /// Whether the push changes a policy file on the default branch.
    pub fn changes_policy_on_default_branch(&self) -> bool {
        self.push
            .changes_a_policy(crate::policy::GITLAB_POLICY_PATHS)
    }
}

/// Reads a delivery. `Ok(None)` for events and actions Warrant ignores; an
/// error for a relevant event whose payload cannot be read.
pub fn parse(event: &str, payload: &[u8]) -> Result<Option<GitlabEvent>, WebhookPayloadError> {
    let parsed = match event {
        "Merge Request Hook" => merge_request(payload),
        "Push Hook" => push(payload).map(Some),
        "Note Hook" => note(payload),
        _ => Ok(None),
    };
    parsed.map_err(|source| WebhookPayloadError {
        event: event.to_owned(),
        source,
    })
}

/// Whether a delivery is worth storing, from one reading of its payload;
/// `Ok(None)` for an event Warrant does not read.
pub fn worth_storing(event: &str, payload: &[u8]) -> serde_json::Result<Option<bool>> {
    let event = match event {
        "Merge Request Hook" => merge_request(payload)?,
        "Push Hook" => return push_worth_storing(payload).map(Some),
        "Note Hook" => note(payload)?,
        _ => return Ok(None),
    };
    Ok(Some(event.is_some_and(|e| e.needs_processing())))
}

#[derive(Deserialize)]
struct Project {
    id: Option<u64>,
    path_with_namespace: RepoName,
    default_branch: Option<String>,
}

#[derive(Deserialize)]
struct User {
    username: Option<String>,
}

#[derive(Deserialize)]
struct Commit {
    id: CommitSha,
}

#[derive(Deserialize)]
struct MergeRequestAttributes {
    iid: u64,
    action: Option<String>,
    oldrev: Option<String>,
    source_branch: String,
    target_branch: String,
    author_id: Option<u64>,
    #[serde(default)]
    draft: bool,
    last_commit: Commit,
    merge_commit_sha: Option<CommitSha>,
    title: String,
    url: Option<String>,
}

#[derive(Deserialize)]
struct MergeRequestPayload {
    user: Option<User>,
    project: Project,
    object_attributes: MergeRequestAttributes,
}

fn merge_request(payload: &[u8]) -> serde_json::Result<Option<GitlabEvent>> {
    let MergeRequestPayload {
        user,
        project,
        object_attributes: mr,
    } = serde_json::from_slice(payload)?;
    let has_oldrev = mr.oldrev.as_deref().is_some_and(|rev| !rev.is_empty());
    let Some(action) = mr
        .action
        .as_deref()
        .and_then(|action| MergeRequestAction::from_gitlab(action, has_oldrev))
    else {
        return Ok(None);
    };
    Ok(Some(GitlabEvent::MergeRequest(MergeRequestEvent {
        action,
        project: project.path_with_namespace,
        project_id: project.id,
        default_branch: project.default_branch,
        iid: mr.iid,
        head_sha: mr.last_commit.id,
        source_branch: mr.source_branch,
        target_branch: mr.target_branch,
        author_id: mr.author_id,
        actor: user.and_then(|user| user.username),
        draft: mr.draft,
        merge_commit_sha: mr
            .merge_commit_sha
            .filter(|_| action == MergeRequestAction::Merge),
        title: mr.title,
        url: mr.url,
    })))
}

/// A note on a merge request whose first line is an override command;
/// `None` for any other note (on an issue, a commit, a snippet; a system
/// note; an edit; any other text).
fn note(payload: &[u8]) -> serde_json::Result<Option<GitlabEvent>> {
    use crate::forge::comment::{OverrideComment, override_reason};
    #[derive(Deserialize)]
    struct Author {
        id: Option<u64>,
        username: String,
    }
    #[derive(Deserialize)]
    struct Note {
        id: u64,
        #[serde(default)]
        note: String,
        noteable_type: String,
        #[serde(default)]
        system: bool,
        #[serde(default)]
        action: Option<String>,
        #[serde(default)]
        created_at: Option<String>,
    }
    #[derive(Deserialize)]
    struct MergeRequest {
        iid: u64,
        source_branch: String,
        last_commit: Commit,
    }
    #[derive(Deserialize)]
    struct NotePayload {
        user: Author,
        project: Project,
        object_attributes: Note,
        merge_request: Option<MergeRequest>,
    }
    let p: NotePayload = serde_json::from_slice(payload)?;
    let n = &p.object_attributes;
    let created = n.action.as_deref().is_none_or(|a| a == "create");
    let reason = override_reason(&n.note)
        .filter(|_| n.noteable_type == "MergeRequest" && !n.system && created);
    let (Some(reason), Some(mr)) = (reason, p.merge_request) else {
        return Ok(None);
    };
    let Ok(author) = crate::ids::Login::parse(&p.user.username) else {
        return Ok(None);
    };
    Ok(Some(GitlabEvent::Note(NoteEvent {
        project: p.project.path_with_namespace,
        project_id: p.project.id,
        iid: mr.iid,
        head_sha: mr.last_commit.id,
        source_branch: mr.source_branch,
        comment: OverrideComment {
            comment_id: n.id,
            author_bot: super::client::reserved_bot_username(author.as_str()),
            author,
            author_id: p.user.id,
            reason: reason.to_owned(),
            created_at: n.created_at.as_deref().and_then(gitlab_time),
        },
    })))
}

/// GitLab's webhook times: `2015-05-17 18:21:36 UTC` in older payloads,
/// RFC 3339 in newer ones.
fn gitlab_time(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S UTC")
                .ok()
                .map(|t| t.and_utc())
        })
}

#[derive(Deserialize)]
struct PushPayload {
    #[serde(rename = "ref")]
    git_ref: String,
    before: CommitSha,
    after: CommitSha,
    user_username: Option<String>,
    project: Project,
    #[serde(default)]
    commits: Vec<PushCommit>,
}

fn push(payload: &[u8]) -> serde_json::Result<GitlabEvent> {
    let push: PushPayload = serde_json::from_slice(payload)?;
    let (commits, changed_paths) = read_commits(push.commits);
    Ok(GitlabEvent::Push(PushEvent {
        project: push.project.path_with_namespace,
        project_id: push.project.id,
        push: Push {
            default_branch: push.project.default_branch.unwrap_or_default(),
            git_ref: push.git_ref,
            before: push.before,
            after: push.after,
            pusher: push.user_username,
            changed_paths,
            commits,
        },
    }))
}

/// Whether a push is worth storing, reading only its ref, the project's
/// default branch and whether it lists commits.
fn push_worth_storing(payload: &[u8]) -> serde_json::Result<bool> {
    #[derive(Deserialize)]
    struct Glance {
        #[serde(rename = "ref")]
        git_ref: String,
        project: DefaultBranch,
        #[serde(default)]
        commits: Option<Vec<serde::de::IgnoredAny>>,
    }
    #[derive(Deserialize)]
    struct DefaultBranch {
        default_branch: Option<String>,
    }
    let p: Glance = serde_json::from_slice(payload)?;
    let default_branch = p.project.default_branch.unwrap_or_default();
    Ok(worth_storing_at(
        &p.git_ref,
        p.commits.as_deref(),
        &default_branch,
    ))
}

#[cfg(test)]
#[path = "webhook_tests.rs"]
mod tests;
