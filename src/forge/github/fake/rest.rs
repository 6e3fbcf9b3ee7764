//! The fake's REST endpoints and its authentication.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use axum::{Json, Router};
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{CheckRun, Comment, Dismissal, FakeState, Shared, error};
use crate::engine::ReviewState;
use crate::forge::github::checks::{ANNOTATIONS_PER_REQUEST, MAX_SUMMARY_CHARS};

pub(super) fn router() -> Router<Shared> {
    Router::new()
        .route("/app", get(app))
        .route("/app/installations/{id}/access_tokens", post(access_token))
        .route("/app-manifests/{code}/conversions", post(convert_manifest))
        .route(
            "/repos/{owner}/{repo}/pulls/{number}/files",
            get(pull_files),
        )
        .route("/repos/{owner}/{repo}/check-runs", post(create_check_run))
        .route(
            "/repos/{owner}/{repo}/check-runs/{id}",
            patch(update_check_run),
        )
        .route(
            "/repos/{owner}/{repo}/commits/{sha}/check-runs",
            get(list_check_runs),
        )
        .route("/repos/{owner}/{repo}/commits/{sha}", get(commit))
        .route("/repos/{owner}/{repo}/collaborators", get(collaborators))
        .route(
            "/repos/{owner}/{repo}/pulls/{number}/reviews/{id}/dismissals",
            put(dismiss_review),
        )
        .route(
            "/repos/{owner}/{repo}/issues/{number}/comments",
            post(create_comment),
        )
        .route("/graphql", post(super::graphql::answer))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "Not Found") })
}

fn lock(state: &Shared) -> std::sync::MutexGuard<'_, FakeState> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

#[derive(Deserialize)]
struct Claims {
    iat: i64,
    exp: i64,
    iss: String,
}

/// Verifies the app JWT as GitHub does: RS256 with the app's key, issued
/// by the app, not expired, and living at most 10 minutes.
fn verify_jwt(s: &FakeState, headers: &HeaderMap) -> Result<(), &'static str> {
    let jwt = bearer(headers).ok_or("A JSON web token could not be decoded")?;
    let pem = s.app_public_key.as_deref().ok_or("Integration not found")?;
    let key = DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| "Integration not found")?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_required_spec_claims(&["exp", "iat", "iss"]);
    let claims = jsonwebtoken::decode::<Claims>(jwt, &key, &validation)
        .map_err(|_| "A JSON web token could not be decoded")?
        .claims;
    let now = Utc::now().timestamp();
    if claims.iss != s.app_id.to_string() {
        return Err("Integration not found");
    }
    if claims.iat > now + 60 || claims.exp - now > 600 {
        return Err("'Expiration time' claim ('exp') is too far in the future");
    }
    Ok(())
}

/// Whether the request carries a live installation token.
pub(super) fn authorised(s: &FakeState, headers: &HeaderMap) -> bool {
    bearer(headers)
        .and_then(|t| s.tokens.get(t))
        .is_some_and(|(_, expires)| *expires > Utc::now())
}

fn unauthorised() -> Response {
    error(StatusCode::UNAUTHORIZED, "Bad credentials")
}

/// `GET /app`: the authenticated app, the part Warrant reads.
async fn app(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let s = lock(&state);
    if let Err(message) = verify_jwt(&s, &headers) {
        return error(StatusCode::UNAUTHORIZED, message);
    }
    Json(json!({ "id": s.app_id, "slug": s.app_slug, "name": s.app_slug })).into_response()
}

async fn access_token(
    State(state): State<Shared>,
    Path(id): Path<u64>,
    headers: HeaderMap,
) -> Response {
    let mut s = lock(&state);
    if let Err(message) = verify_jwt(&s, &headers) {
        return error(StatusCode::UNAUTHORIZED, message);
    }
    if !s.installations.contains(&id) {
        return error(StatusCode::NOT_FOUND, "Not Found");
    }
    let n = s.next_id();
    let token = format!("ghs_fake{n}");
    let expires_at = Utc::now() + s.token_lifetime.unwrap_or(chrono::Duration::hours(1));
    s.tokens.insert(token.clone(), (id, expires_at));
    let body = json!({
        "token": token,
        "expires_at": expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "permissions": { "checks": "write", "pull_requests": "write", "members": "read", "contents": "read", "metadata": "read" },
        "repository_selection": "all",
    });
    (StatusCode::CREATED, Json(body)).into_response()
}

