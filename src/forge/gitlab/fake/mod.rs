//! A stateful fake GitLab, served over real HTTP on a local port, in the
//! manner of the fake GitHub beside it: tests set up users, merge
//! requests, files, groups and project members, point a real
//! [`GitlabClient`](super::client::GitlabClient) at it, and then assert on
//! what it received and what was written (commit statuses).
//!
//! It answers the REST v4 endpoints Warrant uses, and its GraphQL queries
//! (by operation name), with the shapes GitLab's documentation shows (compare `shared/fixtures/gitlab-api`), paginates
//! as GitLab does (`per_page` 20 by default, at most 100, `x-next-page`
//! empty on the last page), checks `PRIVATE-TOKEN`, and can be told to
//! fail (500, 502, 429 with `Retry-After`, an exhausted `RateLimit-*`) to
//! exercise retries. Every request is recorded, failed ones included.

mod api;
mod associations;
pub mod events;
mod graphql;
mod status_checks;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::json;
use sha1::{Digest, Sha1};

use crate::engine::Commit;
use crate::forge::fake_server::{Fake, FakeForge, RequestLog, set_headers};

pub use crate::forge::fake_server::RecordedRequest;

/// The token a fresh fake accepts; [`FakeGitlab::set_token`] changes it.
pub const DEFAULT_TOKEN: &str = "glpat-warrant-fake";

/// The rate limit the fake reports on every response (GitLab.com's
/// authenticated API limit is 2,000 a minute).
const RATE_LIMIT: usize = 2000;

/// A GitLab user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeUser {
    pub id: u64,
    pub username: String,
    /// Project and group access token bots, and service accounts.
    pub bot: bool,
}

/// A merge request as the fake serves it. `files` are `(path, old path)`,
/// the old path for a rename; `deleted` files are listed as GitLab lists
/// them, with the same old and new path.
#[derive(Clone, Debug, Default)]
pub struct FakeMergeRequest {
    /// The target project's full path, `group/sub/project`.
    pub project: String,
    pub iid: u64,
    pub title: String,
    pub description: String,
    pub author_id: u64,
    pub assignee_ids: Vec<u64>,
    pub head_sha: String,
    pub base_sha: String,
    pub source_branch: String,
    pub target_branch: String,
    pub files: Vec<(String, Option<String>)>,
    pub deleted: Vec<String>,
    pub commits: Vec<Commit>,
    pub web_url: Option<String>,
    pub draft: bool,
    /// `opened` when empty.
    pub state: String,
    /// The merge commit, once merged with one.
    pub merge_commit_sha: Option<String>,
    /// The squash commit, once merged squashed.
    pub squash_commit_sha: Option<String>,
    /// GitLab's `changes_count` when its diff limits cut the list
    /// (`"1000+"`); by default the number of files.
    pub changes_count: Option<String>,
}

impl FakeMergeRequest {
    /// Whether the merge request changes `path` (adds, edits, deletes or
    /// renames it, by its old path or its new one).
    pub fn changes(&self, path: &str) -> bool {
        self.files
            .iter()
            .any(|(new, old)| new == path || old.as_deref() == Some(path))
            || self.deleted.iter().any(|d| d == path)
    }
}

/// An approval: who gave it, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeApproval {
    pub user_id: u64,
    pub at: DateTime<Utc>,
}

/// A commit status as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeStatus {
    /// GitLab's id of the status; kept while a pending or running status
    /// moves on, new after a finished one.
    pub id: u64,
    pub project: String,
    pub sha: String,
    pub name: String,
    pub state: String,
    pub description: Option<String>,
    pub target_url: Option<String>,
    pub git_ref: Option<String>,
}

/// An external status check of a project.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeStatusCheck {
    pub id: u64,
    pub name: String,
    /// The protected branches it is scoped to; none is every branch.
    pub branches: Vec<String>,
}

/// A response to an external status check, as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeCheckResponse {
    pub project: String,
    pub iid: u64,
    pub sha: String,
    pub check_id: u64,
    pub status: String,
}

/// A failure to inject into the next matching requests.
#[derive(Clone, Debug)]
pub enum Fault {
    ServerError,
    BadGateway,
    /// 429 with `Retry-After` seconds.
    TooManyRequests {
        retry_after: u64,
    },
    /// 429 with `RateLimit-Remaining: 0` and `RateLimit-Reset` (an epoch),
    /// without `Retry-After`.
    RateLimited {
        reset_epoch: u64,
    },
}

