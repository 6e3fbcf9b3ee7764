//! The fake's REST v4 endpoints, answered with GitLab's shapes: those
//! Warrant uses, the merge request itself being read by GraphQL
//! (`graphql`).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    FakeMergeRequest, FakeNote, FakeState, FakeStatus, FakeUser, Shared, error, git_blob_id,
};
use crate::forge::gitlab::statuses::MAX_DESCRIPTION_CHARS;

pub(super) fn router() -> Router<Shared> {
    let mr = "/api/v4/projects/{project}/merge_requests/{iid}";
    Router::new()
        .route("/api/v4/user", get(current_user))
        .route("/api/v4/users/{id}", get(user_by_id))
        .route(&format!("{mr}/diffs"), get(diffs))
        .route(&format!("{mr}/notes"), post(post_note))
        .route(
            "/api/v4/projects/{project}/repository/files/{path}",
            get(file),
        )
        .route(
            "/api/v4/projects/{project}/members/all",
            get(project_members),
        )
        .route("/api/v4/groups/{group}/members/all", get(group_members))
        .route(
            "/api/v4/projects/{project}/statuses/{sha}",
            post(post_status),
        )
        .fallback(|| async { error(StatusCode::NOT_FOUND, "404 Not Found") })
}

pub(super) fn lock(state: &Shared) -> std::sync::MutexGuard<'_, FakeState> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

fn time(at: chrono::DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A user as GitLab embeds it in merge requests and approvals.
fn user_json(user: &FakeUser) -> Value {
    json!({
        "id": user.id,
        "username": user.username,
        "name": user.username,
        "state": "active",
        "locked": false,
        "avatar_url": null,
        "web_url": format!("https://gitlab.example.com/{}", user.username),
    })
}

/// `GET /users/:id`, with the `bot` flag GitLab shows there.
async fn user_by_id(State(state): State<Shared>, Path(id): Path<u64>) -> Response {
    let s = lock(&state);
    let Some(user) = s.users.get(&id) else {
        return not_found();
    };
    let mut body = user_json(user);
    body["bot"] = json!(user.bot);
    Json(body).into_response()
}

async fn current_user(State(state): State<Shared>) -> Response {
    let s = lock(&state);
    let me = s.user(s.current_user);
    let mut body = user_json(&me);
    body["bot"] = json!(me.bot);
    Json(body).into_response()
}

pub(super) fn find<'s>(s: &'s FakeState, project: &str, iid: u64) -> Option<&'s FakeMergeRequest> {
    s.merge_requests.get(&(project.to_owned(), iid))
}

pub(super) fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "404 Not found")
}

#[derive(Deserialize)]
struct PageQuery {
    per_page: Option<usize>,
    page: Option<usize>,
}

/// One page of `items`, with GitLab's pagination headers.
fn paginate(items: Vec<Value>, q: &PageQuery) -> Response {
    let per_page = q.per_page.unwrap_or(20).clamp(1, 100);
    let page = q.page.unwrap_or(1).max(1);
    let total = items.len();
    let total_pages = total.div_ceil(per_page).max(1);
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let next = if page < total_pages {
        (page + 1).to_string()
    } else {
        String::new()
    };
    let prev = if page > 1 {
        (page - 1).to_string()
    } else {
        String::new()
    };
    let mut headers = HeaderMap::new();
    let values = [
        ("x-page", page.to_string()),
        ("x-per-page", per_page.to_string()),
        ("x-next-page", next),
        ("x-prev-page", prev),
        ("x-total", total.to_string()),
        ("x-total-pages", total_pages.to_string()),
    ];
    for (name, value) in values {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    (headers, Json(slice)).into_response()
}

async fn diffs(
    State(state): State<Shared>,
    Path((project, iid)): Path<(String, u64)>,
    Query(q): Query<PageQuery>,
) -> Response {
    let s = lock(&state);
    let Some(mr) = find(&s, &project, iid) else {
        return not_found();
    };
    let diff = |old: &str, new: &str, renamed: bool, deleted: bool| {
        json!({
            "old_path": old,
            "new_path": new,
            "a_mode": "100644",
            "b_mode": if deleted { "0" } else { "100644" },
            "diff": "@@ -1 +1 @@\n-old\n+new\n",
            "new_file": false,
            "renamed_file": renamed,
            "deleted_file": deleted,
            "generated_file": false,
        })
    };
    let items = mr
        .files
        .iter()
        .map(|(path, old)| match old {
            Some(old) => diff(old, path, true, false),
            None => diff(path, path, false, false),
        })
        .chain(mr.deleted.iter().map(|p| diff(p, p, false, true)))
        .collect();
    paginate(items, &q)
}

#[derive(Deserialize)]
struct RefQuery {
    #[serde(rename = "ref")]
    git_ref: Option<String>,
}

async fn file(
    State(state): State<Shared>,
    Path((project, path)): Path<(String, String)>,
    Query(q): Query<RefQuery>,
) -> Response {
    let Some(git_ref) = q.git_ref else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "ref is missing" })),
        )
            .into_response();
    };
    let s = lock(&state);
    let key = (project, git_ref.clone(), path.clone());
    let Some(text) = s.files.get(&key) else {
        return error(StatusCode::NOT_FOUND, "404 File Not Found");
    };
    let name = path.rsplit('/').next().unwrap_or(&path);
    let body = json!({
        "file_name": name,
        "file_path": path,
        "size": text.len(),
        "encoding": "base64",
        "content": base64(text.as_bytes()),
        "content_sha256": "0000000000000000000000000000000000000000000000000000000000000000",
        "ref": git_ref,
        "blob_id": git_blob_id(text),
        "commit_id": git_ref,
        "last_commit_id": git_ref,
        "execute_filemode": false,
    });
    Json(body).into_response()
}

