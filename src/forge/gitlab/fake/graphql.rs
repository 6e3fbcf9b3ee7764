//! The fake's GraphQL endpoint (`POST /api/graphql`). Like the fake
//! GitHub's, it does not parse GraphQL: it recognises Warrant's queries by
//! operation name and answers from their variables, in GitLab's shapes
//! (global ids, `nodes`, cursors, users' `bot` flag).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{FakeMergeRequest, FakeState, FakeUser, Shared, error, git_blob_id};
use crate::forge::fake_server::graphql_operation;

/// Commits a page holds: what Warrant asks for (`first: 100`).
const PAGE: usize = 100;

pub(super) fn router() -> Router<Shared> {
    Router::new().route("/api/graphql", post(answer))
}

#[derive(Deserialize)]
struct GraphqlRequest {
    query: String,
    #[serde(default)]
    variables: Map<String, Value>,
}

async fn answer(State(state): State<Shared>, body: axum::body::Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<GraphqlRequest>(&body) else {
        return error(StatusCode::BAD_REQUEST, "invalid JSON");
    };
    if let Some(message) = undeclared(&req) {
        return Json(json!({ "errors": [{ "message": message }] })).into_response();
    }
    let s = state.lock().unwrap_or_else(|e| e.into_inner());
    let vars = &req.variables;
    let data = match graphql_operation(&body).as_deref() {
        Some("WarrantMergeRequest") => {
            let mut reply = json!({ "mergeRequest": merge_request(&s, vars, true) });
            if vars.get("blobs").and_then(Value::as_bool) == Some(true) {
                reply["repository"] = json!({
                    "blobs": blobs(&s, vars, "ref"),
                    "tree": tree(&s, vars),
                });
                if vars.get("atHead").and_then(Value::as_bool) == Some(true) {
                    reply["repository"]["headBlobs"] = head_blobs(&s, vars);
                }
            }
            reply
        }
        Some("WarrantCommits") => json!({ "mergeRequest": merge_request(&s, vars, false) }),
        Some("WarrantBlobs") => json!({ "repository": { "blobs": blobs(&s, vars, "ref") } }),
        _ => {
            let errors = json!([{ "message": "the fake GitLab does not know this query" }]);
            return Json(json!({ "errors": errors })).into_response();
        }
    };
    Json(json!({ "data": { "project": data } })).into_response()
}

/// A variable the query does not declare, or one it declares and is not
/// given: GitLab refuses both, so that the client's query text is checked
/// even though the fake does not parse it.
fn undeclared(req: &GraphqlRequest) -> Option<String> {
    let header = &req.query[..req.query.find('{')?];
    let declared: Vec<&str> = header
        .split('$')
        .skip(1)
        .filter_map(|d| d.split(':').next())
        .map(str::trim)
        .collect();
    if let Some(name) = req
        .variables
        .keys()
        .find(|k| !declared.contains(&k.as_str()))
    {
        return Some(format!("Variable ${name} is not declared"));
    }
    declared
        .iter()
        .find(|d| !req.variables.contains_key(**d))
        .map(|d| format!("Variable ${d} of the query was not provided"))
}

fn text<'v>(vars: &'v Map<String, Value>, name: &str) -> &'v str {
    vars.get(name).and_then(Value::as_str).unwrap_or_default()
}

fn user(user: &FakeUser) -> Value {
    json!({
        "id": format!("gid://gitlab/User/{}", user.id),
        "username": user.username,
        "bot": user.bot,
    })
}

fn users(s: &FakeState, ids: impl Iterator<Item = u64>) -> Value {
    json!({ "nodes": ids.map(|id| user(&s.user(id))).collect::<Vec<_>>() })
}

fn find<'s>(s: &'s FakeState, vars: &Map<String, Value>) -> Option<&'s FakeMergeRequest> {
    let iid = text(vars, "iid").parse().ok()?;
    s.merge_requests
        .get(&(text(vars, "project").to_owned(), iid))
}

