//! A stateful fake GitHub, served over real HTTP on a local port, in the
//! manner of bors' test GitHub: tests (and `warrant demo`) set up
//! installations, pull requests, files and teams, point a real
//! [`GithubClient`](super::client::GithubClient) at it, and then assert on
//! what it received and what was written (check runs, dismissals).
//!
//! It answers the endpoints Warrant uses with the shapes the real API
//! returns, verifies the app's JWT with the app's public key, and can be
//! told to fail (500, 429 with `Retry-After`, 403 rate limit) to exercise
//! retries. Every request is recorded, failed ones included.

mod associations;
pub mod events;
mod graphql;
mod oauth;
mod rest;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::engine::Change;
use crate::forge::fake_server::{Fake, FakeForge, RequestLog, set_headers};

pub use crate::forge::fake_server::RecordedRequest;

/// A check run as written, with each create or update request's body.
#[derive(Clone, Debug)]
pub struct CheckRun {
    pub id: u64,
    /// The app that created it.
    pub app_id: u64,
    pub repo: String,
    pub name: String,
    pub head_sha: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub details_url: Option<String>,
    pub title: Option<String>,
    pub summary: Option<String>,
    /// All annotations, appended update after update as GitHub does.
    pub annotations: Vec<Value>,
    pub history: Vec<Value>,
}

/// A review dismissal as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dismissal {
    pub repo: String,
    pub number: u64,
    pub review_id: u64,
    pub message: String,
}

/// A comment written on a pull request's conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    pub repo: String,
    pub number: u64,
    pub body: String,
}

/// A failure to inject into the next matching requests.
#[derive(Clone, Debug)]
pub enum Fault {
    ServerError,
    /// 429 with `Retry-After` seconds.
    TooManyRequests {
        retry_after: u64,
    },
    /// 403 with `x-ratelimit-remaining: 0` and the reset epoch.
    RateLimited {
        reset_epoch: u64,
    },
}

/// A pull request: the change as Warrant will read it back, plus what
/// only GitHub shows.
#[derive(Clone, Debug)]
pub struct PullRequest {
    pub change: Change,
    pub draft: bool,
    pub base_ref: String,
    pub head_ref: String,
    /// What GitHub counts as changed, when more than it lists (over 3,000
    /// files); by default the files of the change.
    pub changed_files: Option<u64>,
    /// What GitHub counts as commits, when more than it lists (over 250);
    /// by default the commits of the change.
    pub total_commits: Option<u64>,
}

/// An entry of a merge queue: a pull request and the commit the queue
/// built for it (the base, the entries ahead and this one, merged).
#[derive(Clone, Debug)]
pub struct QueuedEntry {
    pub number: u64,
    pub head_commit: String,
}

/// Everything the fake knows and has recorded.
#[derive(Default)]
pub struct FakeState {
    pub app_id: u64,
    /// The app's slug, which names its bot (`{slug}[bot]`).
    pub app_slug: String,
    /// The app's public key (PEM), to verify JWTs.
    pub app_public_key: Option<String>,
    pub installations: Vec<u64>,
    /// How long issued installation tokens last (GitHub: one hour).
    pub token_lifetime: Option<Duration>,
    tokens: HashMap<String, (u64, DateTime<Utc>)>,
    /// Pull requests by `owner/name` and number.
    pub pulls: BTreeMap<(String, u64), PullRequest>,
    /// File contents by `owner/name`, commit and path.
    pub files: HashMap<(String, String, String), String>,
    /// Team members by `org/slug` (lowercase).
    pub teams: BTreeMap<String, Vec<String>>,
    /// Manifest codes and the app each creates.
    pub manifests: HashMap<String, Value>,
    /// The app's OAuth client and the users who sign in with it.
    pub oauth: oauth::OauthFake,
    log: RequestLog<Fault>,
    pub check_runs: Vec<CheckRun>,
    pub dismissals: Vec<Dismissal>,
    /// Comments written on pull requests' conversations.
    pub comments: Vec<Comment>,
    /// Administrators by `owner/name`.
    pub admins: HashMap<String, Vec<String>>,
    /// Commits by `owner/name` and sha: their parents' shas and message
    /// (merge commits, for the merge method).
    pub commits: HashMap<(String, String), (Vec<String>, String)>,
    /// Merged pull requests by `owner/name` and number: the commits their
    /// merge put on the base branch (a merge commit, a squash commit, or
    /// the rebased commits).
    pub merged_pulls: HashMap<(String, u64), Vec<String>>,
    /// Merge queues by `owner/name` and base branch, next to merge first.
    pub merge_queues: BTreeMap<(String, String), Vec<QueuedEntry>>,
    next_id: u64,
}

impl FakeState {
    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        4_000_000_000 + self.next_id
    }
}

pub(crate) type Shared = Arc<Mutex<FakeState>>;

/// A running fake GitHub; it stops when dropped.
pub type FakeGithub = Fake<FakeState>;

