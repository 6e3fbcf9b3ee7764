//! The fake's sign-in side: the OAuth web flow of a GitHub App, and what a
//! user's token can see (`GET /user`, `GET /repos/{owner}/{repo}`).
//!
//! A test registers users with the repositories each may read, and says
//! who is signed in to the fake GitHub in the browser; `GET
//! /login/oauth/authorize` then redirects straight back with a code, as
//! GitHub does for a user who already authorised the app.

use std::collections::{BTreeSet, HashMap};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::{FakeGithub, Shared, error};

/// What the fake knows of the app's OAuth client and its users.
#[derive(Default)]
pub struct OauthFake {
    pub client_id: String,
    pub client_secret: String,
    /// Users by login: id and the repositories (`owner/name`) they read.
    pub users: HashMap<String, (u64, BTreeSet<String>)>,
    /// Repository ids by lower-case `owner/name`, where a test set one.
    pub repo_ids: HashMap<String, u64>,
    /// Who is signed in to GitHub in the browser.
    pub signed_in: Option<String>,
    /// Codes handed out and not yet exchanged: login and redirect URI.
    codes: HashMap<String, (String, String)>,
    /// User tokens and whose they are.
    tokens: HashMap<String, String>,
}

impl FakeGithub {
    /// Gives the app an OAuth client id and secret.
    pub fn set_oauth_client(&self, client_id: &str, client_secret: &str) {
        let mut s = self.state();
        s.oauth.client_id = client_id.to_owned();
        s.oauth.client_secret = client_secret.to_owned();
    }

    /// A user who can read `repos` (`owner/name`) where the app is installed.
    pub fn add_user(&self, login: &str, id: u64, repos: &[&str]) {
        let repos = repos.iter().map(|r| r.to_lowercase()).collect();
        self.state()
            .oauth
            .users
            .insert(login.to_owned(), (id, repos));
    }

    /// Says that `repo` (`owner/name`) is, from now on, the repository with
    /// id `id`: as when a name is taken by a new repository.
    pub fn set_repo_id(&self, repo: &str, id: u64) {
        self.state().oauth.repo_ids.insert(repo.to_lowercase(), id);
    }

    /// The id `GET /repos/{repo}` answers with: the one set, or one made
    /// from the name (so that distinct names have distinct ids).
    pub fn repo_id(&self, repo: &str) -> u64 {
        self.state().oauth.id_of(repo)
    }

    /// The user signed in to GitHub in the browser that will authorise.
    pub fn sign_in_as(&self, login: &str) {
        self.state().oauth.signed_in = Some(login.to_owned());
    }

    /// Invalidates every user token, as revoking the app's authorisation
    /// does.
    pub fn revoke_user_tokens(&self) {
        self.state().oauth.tokens.clear();
    }
}

impl OauthFake {
    fn id_of(&self, repo: &str) -> u64 {
        let name = repo.to_lowercase();
        self.repo_ids.get(&name).copied().unwrap_or_else(|| {
            // FNV-1a: stable across runs, unlike the standard hasher.
            let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            });
            hash >> 12
        })
    }
}

pub(super) fn router() -> Router<Shared> {
    Router::new()
        .route("/login/oauth/authorize", get(authorize))
        .route("/login/oauth/access_token", post(access_token))
        .route("/user", get(user))
        .route("/repos/{owner}/{repo}", get(repo))
}

fn lock(state: &Shared) -> std::sync::MutexGuard<'_, super::FakeState> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    client_id: String,
    redirect_uri: String,
    state: String,
}

/// `GET /login/oauth/authorize`: the signed-in user authorises at once.
async fn authorize(State(state): State<Shared>, Query(q): Query<AuthorizeQuery>) -> Response {
    let mut s = lock(&state);
    if q.client_id != s.oauth.client_id {
        return error(StatusCode::NOT_FOUND, "Not Found");
    }
    let Some(login) = s.oauth.signed_in.clone() else {
        return (StatusCode::OK, "Sign in to GitHub").into_response();
    };
    let code = format!("code-{}", s.next_id());
    s.oauth
        .codes
        .insert(code.clone(), (login, q.redirect_uri.clone()));
    let separator = if q.redirect_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    Redirect::to(&format!(
        "{}{separator}code={code}&state={}",
        q.redirect_uri,
        crate::forge::github::oauth::encode(&q.state)
    ))
    .into_response()
}

#[derive(Deserialize)]
struct TokenForm {
    client_id: String,
    client_secret: String,
    code: String,
    redirect_uri: Option<String>,
}

/// `POST /login/oauth/access_token`: a code once, for the app that asked
/// for it. GitHub answers 200 with an `error` field when it refuses.
async fn access_token(State(state): State<Shared>, body: Bytes) -> Response {
    let Ok(form) = serde_urlencoded::from_bytes::<TokenForm>(&body) else {
        return error(StatusCode::BAD_REQUEST, "Problems parsing the form");
    };
    let mut s = lock(&state);
    if form.client_id != s.oauth.client_id || form.client_secret != s.oauth.client_secret {
        return Json(json!({ "error": "incorrect_client_credentials" })).into_response();
    }
    let Some((login, redirect_uri)) = s.oauth.codes.remove(&form.code) else {
        return Json(json!({ "error": "bad_verification_code" })).into_response();
    };
    if form.redirect_uri.is_some_and(|uri| uri != redirect_uri) {
        return Json(json!({ "error": "redirect_uri_mismatch" })).into_response();
    }
    let token = format!("ghu_{}", s.next_id());
    s.oauth.tokens.insert(token.clone(), login);
    Json(json!({ "access_token": token, "token_type": "bearer", "scope": "" })).into_response()
}

/// The user whose token the request bears.
fn token_user(s: &super::FakeState, headers: &HeaderMap) -> Option<String> {
    let token = headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    s.oauth.tokens.get(token).cloned()
}

/// `GET /user`.
async fn user(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let s = lock(&state);
    let Some(login) = token_user(&s, &headers) else {
        return error(StatusCode::UNAUTHORIZED, "Bad credentials");
    };
    let id = s.oauth.users.get(&login).map_or(0, |(id, _)| *id);
    Json(json!({ "login": login, "id": id, "type": "User" })).into_response()
}

/// `GET /repos/{owner}/{repo}` with a user token: 404 for a repository the
/// user cannot read, as GitHub hides private repositories.
async fn repo(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path((owner, repo)): Path<(String, String)>,
) -> Response {
    let s = lock(&state);
    let Some(login) = token_user(&s, &headers) else {
        return error(StatusCode::UNAUTHORIZED, "Bad credentials");
    };
    let full_name = format!("{owner}/{repo}");
    let readable = s
        .oauth
        .users
        .get(&login)
        .is_some_and(|(_, repos)| repos.contains(&full_name.to_lowercase()));
    if !readable {
        return error(StatusCode::NOT_FOUND, "Not Found");
    }
    let id = s.oauth.id_of(&full_name);
    Json(json!({ "id": id, "full_name": full_name, "private": true })).into_response()
}