async fn convert_manifest(State(state): State<Shared>, Path(code): Path<String>) -> Response {
    match lock(&state).manifests.remove(&code) {
        Some(app) => (StatusCode::CREATED, Json(app)).into_response(),
        None => error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

#[derive(Deserialize)]
struct PageQuery {
    per_page: Option<usize>,
    page: Option<usize>,
}

async fn pull_files(
    State(state): State<Shared>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let s = lock(&state);
    if !authorised(&s, &headers) {
        return unauthorised();
    }
    let Some(pull) = s.pulls.get(&(format!("{owner}/{repo}"), number)) else {
        return error(StatusCode::NOT_FOUND, "Not Found");
    };
    let per_page = q.per_page.unwrap_or(30).min(100);
    let page = q.page.unwrap_or(1).max(1);
    let files: Vec<Value> = pull
        .change
        .files
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|f| {
            let mut v = json!({
                "sha": "0000000000000000000000000000000000000000",
                "filename": f.path.as_str(),
                "status": if f.previous_path.is_some() { "renamed" } else { "modified" },
                "additions": 1, "deletions": 1, "changes": 2,
            });
            if let Some(prev) = &f.previous_path {
                v["previous_filename"] = json!(prev.as_str());
            }
            v
        })
        .collect();
    Json(files).into_response()
}

#[derive(Deserialize)]
struct CollaboratorQuery {
    permission: Option<String>,
    per_page: Option<usize>,
    page: Option<usize>,
}

/// Only administrators are known to the fake, so only
/// `permission=admin` lists anyone.
async fn collaborators(
    State(state): State<Shared>,
    Path((owner, repo)): Path<(String, String)>,
    Query(q): Query<CollaboratorQuery>,
    headers: HeaderMap,
) -> Response {
    let s = lock(&state);
    if !authorised(&s, &headers) {
        return unauthorised();
    }
    let admins = s
        .admins
        .get(&format!("{owner}/{repo}"))
        .cloned()
        .unwrap_or_default();
    let admins = if q.permission.as_deref() == Some("admin") {
        admins
    } else {
        Vec::new()
    };
    let per_page = q.per_page.unwrap_or(30).min(100);
    let page = q.page.unwrap_or(1).max(1);
    let list: Vec<Value> = admins
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|login| json!({ "login": login, "type": "User", "role_name": "admin" }))
        .collect();
    Json(list).into_response()
}

async fn commit(
    State(state): State<Shared>,
    Path((owner, repo, sha)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let s = lock(&state);
    if !authorised(&s, &headers) {
        return unauthorised();
    }
    let Some((parents, message)) = s.commits.get(&(format!("{owner}/{repo}"), sha.clone())) else {
        return error(StatusCode::NOT_FOUND, "No commit found for SHA");
    };
    let parents: Vec<Value> = parents.iter().map(|p| json!({ "sha": p })).collect();
    Json(json!({ "sha": sha, "commit": { "message": message }, "parents": parents }))
        .into_response()
}

/// A check run in the shape of `POST /repos/{o}/{r}/check-runs`.
fn check_run_json(run: &CheckRun) -> Value {
    json!({
        "id": run.id,
        "node_id": format!("CR_fake{}", run.id),
        "head_sha": run.head_sha,
        "external_id": "",
        "url": format!("https://api.github.com/repos/{}/check-runs/{}", run.repo, run.id),
        "html_url": format!("https://github.com/{}/runs/{}", run.repo, run.id),
        "details_url": run.details_url,
        "status": run.status,
        "conclusion": run.conclusion,
        "started_at": "2026-01-01T00:00:00Z",
        "completed_at": run.conclusion.as_ref().map(|_| "2026-01-01T00:00:01Z"),
        "output": {
            "title": run.title, "summary": run.summary, "text": null,
            "annotations_count": run.annotations.len(),
            "annotations_url": format!("https://api.github.com/repos/{}/check-runs/{}/annotations", run.repo, run.id),
        },
        "name": run.name,
        "check_suite": { "id": 1 },
        "app": { "id": run.app_id, "slug": "warrant", "name": "Warrant" },
        "pull_requests": [],
    })
}

/// Applies a create or update body as GitHub does; output annotations are
/// appended. Refuses what GitHub refuses.
fn apply(run: &mut CheckRun, body: &Value) -> Result<(), &'static str> {
    let output = &body["output"];
    let annotations = output["annotations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if annotations.len() > ANNOTATIONS_PER_REQUEST {
        return Err("Only 50 annotations are allowed per request");
    }
    if output["summary"]
        .as_str()
        .is_some_and(|t| t.len() > MAX_SUMMARY_CHARS)
    {
        return Err("output.summary is too long (maximum is 65535 characters)");
    }
    let text = |v: &Value| v.as_str().map(str::to_owned);
    if let Some(status) = text(&body["status"]) {
        run.status = status;
    }
    if let Some(conclusion) = text(&body["conclusion"]) {
        run.conclusion = Some(conclusion);
        run.status = "completed".into();
    }
    run.details_url = text(&body["details_url"]).or(run.details_url.take());
    run.title = text(&output["title"]).or(run.title.take());
    run.summary = text(&output["summary"]).or(run.summary.take());
    run.annotations.extend(annotations);
    run.history.push(body.clone());
    Ok(())
}