fn member_json(username: &str, access_level: u32, id: u64) -> Value {
    json!({
        "id": id,
        "username": username,
        "name": username,
        "state": "active",
        "avatar_url": null,
        "web_url": format!("https://gitlab.example.com/{username}"),
        "access_level": access_level,
        "created_at": "2024-01-01T00:00:00.000Z",
        "expires_at": null,
        "membership_state": "active",
    })
}

async fn group_members(
    State(state): State<Shared>,
    Path(group): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let s = lock(&state);
    let Some(members) = s.groups.get(&group.to_lowercase()) else {
        return error(StatusCode::NOT_FOUND, "404 Group Not Found");
    };
    let items = members
        .iter()
        .zip(1000..)
        .map(|(name, id)| member_json(name, 30, id))
        .collect();
    paginate(items, &q)
}

async fn project_members(
    State(state): State<Shared>,
    Path(project): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let s = lock(&state);
    let Some(members) = s.project_members.get(&project) else {
        return error(StatusCode::NOT_FOUND, "404 Project Not Found");
    };
    let items = members
        .iter()
        .zip(2000..)
        .map(|((name, level), id)| member_json(name, *level, id))
        .collect();
    paginate(items, &q)
}

#[derive(Deserialize)]
struct StatusBody {
    state: String,
    name: Option<String>,
    description: Option<String>,
    target_url: Option<String>,
    #[serde(rename = "ref")]
    git_ref: Option<String>,
}

/// GitLab's state machine verbs, as its error messages name them.
fn verb(state: &str) -> &'static str {
    match state {
        "pending" => "enqueue",
        "running" => "run",
        "success" => "succeed",
        "failed" => "drop",
        _ => "cancel",
    }
}

/// `POST /projects/:id/statuses/:sha`: a pending or running status moves
/// on (and may not repeat its state, nor go back from running to
/// pending); after a finished one, a new status starts.
async fn post_status(
    State(state): State<Shared>,
    Path((project, sha)): Path<(String, String)>,
    body: String,
) -> Response {
    let parsed: Option<StatusBody> = serde_json::from_str(&body)
        .ok()
        .or_else(|| serde_urlencoded::from_str(&body).ok());
    let Some(body) = parsed else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "state is missing" })),
        )
            .into_response();
    };
    let states = ["pending", "running", "success", "failed", "canceled"];
    if !states.contains(&body.state.as_str()) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "state does not have a valid value" })),
        )
            .into_response();
    }
    if body
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS)
    {
        let message = json!({ "description": ["is too long (maximum is 255 characters)"] });
        return (StatusCode::BAD_REQUEST, Json(json!({ "message": message }))).into_response();
    }
    let mut s = lock(&state);
    let name = body.name.unwrap_or_else(|| "default".to_owned());
    let last = s
        .statuses
        .iter()
        .rev()
        .find(|st| st.project == project && st.sha == sha && st.name == name)
        .cloned();
    let unfinished = last
        .as_ref()
        .filter(|l| matches!(l.state.as_str(), "pending" | "running"));
    if let Some(l) = unfinished {
        let backwards = l.state == "running" && body.state == "pending";
        if l.state == body.state || backwards {
            let message = format!(
                "Cannot transition status via :{} from :{}",
                verb(&body.state),
                l.state
            );
            return error(StatusCode::BAD_REQUEST, &message);
        }
    }
    let id = match unfinished {
        Some(l) => l.id,
        None => s.next_id(),
    };
    let status = FakeStatus {
        id,
        project,
        sha: sha.clone(),
        name: name.clone(),
        state: body.state.clone(),
        description: body.description.clone(),
        target_url: body.target_url.clone(),
        git_ref: body.git_ref.clone(),
    };
    s.statuses.push(status);
    let author = user_json(&s.user(s.current_user));
    let now = time(Utc::now());
    let finished = !matches!(body.state.as_str(), "pending" | "running");
    let reply = json!({
        "id": id,
        "sha": sha,
        "ref": body.git_ref,
        "status": body.state,
        "name": name,
        "target_url": body.target_url,
        "description": body.description,
        "created_at": now,
        "started_at": null,
        "finished_at": if finished { Some(now.clone()) } else { None },
        "allow_failure": false,
        "coverage": null,
        "author": author,
    });
    (StatusCode::CREATED, Json(reply)).into_response()
}

/// Standard base64 with padding, as GitLab encodes file contents.
fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[derive(Deserialize)]
struct NoteBody {
    body: String,
}

/// `POST /projects/:id/merge_requests/:iid/notes`: a note by the token's
/// user.
async fn post_note(
    State(state): State<Shared>,
    Path((project, iid)): Path<(String, u64)>,
    Json(body): Json<NoteBody>,
) -> Response {
    let mut s = lock(&state);
    if find(&s, &project, iid).is_none() {
        return not_found();
    }
    if body.body.trim().is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "400 Bad request - Note can't be blank",
        );
    }
    let id = 7_000 + s.notes.len() as u64;
    let author = s.users.get(&s.current_user).map(user_json);
    s.notes.push(FakeNote {
        project,
        iid,
        body: body.body.clone(),
    });
    let reply = json!({
        "id": id,
        "body": body.body,
        "author": author,
        "system": false,
        "noteable_type": "MergeRequest",
        "noteable_iid": iid,
        "created_at": time(Utc::now()),
    });
    (StatusCode::CREATED, Json(reply)).into_response()
}
