//! The fake's GraphQL endpoint. It does not parse GraphQL: it recognises
//! Warrant's queries by operation name and answers from their variables,
//! in the shape GitHub would, including `@include` and cursors.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{FakeState, PullRequest, Shared, error};
use crate::engine::{Account, Person, ReviewState};

/// The operation name of a GraphQL request body, if it is one.
pub(super) fn operation_name(body: &[u8]) -> Option<String> {
    crate::forge::fake_server::graphql_operation(body)
}

#[derive(Deserialize)]
struct GraphqlRequest {
    query: String,
    #[serde(default)]
    variables: Map<String, Value>,
}

pub(super) async fn answer(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let s = state.lock().unwrap_or_else(|e| e.into_inner());
    if !super::rest::authorised(&s, &headers) {
        return error(StatusCode::UNAUTHORIZED, "Bad credentials");
    }
    let Ok(req) = serde_json::from_slice::<GraphqlRequest>(&body) else {
        return error(StatusCode::BAD_REQUEST, "Problems parsing JSON");
    };
    if let Some(message) = variable_errors(&req) {
        return Json(json!({ "errors": [{ "message": message }] })).into_response();
    }
    let vars = &req.variables;
    let mut errors = Vec::new();
    let data = match operation_name(&body).as_deref() {
        Some("WarrantPullRequest") => pull_request(&s, vars, &mut errors),
        Some("WarrantTeams") => teams(&s, vars, &mut errors),
        Some("WarrantPolicy") => policy_blobs(&s, vars),
        Some("WarrantMergeQueue") => merge_queue(&s, vars, &mut errors),
        Some("WarrantTeamMembers") => {
            json!({ "organization": organization(&s, vars, "org", "slug", vars.get("after")) })
        }
        _ => {
            let errors = json!([{ "message": "the fake GitHub does not know this query" }]);
            return Json(json!({ "errors": errors })).into_response();
        }
    };
    if errors.is_empty() {
        Json(json!({ "data": data })).into_response()
    } else {
        Json(json!({ "data": data, "errors": errors })).into_response()
    }
}

/// GitHub refuses a query that declares a variable it does not use; so
/// does the fake, so that the client's query text is checked even though
/// the fake does not parse it. It also refuses variables the query does
/// not declare, which is stricter than GitHub and catches typos.
fn variable_errors(req: &GraphqlRequest) -> Option<String> {
    let q = &req.query;
    let header = &q[..q.find('{')?];
    let declared: Vec<&str> = header
        .split('$')
        .skip(1)
        .filter_map(|d| d.split(':').next())
        .map(str::trim)
        .collect();
    let uses = |name: &str| {
        let needle = format!("${name}");
        q.match_indices(&needle)
            .filter(|(i, _)| {
                let next = q[i + needle.len()..].chars().next();
                !next.is_some_and(|c| c.is_alphanumeric() || c == '_')
            })
            .count()
    };
    if let Some(unused) = declared.iter().find(|d| uses(d) < 2) {
        return Some(format!("Variable ${unused} is declared but not used"));
    }
    let undeclared = req
        .variables
        .keys()
        .find(|k| !declared.contains(&k.as_str()))?;
    Some(format!(
        "Variable ${undeclared} is provided but not declared"
    ))
}

fn var<'a>(vars: &'a Map<String, Value>, name: &str) -> &'a str {
    vars.get(name).and_then(Value::as_str).unwrap_or_default()
}

fn flag(vars: &Map<String, Value>, name: &str) -> bool {
    vars.get(name).and_then(Value::as_bool).unwrap_or(false)
}

/// A page of 100 from the cursor (the index, as text) in `after`.
fn page<T>(items: &[T], after: Option<&Value>, node: impl Fn(&T) -> Value) -> Value {
    let start = after
        .and_then(Value::as_str)
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(0);
    let end = (start + 100).min(items.len());
    let nodes: Vec<Value> = items[start.min(end)..end].iter().map(node).collect();
    json!({
        "pageInfo": { "hasNextPage": end < items.len(), "endCursor": end.to_string() },
        "nodes": nodes,
    })
}

