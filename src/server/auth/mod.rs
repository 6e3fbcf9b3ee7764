//! Signing in with GitHub, and signing out.
//!
//! | Route | |
//! |---|---|
//! | `GET /auth/signin?next=` | what signing in grants; a sign-out form when signed in |
//! | `GET /auth/github/login?next=` | redirects to GitHub to authorise the app |
//! | `GET /auth/github/callback` | GitHub's redirect back: starts a session |
//! | `POST /auth/logout` | ends the session ([`CsrfForm`]) |
//!
//! The OAuth `state` is a random value kept in a short-lived signed cookie
//! (with where to go next) and sent to GitHub; the callback accepts a code
//! only with the state of the cookie in the same browser, and clears the
//! cookie, so a state serves once. The session is a random id in a signed
//! cookie; the store keeps the id's SHA-256 and the user's GitHub token
//! sealed with `WARRANT_TOKEN_KEY`, or none without a key ([`tokens`]);
//! the token never reaches the browser. See `docs/access.md`.

pub(crate) mod cookie;
pub mod csrf;
mod token_key;
mod tokens;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde::Deserialize;

use super::access::{Session, Viewer};
use super::{AppState, page};
use crate::forge::github::oauth::{OauthClient, encode};
use crate::store::access::NewSession;

pub use cookie::{SessionKey, sha256_hex};
pub use csrf::{CSRF_FIELD, CsrfForm, same_origin};
pub use token_key::{BadTokenKey, TokenKey};

/// How long a session lasts: a working day. Signing in again is one click
/// while the app stays authorised on GitHub.
const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 60 * 60);

/// How long the round trip to GitHub may take, from the redirect to the
/// callback: enough to sign in to GitHub and approve the app.
const SIGN_IN_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// How long GitHub's answer to "may this user read this repository" is
/// believed. A page asks for each repository it shows; asking GitHub on
/// every request would spend the user's rate limit and slow every page.
/// Kept in memory, per replica: a lost access shows at most this late,
/// and a replica that restarts only asks again.
const READ_CACHE_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// Bounds the memory of the read cache; past it, expired answers are
/// dropped, then all.
const READ_CACHE_MAX: usize = 10_000;

/// Where a signed-in user lands when the sign-in did not say.
const DEFAULT_NEXT: &str = "/audit";

/// The access settings every request shares: the key that signs cookies,
/// the app's OAuth client (`None`: sign-in is off), and the cache of what
/// users may read.
#[derive(Debug)]
pub struct Access {
    pub(crate) key: SessionKey,
    oauth: Option<OauthClient>,
    public_url: Option<String>,
    /// What users may read: by GitHub user id and repository id.
    readable: Mutex<HashMap<(u64, u64), (bool, Instant)>>,
    /// OAuth states already used, until their cookie would have expired:
    /// a callback replayed with a copied cookie is refused too (on this
    /// replica; GitHub refuses the spent code on any).
    used_states: Mutex<HashMap<String, Instant>>,
    /// The signed-in users' GitHub tokens.
    tokens: tokens::UserTokens,
}

impl Access {
    /// No sign-in, cookies signed with `key`.
    pub fn new(key: SessionKey) -> Access {
        Access {
            key,
            oauth: None,
            public_url: None,
            readable: Mutex::new(HashMap::new()),
            used_states: Mutex::new(HashMap::new()),
            tokens: tokens::UserTokens::default(),
        }
    }

    /// Seals users' GitHub tokens with `key` before they are stored, so
    /// that sessions outlive a restart and work on every replica. Without
    /// a key, tokens are kept in this process's memory only.
    pub fn with_token_key(mut self, key: TokenKey) -> Access {
        self.tokens = tokens::UserTokens::new(Some(key));
        self
    }

    /// Whether users' tokens are sealed into the database.
    pub fn seals_tokens(&self) -> bool {
        self.tokens.sealed()
    }

    /// Signs people in with the app's OAuth client; `public_url` (absolute,
    /// no trailing slash) is where GitHub sends them back, and decides
    /// whether cookies are `Secure`.
    pub fn with_github(mut self, oauth: OauthClient, public_url: Option<String>) -> Access {
        self.oauth = Some(oauth);
        self.public_url = public_url;
        self
    }