/// Everything the fake knows and has recorded.
pub struct FakeState {
    /// The one token accepted in `PRIVATE-TOKEN`.
    pub token: String,
    /// Whose token it is (`GET /user`).
    pub current_user: u64,
    pub users: BTreeMap<u64, FakeUser>,
    /// Merge requests by project and iid.
    pub merge_requests: BTreeMap<(String, u64), FakeMergeRequest>,
    /// Approvals by project and iid, in the order given.
    pub approvals: BTreeMap<(String, u64), Vec<FakeApproval>>,
    /// File contents by project, commit and path.
    pub files: HashMap<(String, String, String), String>,
    /// The commit each named ref (`HEAD`, a branch) of a project is at,
    /// where a test set one: GraphQL reads files at a name through it.
    pub refs: HashMap<(String, String), String>,
    /// Group members (usernames) by full path, lowercased.
    pub groups: BTreeMap<String, Vec<String>>,
    /// Project members by project: username and access level.
    pub project_members: HashMap<String, Vec<(String, u32)>>,
    log: RequestLog<Fault>,
    pub statuses: Vec<FakeStatus>,
    /// External status checks (Ultimate) by project. A project without an
    /// entry answers as a GitLab without the feature.
    pub status_checks: HashMap<String, Vec<FakeStatusCheck>>,
    pub check_responses: Vec<FakeCheckResponse>,
    /// Notes written on merge requests (Warrant's answers to overrides).
    pub notes: Vec<FakeNote>,
    next_id: u64,
}

/// A note written on a merge request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeNote {
    pub project: String,
    pub iid: u64,
    pub body: String,
}

impl Default for FakeState {
    fn default() -> Self {
        let warrant = FakeUser {
            id: 1,
            username: "warrant".to_owned(),
            bot: true,
        };
        FakeState {
            token: DEFAULT_TOKEN.to_owned(),
            current_user: warrant.id,
            users: BTreeMap::from([(warrant.id, warrant)]),
            merge_requests: BTreeMap::new(),
            approvals: BTreeMap::new(),
            files: HashMap::new(),
            refs: HashMap::new(),
            groups: BTreeMap::new(),
            project_members: HashMap::new(),
            log: RequestLog::default(),
            statuses: Vec::new(),
            status_checks: HashMap::new(),
            check_responses: Vec::new(),
            notes: Vec::new(),
            next_id: 0,
        }
    }
}

impl FakeState {
    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        900_000 + self.next_id
    }

    /// A user by id; an unknown id reads as `user<id>`, a plain user.
    pub fn user(&self, id: u64) -> FakeUser {
        self.users.get(&id).cloned().unwrap_or_else(|| FakeUser {
            id,
            username: format!("user{id}"),
            bot: false,
        })
    }
}

pub(crate) type Shared = Arc<Mutex<FakeState>>;

/// A running fake GitLab; it stops when dropped.
pub type FakeGitlab = Fake<FakeState>;

impl FakeGitlab {
    /// Serves on a free local port.
    pub async fn start() -> std::io::Result<FakeGitlab> {
        let router = api::router()
            .merge(graphql::router())
            .merge(status_checks::router());
        Fake::serve(FakeState::default(), router.merge(associations::router())).await
    }

    pub fn add_user(&self, id: u64, username: &str, bot: bool) {
        let user = FakeUser {
            id,
            username: username.to_owned(),
            bot,
        };
        self.state().users.insert(id, user);
    }

    pub fn add_merge_request(&self, mr: FakeMergeRequest) {
        let key = (mr.project.clone(), mr.iid);
        self.state().merge_requests.insert(key, mr);
    }

    /// Merges merge request `iid`, with a merge commit or a squash commit
    /// (both `None`: fast-forwarded, its own commits landed as they are).
    pub fn merge(&self, project: &str, iid: u64, merge_commit: Option<&str>, squash: Option<&str>) {
        let mut s = self.state();
        if let Some(mr) = s.merge_requests.get_mut(&(project.to_owned(), iid)) {
            mr.state = "merged".to_owned();
            mr.merge_commit_sha = merge_commit.map(str::to_owned);
            mr.squash_commit_sha = squash.map(str::to_owned);
        }
    }

    /// Points the ref `name` (`HEAD`, a branch) of `project` at commit
    /// `sha`.
    pub fn set_ref(&self, project: &str, name: &str, sha: &str) {
        let key = (project.to_owned(), name.to_owned());
        self.state().refs.insert(key, sha.to_owned());
    }

    pub fn put_file(&self, project: &str, sha: &str, path: &str, text: &str) {
        let key = (project.to_owned(), sha.to_owned(), path.to_owned());
        self.state().files.insert(key, text.to_owned());
    }

    /// `user_id` approves the merge request, now.
    pub fn approve(&self, project: &str, iid: u64, user_id: u64) {
        let mut s = self.state();
        let approvals = s.approvals.entry((project.to_owned(), iid)).or_default();
        approvals.retain(|a| a.user_id != user_id);
        approvals.push(FakeApproval {
            user_id,
            at: Utc::now(),
        });
    }

