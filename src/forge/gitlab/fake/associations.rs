//! `GET /projects/:id/repository/commits/:sha/merge_requests`: the merge
//! requests the fake associates with a commit, as GitLab does: those with
//! the commit among their commits or as their head, and those whose merge
//! or squash commit it is.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{FakeMergeRequest, Shared};

pub(super) fn router() -> Router<Shared> {
    Router::new().route(
        "/api/v4/projects/{project}/repository/commits/{sha}/merge_requests",
        get(merge_requests_of_commit),
    )
}

async fn merge_requests_of_commit(
    State(state): State<Shared>,
    Path((project, sha)): Path<(String, String)>,
) -> Response {
    let s = state.lock().unwrap_or_else(|e| e.into_inner());
    let mrs: Vec<Value> = (s.merge_requests.values())
        .filter(|mr| mr.project == project && associated(mr, &sha))
        .map(mr_json)
        .collect();
    Json(mrs).into_response()
}

fn associated(mr: &FakeMergeRequest, sha: &str) -> bool {
    let is = |other: &Option<String>| other.as_deref() == Some(sha);
    mr.head_sha == sha
        || mr.commits.iter().any(|c| c.sha.as_str() == sha)
        || is(&mr.merge_commit_sha)
        || is(&mr.squash_commit_sha)
}

/// A merge request in the shape of `GET /projects/:id/merge_requests/:iid`,
/// in part.
fn mr_json(mr: &FakeMergeRequest) -> Value {
    let state = if mr.state.is_empty() {
        "opened"
    } else {
        mr.state.as_str()
    };
    json!({
        "iid": mr.iid,
        "project_id": 1,
        "title": mr.title,
        "state": state,
        "sha": mr.head_sha,
        "merge_commit_sha": mr.merge_commit_sha,
        "squash_commit_sha": mr.squash_commit_sha,
        "source_branch": mr.source_branch,
        "target_branch": mr.target_branch,
        "web_url": mr.web_url,
    })
}