/// The merge request (`null` when there is none), with one page of
/// commits after `$after`; with everything else when `full`.
fn merge_request(s: &FakeState, vars: &Map<String, Value>, full: bool) -> Value {
    let Some(mr) = find(s, vars) else {
        return Value::Null;
    };
    let commits = commit_page(mr, vars.get("after").and_then(Value::as_str));
    if !full {
        return json!({ "commits": commits });
    }
    let approvers = s
        .approvals
        .get(&(mr.project.clone(), mr.iid))
        .into_iter()
        .flatten()
        .map(|a| a.user_id);
    json!({
        "iid": mr.iid.to_string(),
        "title": mr.title,
        "description": mr.description,
        "state": if mr.state.is_empty() { "opened" } else { &mr.state },
        "draft": mr.draft,
        "sourceBranch": mr.source_branch,
        "targetBranch": mr.target_branch,
        "webUrl": mr.web_url,
        "diffRefs": { "baseSha": mr.base_sha, "headSha": mr.head_sha },
        "diffStatsSummary": { "fileCount": file_count(mr) },
        "author": user(&s.user(mr.author_id)),
        "assignees": users(s, mr.assignee_ids.iter().copied()),
        "approvedBy": users(s, approvers),
        "commits": commits,
    })
}

/// How many files GitLab counts: past its diff limits (`changes_count`
/// such as `"1000+"`), more than it lists.
fn file_count(mr: &FakeMergeRequest) -> usize {
    let listed = mr.files.len() + mr.deleted.len();
    let Some(count) = mr.changes_count.as_deref() else {
        return listed;
    };
    let n = count.trim_end_matches('+').parse().unwrap_or(listed);
    if count.ends_with('+') { n + 1 } else { n }
}

/// 100 commits, newest first as GitLab lists them, after the cursor (the
/// offset, as text).
fn commit_page(mr: &FakeMergeRequest, after: Option<&str>) -> Value {
    let start: usize = after.and_then(|a| a.parse().ok()).unwrap_or(0);
    let end = (start + PAGE).min(mr.commits.len());
    let nodes: Vec<Value> = mr
        .commits
        .iter()
        .rev()
        .skip(start)
        .take(PAGE)
        .map(|c| {
            json!({
                "sha": c.sha.as_str(),
                "message": c.message,
                "authorName": c.author.name,
                "authorEmail": c.author.email,
                "committerName": c.committer.name,
                "committerEmail": c.committer.email,
            })
        })
        .collect();
    json!({
        "pageInfo": { "hasNextPage": end < mr.commits.len(), "endCursor": end.to_string() },
        "nodes": nodes,
    })
}

/// The tree at `$ref`, with the commit it is at: a ref set with
/// `set_ref`, or a commit id, which names itself; `null` for another name.
fn tree(s: &FakeState, vars: &Map<String, Value>) -> Value {
    match resolved(s, vars, "ref") {
        Some(sha) => json!({ "lastCommit": { "sha": sha } }),
        None => Value::Null,
    }
}

/// The commit the ref in variable `var` names.
fn resolved(s: &FakeState, vars: &Map<String, Value>, var: &str) -> Option<String> {
    let (project, git_ref) = (text(vars, "project"), text(vars, var));
    let named = s.refs.get(&(project.to_owned(), git_ref.to_owned()));
    let is_sha = git_ref.len() == 40 && git_ref.bytes().all(|b| b.is_ascii_hexdigit());
    named
        .cloned()
        .or_else(|| is_sha.then(|| git_ref.to_owned()))
}

/// The files among `$paths` that exist at the ref in variable `var`: at
/// the commit a named ref is at, else under the ref as given.
fn blobs(s: &FakeState, vars: &Map<String, Value>, var: &str) -> Value {
    let git_ref = resolved(s, vars, var).unwrap_or_else(|| text(vars, var).to_owned());
    blob_nodes(s, vars, |_| git_ref.clone())
}

/// The files among `$paths` at `$head`. At the head of the merge request
/// asked about, a file it does not change is its base's, as in a
/// repository: the fake keeps files by commit, and tests put them where
/// they differ.
fn head_blobs(s: &FakeState, vars: &Map<String, Value>) -> Value {
    let head = text(vars, "head");
    let mr = find(s, vars).filter(|mr| mr.head_sha == head);
    blob_nodes(s, vars, |path| match mr {
        Some(mr) if !mr.changes(path) => mr.base_sha.clone(),
        _ => head.to_owned(),
    })
}

/// The nodes of the files among `$paths`, each read at the commit `at`
/// gives for it.
fn blob_nodes(s: &FakeState, vars: &Map<String, Value>, at: impl Fn(&str) -> String) -> Value {
    let project = text(vars, "project");
    let paths = vars.get("paths").and_then(Value::as_array);
    let nodes: Vec<Value> = paths
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|path| {
            let key = (project.to_owned(), at(path), path.to_owned());
            let text = s.files.get(&key)?;
            Some(json!({ "path": path, "oid": git_blob_id(text), "rawTextBlob": text }))
        })
        .collect();
    json!({ "nodes": nodes })
}
