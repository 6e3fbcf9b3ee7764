//! The fake's external status checks (GitLab Ultimate): the project's
//! list, a merge request's list and the answers to them. A project the
//! fake was given no check answers 403, as GitLab below Ultimate does.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::{find, lock, not_found};
use super::{FakeCheckResponse, FakeState, FakeStatusCheck, Shared, error};

pub(super) fn router() -> Router<Shared> {
    let project = "/api/v4/projects/{project}";
    let mr = "/api/v4/projects/{project}/merge_requests/{iid}";
    Router::new()
        .route(
            &format!("{project}/external_status_checks"),
            get(project_checks),
        )
        .route(&format!("{mr}/status_checks"), get(merge_request_checks))
        .route(
            &format!("{mr}/status_check_responses"),
            post(status_check_response),
        )
}

fn forbidden() -> Response {
    error(StatusCode::FORBIDDEN, "403 Forbidden")
}

/// Whether `check` applies to a merge request into `branch`: a check on
/// no protected branch applies to every branch. The fake matches names
/// exactly (GitLab also expands a protected branch's wildcards).
fn applies(check: &FakeStatusCheck, branch: &str) -> bool {
    check.branches.is_empty() || check.branches.iter().any(|b| b == branch)
}

/// `GET /projects/:id/external_status_checks`: each check with the
/// protected branches it is scoped to.
async fn project_checks(State(state): State<Shared>, Path(project): Path<String>) -> Response {
    let s = lock(&state);
    let Some(checks) = s.status_checks.get(&project) else {
        return forbidden();
    };
    let list: Vec<Value> = checks
        .iter()
        .map(|check| {
            let branches: Vec<Value> = check
                .branches
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    json!({
                        "id": 10 + i,
                        "project_id": 1,
                        "name": name,
                        "created_at": "2026-10-12T14:04:50.787Z",
                        "updated_at": "2026-10-12T14:04:50.787Z",
                        "code_owner_approval_required": false,
                    })
                })
                .collect();
            json!({
                "id": check.id,
                "name": check.name,
                "project_id": 1,
                "external_url": "https://warrant.example.com/webhooks/gitlab/status-check",
                "hmac": false,
                "protected_branches": branches,
            })
        })
        .collect();
    Json(list).into_response()
}

/// `GET .../merge_requests/:iid/status_checks`: the checks that apply to
/// the merge request's target branch, with the latest response for its
/// head.
async fn merge_request_checks(
    State(state): State<Shared>,
    Path((project, iid)): Path<(String, u64)>,
) -> Response {
    let s = lock(&state);
    let Some(mr) = find(&s, &project, iid) else {
        return not_found();
    };
    let Some(checks) = s.status_checks.get(&project) else {
        return forbidden();
    };
    let list: Vec<Value> = checks
        .iter()
        .filter(|check| applies(check, &mr.target_branch))
        .map(|check| {
            let status = latest_response(&s, &project, iid, check.id, &mr.head_sha);
            json!({
                "id": check.id,
                "name": check.name,
                "external_url": "https://warrant.example.com/webhooks/gitlab/status-check",
                "status": status,
            })
        })
        .collect();
    Json(list).into_response()
}

fn latest_response<'s>(s: &'s FakeState, project: &str, iid: u64, id: u64, head: &str) -> &'s str {
    s.check_responses
        .iter()
        .rev()
        .find(|r| r.project == project && r.iid == iid && r.check_id == id && r.sha == head)
        .map_or("pending", |r| r.status.as_str())
}

#[derive(Deserialize)]
struct CheckResponseBody {
    sha: String,
    external_status_check_id: u64,
    status: String,
}

/// `POST .../merge_requests/:iid/status_check_responses`: the head's sha
/// and a check that applies to the merge request are required, as GitLab
/// requires them.
async fn status_check_response(
    State(state): State<Shared>,
    Path((project, iid)): Path<(String, u64)>,
    Json(body): Json<CheckResponseBody>,
) -> Response {
    let mut s = lock(&state);
    let Some((head, branch)) =
        find(&s, &project, iid).map(|mr| (mr.head_sha.clone(), mr.target_branch.clone()))
    else {
        return not_found();
    };
    let known = s.status_checks.get(&project).is_some_and(|checks| {
        checks
            .iter()
            .any(|c| c.id == body.external_status_check_id && applies(c, &branch))
    });
    if !known || body.sha != head {
        return not_found();
    }
    if !["passed", "failed", "pending"].contains(&body.status.as_str()) {
        return error(
            StatusCode::BAD_REQUEST,
            "status does not have a valid value",
        );
    }
    s.check_responses.push(FakeCheckResponse {
        project,
        iid,
        sha: body.sha.clone(),
        check_id: body.external_status_check_id,
        status: body.status.clone(),
    });
    let reply = json!({
        "id": s.check_responses.len(),
        "merge_request": { "iid": iid },
        "external_status_check": { "id": body.external_status_check_id },
        "status": body.status,
    });
    (StatusCode::CREATED, Json(reply)).into_response()
}