async fn create_check_run(
    State(state): State<Shared>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut s = lock(&state);
    if !authorised(&s, &headers) {
        return unauthorised();
    }
    let (Some(name), Some(head_sha)) = (body["name"].as_str(), body["head_sha"].as_str()) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid request: name and head_sha are required",
        );
    };
    let mut run = CheckRun {
        id: s.next_id(),
        app_id: s.app_id,
        repo: format!("{owner}/{repo}"),
        name: name.to_owned(),
        head_sha: head_sha.to_owned(),
        status: "queued".into(),
        conclusion: None,
        details_url: None,
        title: None,
        summary: None,
        annotations: Vec::new(),
        history: Vec::new(),
    };
    if let Err(message) = apply(&mut run, &body) {
        return error(StatusCode::UNPROCESSABLE_ENTITY, message);
    }
    let reply = check_run_json(&run);
    s.check_runs.push(run);
    (StatusCode::CREATED, Json(reply)).into_response()
}

async fn update_check_run(
    State(state): State<Shared>,
    Path((owner, repo, id)): Path<(String, String, u64)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut s = lock(&state);
    if !authorised(&s, &headers) {
        return unauthorised();
    }
    let repo = format!("{owner}/{repo}");
    let Some(i) = s
        .check_runs
        .iter()
        .position(|r| r.id == id && r.repo == repo)
    else {
        return error(StatusCode::NOT_FOUND, "Not Found");
    };
    if s.check_runs[i].app_id != s.app_id {
        let message =
            "Invalid app_id: a check run can only be modified by the GitHub App that created it.";
        return error(StatusCode::FORBIDDEN, message);
    }
    let mut run = s.check_runs[i].clone();
    if let Err(message) = apply(&mut run, &body) {
        return error(StatusCode::UNPROCESSABLE_ENTITY, message);
    }
    let reply = check_run_json(&run);
    s.check_runs[i] = run;
    Json(reply).into_response()
}

#[derive(Deserialize)]
struct CheckRunFilter {
    check_name: Option<String>,
    app_id: Option<u64>,
}

async fn list_check_runs(
    State(state): State<Shared>,
    Path((owner, repo, sha)): Path<(String, String, String)>,
    Query(q): Query<CheckRunFilter>,
    headers: HeaderMap,
) -> Response {
    let s = lock(&state);
    if !authorised(&s, &headers) {
        return unauthorised();
    }
    let repo = format!("{owner}/{repo}");
    let runs: Vec<Value> = s
        .check_runs
        .iter()
        .rev()
        .filter(|r| r.repo == repo && r.head_sha == sha)
        .filter(|r| q.check_name.as_ref().is_none_or(|n| &r.name == n))
        .filter(|r| q.app_id.is_none_or(|id| r.app_id == id))
        .map(check_run_json)
        .collect();
    Json(json!({ "total_count": runs.len(), "check_runs": runs })).into_response()
}

async fn dismiss_review(
    State(state): State<Shared>,
    Path((owner, repo, number, id)): Path<(String, String, u64, u64)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut s = lock(&state);
    if !authorised(&s, &headers) {
        return unauthorised();
    }
    let repo = format!("{owner}/{repo}");
    let Some(message) = body["message"].as_str().map(str::to_owned) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid request: message is required",
        );
    };
    let Some(pull) = s.pulls.get_mut(&(repo.clone(), number)) else {
        return error(StatusCode::NOT_FOUND, "Not Found");
    };
    let Some(review) = pull.change.reviews.iter_mut().find(|r| r.id == Some(id)) else {
        return error(StatusCode::NOT_FOUND, "Not Found");
    };
    if !matches!(
        review.state,
        ReviewState::Approved | ReviewState::ChangesRequested
    ) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Can not dismiss a commented pull request review",
        );
    }
    review.state = ReviewState::Dismissed;
    let reply = json!({
        "id": id,
        "node_id": format!("PRR_fake{id}"),
        "user": { "login": review.reviewer.login.as_str(), "id": review.reviewer.id },
        "body": "",
        "state": "DISMISSED",
        "commit_id": review.commit_sha.as_str(),
        "submitted_at": review.submitted_at,
    });
    s.dismissals.push(Dismissal {
        repo,
        number,
        review_id: id,
        message,
    });
    Json(reply).into_response()
}

/// `POST /repos/{owner}/{repo}/issues/{number}/comments`, on a pull
/// request (its conversation is its issue's), as the app's bot.
async fn create_comment(
    State(state): State<Shared>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut s = lock(&state);
    if !authorised(&s, &headers) {
        return unauthorised();
    }
    let repo = format!("{owner}/{repo}");
    if !s.pulls.contains_key(&(repo.clone(), number)) {
        return error(StatusCode::NOT_FOUND, "Not Found");
    }
    let Some(text) = body["body"].as_str().map(str::to_owned) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid request: body is required",
        );
    };
    let id = s.next_id();
    let bot = format!("{}[bot]", s.app_slug);
    s.comments.push(Comment {
        repo: repo.clone(),
        number,
        body: text.clone(),
    });
    let reply = json!({
        "id": id,
        "html_url": format!("https://github.com/{repo}/pull/{number}#issuecomment-{id}"),
        "user": { "login": bot, "type": "Bot" },
        "body": text,
        "created_at": Utc::now(),
    });
    (StatusCode::CREATED, Json(reply)).into_response()
}