    pub(crate) fn public_url(&self) -> Option<&str> {
        self.public_url.as_deref()
    }

    /// Cookies are `Secure` when browsers reach the server over https.
    fn secure(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"))
    }

    /// The client and the callback URL, when sign-in is configured.
    fn sign_in(&self) -> Option<(&OauthClient, String)> {
        let oauth = self.oauth.as_ref()?;
        let public_url = self.public_url.as_deref()?;
        Some((oauth, format!("{public_url}/auth/github/callback")))
    }

    /// Whether `session`'s user may read the repository with id `id`,
    /// recorded under the name `repo`, from the cache or from GitHub with
    /// the user's token: GitHub must show the user a repository under that
    /// name, and it must be the one with that id (not a new repository
    /// that took the name). Cached by id, so a renamed repository is not
    /// asked about twice.
    pub(crate) async fn user_may_read(
        &self,
        session: &Session,
        repo: &str,
        id: u64,
    ) -> anyhow::Result<bool> {
        let key = (session.user_id(), id);
        let now = Instant::now();
        if let Some((answer, at)) = self.lock_readable().get(&key) {
            if now.duration_since(*at) < READ_CACHE_LIFETIME {
                return Ok(*answer);
            }
        }
        let Some(oauth) = &self.oauth else {
            return Ok(false);
        };
        let shown = oauth.readable_repo_id(session.github_token(), repo).await?;
        if shown.is_some_and(|shown| shown != id) {
            tracing::warn!(
                repo,
                recorded = id,
                "the repository's name now belongs to another repository: its trail is not shown"
            );
        }
        let answer = shown == Some(id);
        let mut cache = self.lock_readable();
        if cache.len() >= READ_CACHE_MAX {
            cache.retain(|_, (_, at)| now.duration_since(*at) < READ_CACHE_LIFETIME);
            if cache.len() >= READ_CACHE_MAX {
                cache.clear();
            }
        }
        cache.insert(key, (answer, now));
        Ok(answer)
    }

    /// Marks `state` used; `false` if it already was.
    fn use_state(&self, state: &str) -> bool {
        let now = Instant::now();
        let mut used = self.used_states.lock().unwrap_or_else(|e| e.into_inner());
        used.retain(|_, at| now.duration_since(*at) < SIGN_IN_LIFETIME);
        used.insert(state.to_owned(), now).is_none()
    }

    fn lock_readable(&self) -> std::sync::MutexGuard<'_, HashMap<(u64, u64), (bool, Instant)>> {
        self.readable.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The signed-in session the request's cookie names, if it is signed
    /// with the key and still live.
    pub(crate) async fn session(
        &self,
        state: &AppState,
        headers: &HeaderMap,
    ) -> anyhow::Result<Option<(String, Session)>> {
        let Some(cookie) = cookie::read(headers, cookie::SESSION_COOKIE, self.secure()) else {
            return Ok(None);
        };
        let Some(id) = self.key.open(cookie::SESSION_COOKIE, cookie) else {
            tracing::warn!("a session cookie with a wrong signature was refused");
            return Ok(None);
        };
        let id_hash = sha256_hex(id);
        let Some(stored) = state.store().session(&id_hash, Utc::now()).await? else {
            return Ok(None);
        };
        let Some(token) = self.tokens.token(&id_hash, stored.sealed_token.as_deref()) else {
            // Fail closed: a session whose token cannot be read cannot be
            // checked against GitHub.
            tracing::warn!(
                login = %stored.login,
                "a session whose GitHub token this server cannot read (started on another \
                 replica without WARRANT_TOKEN_KEY, before a restart, or sealed with another key) \
                 reads as signed out"
            );
            return Ok(None);
        };
        let session = Session::new(&self.key, id, stored.user_id, token);
        Ok(Some((stored.login, session)))
    }
}

/// The routes of this module.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/signin", get(signin_page))
        .route("/auth/github/login", get(login))
        .route("/auth/github/callback", get(callback))
        .route("/auth/logout", post(logout))
}