impl FakeGithub {
    /// Serves on a free local port.
    pub async fn start() -> std::io::Result<FakeGithub> {
        let state = FakeState {
            app_id: 1,
            app_slug: "warrant".to_owned(),
            token_lifetime: Some(Duration::hours(1)),
            ..Default::default()
        };
        let router = rest::router().merge(oauth::router());
        Fake::serve(state, router.merge(associations::router())).await
    }

    /// Registers the app (id and public key) and an installation.
    pub fn install_app(&self, app_id: u64, public_key_pem: &str, installation: u64) {
        let mut s = self.state();
        s.app_id = app_id;
        s.app_public_key = Some(public_key_pem.to_owned());
        s.installations.push(installation);
    }

    pub fn add_pull_request(&self, pull: PullRequest) {
        let key = (pull.change.repository.clone(), pull.change.number);
        self.state().pulls.insert(key, pull);
    }

    /// Merges pull request `number`: `landed` are the commits the merge
    /// put on the base branch (the merge or squash commit, or the rebased
    /// commits), which GitHub then associates with it.
    pub fn merge_pull(&self, repo: &str, number: u64, landed: &[&str]) {
        let landed = landed.iter().map(|l| l.to_string()).collect();
        self.state()
            .merged_pulls
            .insert((repo.to_owned(), number), landed);
    }

    /// Puts pull request `number` at the end of `branch`'s merge queue,
    /// the queue having built `head_commit` for it.
    pub fn enqueue(&self, repo: &str, branch: &str, number: u64, head_commit: &str) {
        let key = (repo.to_owned(), branch.to_owned());
        self.state()
            .merge_queues
            .entry(key)
            .or_default()
            .push(QueuedEntry {
                number,
                head_commit: head_commit.to_owned(),
            });
    }

    /// Takes pull request `number` out of `branch`'s merge queue (merged
    /// or removed).
    pub fn dequeue(&self, repo: &str, branch: &str, number: u64) {
        let key = (repo.to_owned(), branch.to_owned());
        if let Some(queue) = self.state().merge_queues.get_mut(&key) {
            queue.retain(|e| e.number != number);
        }
    }

    pub fn put_file(&self, repo: &str, commit: &str, path: &str, text: &str) {
        let key = (repo.to_owned(), commit.to_owned(), path.to_owned());
        self.state().files.insert(key, text.to_owned());
    }

    /// A file at the head of `repo`'s default branch (the commit `HEAD`),
    /// as the organisation policy is read.
    pub fn put_default_file(&self, repo: &str, path: &str, text: &str) {
        self.put_file(repo, "HEAD", path, text);
    }

    pub fn set_team(&self, team: &str, members: &[&str]) {
        let members = members.iter().map(|m| m.to_string()).collect();
        self.state().teams.insert(team.to_lowercase(), members);
    }

    /// Revokes every installation token, as reinstalling the app does.
    pub fn revoke_tokens(&self) {
        self.state().tokens.clear();
    }

    pub fn check_runs(&self) -> Vec<CheckRun> {
        self.state().check_runs.clone()
    }

    pub fn dismissals(&self) -> Vec<Dismissal> {
        self.state().dismissals.clone()
    }

    /// The comments written on pull requests, oldest first.
    pub fn comments(&self) -> Vec<Comment> {
        self.state().comments.clone()
    }
}

impl FakeForge for FakeState {
    type Fault = Fault;

    fn log(&mut self) -> &mut RequestLog<Fault> {
        &mut self.log
    }

    fn operation(body: &[u8]) -> Option<String> {
        graphql::operation_name(body)
    }

    fn fault_response(fault: Fault) -> Response {
        match fault {
            Fault::ServerError => error(StatusCode::INTERNAL_SERVER_ERROR, "Server Error"),
            Fault::TooManyRequests { retry_after } => (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", retry_after.to_string())],
                axum::Json(json!({ "message": "You have exceeded a secondary rate limit." })),
            )
                .into_response(),
            Fault::RateLimited { reset_epoch } => (
                StatusCode::FORBIDDEN,
                [
                    ("x-ratelimit-remaining", "0".to_owned()),
                    ("x-ratelimit-reset", reset_epoch.to_string()),
                ],
                axum::Json(json!({ "message": "API rate limit exceeded for installation." })),
            )
                .into_response(),
        }
    }

    /// GitHub reports the rate limit on every response; the fake's limit
    /// is 5,000 an hour, less the requests it has received.
    fn rate_limit_headers(headers: &mut HeaderMap, used: usize, path: &str) {
        let reset = (Utc::now() + Duration::hours(1)).timestamp();
        let resource = if path == "/graphql" {
            "graphql"
        } else {
            "core"
        };
        set_headers(
            headers,
            [
                ("x-ratelimit-resource", resource.to_owned()),
                ("x-ratelimit-limit", "5000".to_owned()),
                (
                    "x-ratelimit-remaining",
                    5000usize.saturating_sub(used).to_string(),
                ),
                ("x-ratelimit-reset", reset.to_string()),
            ],
        );
    }
}

/// GitHub's error body: `{"message": ..., "documentation_url": ...}`.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({
        "message": message,
        "documentation_url": "https://docs.github.com/rest",
    });
    (status, axum::Json(body)).into_response()
}