fn pull_request(s: &FakeState, vars: &Map<String, Value>, errors: &mut Vec<Value>) -> Value {
    let repo = format!("{}/{}", var(vars, "owner"), var(vars, "name"));
    let number = vars.get("number").and_then(Value::as_u64).unwrap_or(0);
    let mut repository = Map::new();
    // The policy's and CODEOWNERS' candidate blobs at the base.
    for (name, value) in vars {
        if name.starts_with("policy") || name.starts_with("codeowners") {
            repository.insert(
                name.clone(),
                blob(s, &repo, value.as_str().unwrap_or_default()),
            );
        }
    }
    let pull = s.pulls.get(&(repo, number));
    repository.insert(
        "pullRequest".into(),
        pull.map_or(Value::Null, |p| pull_json(p, vars)),
    );
    let mut data = Map::new();
    data.insert("repository".into(), Value::Object(repository));
    if let Some(org) = org_policy(s, vars, errors) {
        data.insert("orgPolicy".into(), org);
    }
    if flag(vars, "teams") {
        if let Value::Object(teams) = teams(s, vars, errors) {
            data.extend(teams);
        }
    }
    Value::Object(data)
}

/// The `orgPolicy` field, for a query that asks for it: the organisation
/// repository's blob, or `null` with GitHub's `NOT_FOUND` error when the
/// fake holds no file of that repository.
fn org_policy(s: &FakeState, vars: &Map<String, Value>, errors: &mut Vec<Value>) -> Option<Value> {
    if !vars.contains_key("orgRepository") {
        return None;
    }
    let org = format!("{}/{}", var(vars, "owner"), var(vars, "orgRepository"));
    if s.files.keys().any(|(repo, _, _)| *repo == org) {
        return Some(json!({ "object": blob(s, &org, var(vars, "orgPolicy")) }));
    }
    errors.push(json!({
        "type": "NOT_FOUND",
        "path": ["orgPolicy"],
        "message": format!("Could not resolve to a Repository with the name '{org}'."),
    }));
    Some(Value::Null)
}

/// The `policyN` blobs of a repository, alone.
fn policy_blobs(s: &FakeState, vars: &Map<String, Value>) -> Value {
    let repo = format!("{}/{}", var(vars, "owner"), var(vars, "name"));
    let repository: Map<String, Value> = vars
        .iter()
        .filter(|(name, _)| name.starts_with("policy") || name.starts_with("codeowners"))
        .map(|(name, value)| {
            (
                name.clone(),
                blob(s, &repo, value.as_str().unwrap_or_default()),
            )
        })
        .collect();
    json!({ "repository": repository })
}

/// `mergeQueue(branch:)` beside the `policyN` blobs: `null` for a branch
/// without a queue, as GitHub answers for a branch whose protection asks
/// for none.
fn merge_queue(s: &FakeState, vars: &Map<String, Value>, errors: &mut Vec<Value>) -> Value {
    let mut data = policy_blobs(s, vars);
    if let Some(org) = org_policy(s, vars, errors) {
        data["orgPolicy"] = org;
    }
    let repo = format!("{}/{}", var(vars, "owner"), var(vars, "name"));
    let key = (repo.clone(), var(vars, "branch").to_owned());
    let queue = s.merge_queues.get(&key).map(|entries| {
        let nodes: Vec<Value> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let pull = s.pulls.get(&(repo.clone(), e.number)).map(
                    |p| json!({ "number": e.number, "headRefOid": p.change.head_sha.as_str() }),
                );
                json!({
                    "position": i + 1,
                    "state": "AWAITING_CHECKS",
                    "headCommit": { "oid": e.head_commit },
                    "pullRequest": pull,
                })
            })
            .collect();
        json!({ "entries": { "nodes": nodes } })
    });
    data["repository"]["mergeQueue"] = queue.unwrap_or(Value::Null);
    data
}

/// `object(expression: "<sha>:<path>")`: the blob, or null. `HEAD` stands
/// for the head of the default branch (see `FakeGithub::put_default_file`).
fn blob(s: &FakeState, repo: &str, expression: &str) -> Value {
    let Some((sha, path)) = expression.split_once(':') else {
        return Value::Null;
    };
    match s
        .files
        .get(&(repo.to_owned(), sha.to_owned(), path.to_owned()))
    {
        Some(text) => json!({
            "oid": crate::policy::blob_id(text.as_bytes()),
            "text": text,
            "isTruncated": false,
        }),
        None => Value::Null,
    }
}