const STYLE: &str = include_str!("../../../templates/style.css");

#[derive(Template)]
#[template(path = "auth/signin.html")]
struct SigninPage {
    /// The signed-in user, if any.
    login: Option<String>,
    csrf_field: &'static str,
    csrf: String,
    /// The sign-in link, `None` when sign-in is not configured.
    login_url: Option<String>,
    problem: Option<&'static str>,
}

/// The sign-in page, with a problem to show if any.
fn signin(
    state: &AppState,
    next: &str,
    status: StatusCode,
    problem: Option<&'static str>,
) -> Response {
    let login_url = state
        .access
        .sign_in()
        .map(|_| format!("/auth/github/login?next={}", encode(next)));
    page(
        status,
        &SigninPage {
            login: None,
            csrf_field: CSRF_FIELD,
            csrf: String::new(),
            login_url,
            problem,
        },
    )
}

#[derive(Deserialize)]
pub(super) struct NextQuery {
    next: Option<String>,
}

/// `next` if it is a path on this server, refusing absolute and
/// protocol-relative URLs (`//evil.example`, `/\evil.example`) that would
/// make Warrant an open redirect.
pub(crate) fn local_path(next: Option<&str>) -> Option<&str> {
    let next = next.unwrap_or(DEFAULT_NEXT);
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control);
    local.then_some(next)
}

/// `GET /auth/signin`.
async fn signin_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<NextQuery>,
) -> Response {
    let next = local_path(query.next.as_deref()).unwrap_or(DEFAULT_NEXT);
    match state.access.session(&state, &headers).await {
        Ok(Some((login, session))) => page(
            StatusCode::OK,
            &SigninPage {
                login: Some(login),
                csrf_field: CSRF_FIELD,
                csrf: session.csrf_token().to_owned(),
                login_url: None,
                problem: None,
            },
        ),
        Ok(None) => signin(&state, next, StatusCode::OK, None),
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "cannot read the session");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// `GET /auth/github/login`: sends the browser to GitHub with a fresh
/// state, kept in a signed cookie with `next`.
async fn login(State(state): State<AppState>, Query(query): Query<NextQuery>) -> Response {
    let Some(next) = local_path(query.next.as_deref()) else {
        return (
            StatusCode::BAD_REQUEST,
            "`next` must be a path on this server.",
        )
            .into_response();
    };
    let access = &state.access;
    let Some((oauth, callback)) = access.sign_in() else {
        return signin(
            &state,
            next,
            StatusCode::SERVICE_UNAVAILABLE,
            Some("Signing in with GitHub is not configured on this server."),
        );
    };
    let oauth_state = cookie::random_id();
    let expires = Utc::now().timestamp_millis() + millis(SIGN_IN_LIFETIME);
    let value = format!("{oauth_state}.{expires}.{}", hex::encode(next));
    let cookie = cookie::set(
        cookie::SIGN_IN_COOKIE,
        &access.key.signed_value(cookie::SIGN_IN_COOKIE, &value),
        SIGN_IN_LIFETIME.as_secs(),
        access.secure(),
    );
    redirect_setting(&oauth.authorize_url(&callback, &oauth_state), &[cookie])
}

#[derive(Deserialize)]
pub(super) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
}

/// `GET /auth/github/callback`: checks the state against the browser's
/// cookie, exchanges the code, and starts a session.
async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let access = &state.access;
    let Some((oauth, callback)) = access.sign_in() else {
        return signin(&state, DEFAULT_NEXT, StatusCode::SERVICE_UNAVAILABLE, None);
    };
    let clear = cookie::clear(cookie::SIGN_IN_COOKIE, access.secure());
    let Some(next) = sign_in_cookie(access, &headers, query.state.as_deref()) else {
        tracing::warn!("sign-in callback with a missing, expired or wrong state");
        let mut response = signin(
            &state,
            DEFAULT_NEXT,
            StatusCode::FORBIDDEN,
            Some("This sign-in was not started in this browser, or took too long. Sign in again."),
        );
        append_cookie(&mut response, &clear);
        return response;
    };
    let Some(code) = query.code else {
        return signin(
            &state,
            &next,
            StatusCode::BAD_REQUEST,
            Some("GitHub did not authorise the sign-in."),
        );
    };
    match start_session(&state, oauth, &code, &callback).await {
        Ok(session_cookie) => redirect_setting(&next, &[clear, session_cookie]),
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "sign-in failed");
            signin(
                &state,
                &next,
                StatusCode::BAD_GATEWAY,
                Some("GitHub did not complete the sign-in. Try again."),
            )
        }
    }
}