    pub fn unapprove(&self, project: &str, iid: u64, user_id: u64) {
        let mut s = self.state();
        if let Some(approvals) = s.approvals.get_mut(&(project.to_owned(), iid)) {
            approvals.retain(|a| a.user_id != user_id);
        }
    }

    /// The group's members, direct and inherited alike.
    pub fn set_group(&self, full_path: &str, usernames: &[&str]) {
        let members = usernames.iter().map(|u| u.to_string()).collect();
        self.state()
            .groups
            .insert(full_path.to_lowercase(), members);
    }

    /// The project's members with their access levels (40 Maintainer, 50
    /// Owner).
    pub fn set_project_members(&self, project: &str, members: &[(&str, u32)]) {
        let members = members.iter().map(|(u, l)| (u.to_string(), *l)).collect();
        self.state()
            .project_members
            .insert(project.to_owned(), members);
    }

    /// The one token accepted from now on; any other answers 401.
    pub fn set_token(&self, token: &str) {
        self.state().token = token.to_owned();
    }

    /// Gives `project` the external status check `id` named `name`, as a
    /// project on Ultimate can have.
    pub fn add_status_check(&self, project: &str, id: u64, name: &str) {
        self.add_scoped_status_check(project, id, name, &[]);
    }

    /// Gives `project` the external status check `id` named `name`, scoped
    /// to the protected `branches` (none: every branch).
    pub fn add_scoped_status_check(&self, project: &str, id: u64, name: &str, branches: &[&str]) {
        let mut s = self.state();
        let checks = s.status_checks.entry(project.to_owned()).or_default();
        checks.push(FakeStatusCheck {
            id,
            name: name.to_owned(),
            branches: branches.iter().map(|b| (*b).to_owned()).collect(),
        });
    }

    /// Every status check response written, in order.
    pub fn check_responses(&self) -> Vec<FakeCheckResponse> {
        self.state().check_responses.clone()
    }

    /// Every commit status written, in order.
    pub fn statuses(&self) -> Vec<FakeStatus> {
        self.state().statuses.clone()
    }

    /// The notes written on merge requests, oldest first.
    pub fn notes(&self) -> Vec<FakeNote> {
        self.state().notes.clone()
    }
}

/// Git's blob id of `text`: the SHA-1 of `blob <len>\0<text>`, as GitLab
/// returns it in `blob_id`.
pub fn git_blob_id(text: &str) -> String {
    let mut hasher = Sha1::new();
    hasher.update(format!("blob {}\0", text.len()).as_bytes());
    hasher.update(text.as_bytes());
    hex::encode(hasher.finalize())
}

impl FakeForge for FakeState {
    type Fault = Fault;

    const API_ROOT: &'static str = "/api/v4";

    fn log(&mut self) -> &mut RequestLog<Fault> {
        &mut self.log
    }

    /// Any token but the one accepted answers 401, in `PRIVATE-TOKEN`
    /// (REST) or `Authorization: Bearer` (GraphQL).
    fn refuse(&self, request: &Parts) -> Option<Response> {
        let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
        let token = header("private-token")
            .or_else(|| header("authorization").and_then(|v| v.strip_prefix("Bearer ")))
            .unwrap_or_default();
        (self.token != token).then(|| error(StatusCode::UNAUTHORIZED, "401 Unauthorized"))
    }

    fn operation(body: &[u8]) -> Option<String> {
        crate::forge::fake_server::graphql_operation(body)
    }

    fn fault_response(fault: Fault) -> Response {
        match fault {
            Fault::ServerError => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "500 Internal Server Error",
            ),
            Fault::BadGateway => (StatusCode::BAD_GATEWAY, "Bad Gateway").into_response(),
            Fault::TooManyRequests { retry_after } => (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    ("retry-after", retry_after.to_string()),
                    ("ratelimit-remaining", "0".to_owned()),
                ],
                "Retry later\n",
            )
                .into_response(),
            Fault::RateLimited { reset_epoch } => (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    ("ratelimit-limit", RATE_LIMIT.to_string()),
                    ("ratelimit-remaining", "0".to_owned()),
                    ("ratelimit-reset", reset_epoch.to_string()),
                ],
                "Retry later\n",
            )
                .into_response(),
        }
    }

    /// GitLab's `RateLimit-*` headers: the budget left, and when it
    /// resets (the next minute).
    fn rate_limit_headers(headers: &mut HeaderMap, used: usize, _path: &str) {
        let reset = Utc::now().timestamp() + 60;
        set_headers(
            headers,
            [
                ("ratelimit-limit", RATE_LIMIT.to_string()),
                (
                    "ratelimit-remaining",
                    RATE_LIMIT.saturating_sub(used).to_string(),
                ),
                ("ratelimit-reset", reset.to_string()),
            ],
        );
    }
}

/// GitLab's error body: `{"message": ...}`.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "message": message }))).into_response()
}