fn pull_json(p: &PullRequest, vars: &Map<String, Value>) -> Value {
    let c = &p.change;
    let mut pr = json!({
        "number": c.number, "title": c.title, "body": c.body, "isDraft": p.draft,
        "changedFiles": p.changed_files.unwrap_or(c.files.len() as u64),
        "baseRefName": p.base_ref, "headRefName": p.head_ref,
        "baseRefOid": c.base_sha.as_str(), "headRefOid": c.head_sha.as_str(),
        "author": c.author.as_ref().map(actor),
        "assignees": { "nodes": c.assignees.iter().map(actor).collect::<Vec<_>>() },
    });
    if flag(vars, "commits") {
        let total = p.total_commits.unwrap_or(c.commits.len() as u64);
        pr["commits"] = page(&c.commits, vars.get("commitsAfter"), |commit| {
            json!({ "commit": {
                "oid": commit.sha.as_str(), "message": commit.message,
                "author": git_actor(&commit.author), "committer": git_actor(&commit.committer),
            } })
        });
        pr["commits"]["totalCount"] = json!(total);
    }
    if flag(vars, "files") {
        pr["files"] = page(&c.files, vars.get("filesAfter"), |f| {
            let change = if f.previous_path.is_some() {
                "RENAMED"
            } else {
                "MODIFIED"
            };
            json!({ "path": f.path.as_str(), "changeType": change })
        });
    }
    if flag(vars, "reviews") {
        pr["reviews"] = page(&c.reviews, vars.get("reviewsAfter"), |r| {
            json!({
                "databaseId": r.id, "state": review_state(r.state), "submittedAt": r.submitted_at,
                "commit": { "oid": r.commit_sha.as_str() }, "author": actor(&r.reviewer),
            })
        });
    }
    pr
}

fn review_state(state: ReviewState) -> &'static str {
    match state {
        ReviewState::Approved => "APPROVED",
        ReviewState::ChangesRequested => "CHANGES_REQUESTED",
        ReviewState::Commented => "COMMENTED",
        ReviewState::Dismissed => "DISMISSED",
    }
}

/// As GraphQL shows an actor: a bot by its slug, without `[bot]`.
fn actor(a: &Account) -> Value {
    let login = a.login.as_str();
    if a.is_bot() {
        let slug = login.strip_suffix("[bot]").unwrap_or(login);
        json!({ "__typename": "Bot", "login": slug, "databaseId": a.id })
    } else {
        json!({ "__typename": "User", "login": login, "databaseId": a.id })
    }
}

/// `GitActor.user` is a `User`: commits by a bot have no linked user.
fn git_actor(p: &Person) -> Value {
    let user = p.account.as_ref().filter(|a| !a.is_bot()).map(actor);
    json!({ "name": p.name, "email": p.email, "user": user })
}

fn teams(s: &FakeState, vars: &Map<String, Value>, errors: &mut Vec<Value>) -> Value {
    let mut data = Map::new();
    for i in 0.. {
        let (org, slug) = (format!("o{i}"), format!("s{i}"));
        if !vars.contains_key(&org) {
            break;
        }
        let alias = format!("t{i}");
        let found = organization(s, vars, &org, &slug, None);
        if found.is_null() {
            errors.push(json!({
                "type": "NOT_FOUND", "path": [alias],
                "message": format!("Could not resolve to an Organization with the login of '{}'.", var(vars, &org)),
            }));
        }
        data.insert(alias, found);
    }
    Value::Object(data)
}

/// `organization { team { members } }`: a slug the fake does not know is
/// a `null` team, an organization it does not know is `null` (and an
/// error), as GitHub answers.
fn organization(
    s: &FakeState,
    vars: &Map<String, Value>,
    org: &str,
    slug: &str,
    after: Option<&Value>,
) -> Value {
    let org = var(vars, org).to_lowercase();
    if !s
        .teams
        .keys()
        .any(|k| k.split('/').next() == Some(org.as_str()))
    {
        return Value::Null;
    }
    let key = format!("{org}/{}", var(vars, slug)).to_lowercase();
    let team = s
        .teams
        .get(&key)
        .map(|members| json!({ "members": page(members, after, |m| json!({ "login": m })) }));
    json!({ "team": team })
}