/// The `next` of the sign-in cookie, if it is signed, fresh, and holds
/// `state`.
fn sign_in_cookie(access: &Access, headers: &HeaderMap, state: Option<&str>) -> Option<String> {
    let value = access.key.open(
        cookie::SIGN_IN_COOKIE,
        cookie::read(headers, cookie::SIGN_IN_COOKIE, access.secure())?,
    )?;
    let mut fields = value.splitn(3, '.');
    let (expected, expires, next) = (fields.next()?, fields.next()?, fields.next()?);
    let fresh = expires.parse::<i64>().ok()? > Utc::now().timestamp_millis();
    // Compared in constant time, as a signature.
    let same = access
        .key
        .verify("state", state?, &access.key.sign("state", expected));
    let next = String::from_utf8(hex::decode(next).ok()?).ok()?;
    let valid = fresh && same && local_path(Some(&next)).is_some();
    (valid && access.use_state(expected)).then_some(next)
}

/// Exchanges the code, asks GitHub who signed in, stores the session and
/// returns its cookie.
async fn start_session(
    state: &AppState,
    oauth: &OauthClient,
    code: &str,
    callback: &str,
) -> anyhow::Result<String> {
    let token = oauth.exchange_code(code, callback).await?;
    let user = oauth.user(token.expose()).await?;
    let id = cookie::random_id();
    let now = Utc::now();
    let expires_at = now + SESSION_LIFETIME;
    let id_hash = sha256_hex(&id);
    let sealed = state.access.tokens.keep(&id_hash, &token, expires_at);
    state
        .store()
        .create_session(&NewSession {
            id_hash: &id_hash,
            login: &user.login,
            user_id: user.id,
            sealed_token: sealed.as_deref(),
            created_at: now,
            expires_at,
        })
        .await?;
    tracing::info!(login = %user.login, "signed in");
    let access = &state.access;
    Ok(cookie::set(
        cookie::SESSION_COOKIE,
        &access.key.signed_value(cookie::SESSION_COOKIE, &id),
        SESSION_LIFETIME.as_secs(),
        access.secure(),
    ))
}

#[derive(Deserialize)]
pub(super) struct LogoutForm {}

/// `POST /auth/logout`: ends the session, with a CSRF-checked form.
async fn logout(State(state): State<AppState>, form: CsrfForm<LogoutForm>) -> Response {
    if let Viewer::User { session, login } = &form.viewer {
        let id_hash = sha256_hex(session.id());
        state.access.tokens.forget(&id_hash);
        if let Err(err) = state.store().delete_session(&id_hash).await {
            tracing::error!(error = format!("{err:#}"), "cannot end a session");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
        tracing::info!(%login, "signed out");
    }
    let clear = cookie::clear(cookie::SESSION_COOKIE, state.access.secure());
    redirect_setting("/auth/signin", &[clear])
}

/// A 303 to `location` setting `cookies`.
fn redirect_setting(location: &str, cookies: &[String]) -> Response {
    let mut response = Redirect::to(location).into_response();
    for cookie in cookies {
        append_cookie(&mut response, cookie);
    }
    response
}

fn append_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

fn millis(span: Duration) -> i64 {
    i64::try_from(span.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(local_path(None), Some(DEFAULT_NEXT));
        assert_eq!(
            local_path(Some("/audit/github/o/r?page=2")),
            Some("/audit/github/o/r?page=2")
        );
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "evil.example",
            "/a\r\nSet-Cookie: x=1",
            "",
        ] {
            assert_eq!(local_path(Some(bad)), None, "{bad}");
        }
    }
}
