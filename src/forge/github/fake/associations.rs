//! `GET /repos/{o}/{r}/commits/{sha}/pulls`: the pull requests the fake
//! associates with a commit, as GitHub does: those with the commit among
//! their commits or as their head, and a merged one whose merge put it on
//! the base branch (its merge commit, squash commit or rebased commits,
//! [`FakeGithub::merge_pull`](super::FakeGithub::merge_pull)).

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{FakeState, PullRequest, Shared, error};

pub(super) fn router() -> Router<Shared> {
    Router::new().route(
        "/repos/{owner}/{repo}/commits/{sha}/pulls",
        get(pulls_of_commit),
    )
}

async fn pulls_of_commit(
    State(state): State<Shared>,
    Path((owner, repo, sha)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let s = state.lock().unwrap_or_else(|e| e.into_inner());
    if !super::rest::authorised(&s, &headers) {
        return error(axum::http::StatusCode::UNAUTHORIZED, "Bad credentials");
    }
    let repo = format!("{owner}/{repo}");
    let pulls: Vec<Value> = (s.pulls.iter())
        .filter(|((r, _), _)| *r == repo)
        .filter(|((_, number), pull)| associated(&s, &repo, *number, pull, &sha))
        .map(|((_, number), pull)| pull_json(&s, &repo, *number, pull))
        .collect();
    Json(pulls).into_response()
}

fn associated(s: &FakeState, repo: &str, number: u64, pull: &PullRequest, sha: &str) -> bool {
    let change = &pull.change;
    change.head_sha.as_str() == sha
        || change.commits.iter().any(|c| c.sha.as_str() == sha)
        || (s.merged_pulls.get(&(repo.to_owned(), number)))
            .is_some_and(|landed| landed.iter().any(|l| l == sha))
}

/// A pull request in the shape of `GET /repos/{o}/{r}/pulls`, in part.
fn pull_json(s: &FakeState, repo: &str, number: u64, pull: &PullRequest) -> Value {
    let landed = s.merged_pulls.get(&(repo.to_owned(), number));
    let merged = landed.is_some();
    json!({
        "number": number,
        "state": if merged { "closed" } else { "open" },
        "title": pull.change.title,
        "html_url": format!("https://github.com/{repo}/pull/{number}"),
        "merged_at": merged.then_some("2026-12-01T12:00:00Z"),
        "merge_commit_sha": landed.and_then(|l| l.last()),
        "draft": pull.draft,
        "head": { "ref": pull.head_ref, "sha": pull.change.head_sha.as_str() },
        "base": { "ref": pull.base_ref, "sha": pull.change.base_sha.as_str() },
    })
}
