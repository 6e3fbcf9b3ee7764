//! Who may read the audit pages and exports, and which repositories.
//!
//! Every audit route takes a [`Viewer`]. Nothing is readable anonymously
//! unless the operator turned public pages on (`AppState::with_public_pages`,
//! `WARRANT_PUBLIC_PAGES`); otherwise a person signs in with GitHub
//! ([`super::auth`]) and sees only the repositories their own GitHub token
//! can read, and a machine presents a bearer token made by
//! `warrant token create`.
//!
//! GitLab projects are read with a token or through public pages only. A
//! GitHub sign-in proves nothing about who may read a GitLab project, and
//! there is no GitLab sign-in yet, so a signed-in user reads none: their
//! lists leave GitLab changes out, and a GitLab change's page is a 404 like
//! a missing one.
//!
//! The extractor decides in this order:
//!
//! 1. An `Authorization: Bearer` header: the token must be live, or the
//!    request is refused with 401, whatever else it carries.
//! 2. A session cookie, signed with the session key and naming a live
//!    session: the signed-in [`Viewer::User`].
//! 3. Public pages on: [`Viewer::Public`].
//! 4. Otherwise the request is refused: a browser asking for a page is
//!    sent to sign in (303 to `/auth/github/login?next=...`), anything else
//!    (exports, JSON, scripts) gets 401.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;

use super::AppState;
use super::auth::{SessionKey, sha256_hex};
use crate::config::Secret;
use crate::engine::Forge;
use crate::forge::github::oauth::encode;
use crate::ids::RepoName;

/// The prefix of Warrant's API tokens, so that one found in a log or a
/// repository is recognisable (and can be revoked).
pub const API_TOKEN_PREFIX: &str = "wrt_";

/// The reader of a page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Viewer {
    /// Anyone, because public pages are on.
    Public,
    /// A person signed in with GitHub: reads the GitHub repositories their
    /// GitHub token reads, and no GitLab project.
    User { login: String, session: Session },
    /// A machine with an API token: reads every repository. A token is made
    /// by an operator of this server (`warrant token create`), who can read
    /// the database anyway; narrowing it is left to the token's holder.
    Token { name: String },
}

/// A signed-in session, as a request holds it. `Debug` shows no secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    id: Secret,
    user_id: u64,
    github_token: Secret,
    csrf: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

impl Session {
    pub(crate) fn new(key: &SessionKey, id: &str, user_id: u64, github_token: Secret) -> Session {
        Session {
            csrf: key.sign("csrf", id),
            id: Secret::new(id),
            user_id,
            github_token,
        }
    }

    /// The GitHub user's id.
    pub fn user_id(&self) -> u64 {
        self.user_id
    }

    /// The token a page puts in every form it shows, in a hidden field named
    /// [`super::auth::CSRF_FIELD`]; see [`super::auth::CsrfForm`].
    pub fn csrf_token(&self) -> &str {
        &self.csrf
    }

    pub(crate) fn check_csrf(&self, key: &SessionKey, token: &str) -> bool {
        key.verify("csrf", self.id.expose(), token)
    }

    pub(crate) fn id(&self) -> &str {
        self.id.expose()
    }

    pub(crate) fn github_token(&self) -> &str {
        self.github_token.expose()
    }
}

impl Viewer {
    /// Whether this viewer may read the audit trail of `repo` on `forge`.
    /// A signed-in user reads a GitHub repository their GitHub token reads,
    /// if it is still the repository the trail was recorded for (the same
    /// id), and nothing else: not a GitLab project (fail closed, see the
    /// module's documentation), nor a forge Warrant does not know.
    pub async fn may_read(
        &self,
        state: &AppState,
        forge: &str,
        repo: &str,
    ) -> anyhow::Result<bool> {
        match self {
            Viewer::Public | Viewer::Token { .. } => Ok(true),
            // Public pages are public to signed-in users too.
            Viewer::User { .. } if state.public_pages => Ok(true),
            Viewer::User { session, .. } => match (forge, RepoName::parse(repo)) {
                ("github", Ok(name)) if is_repo_name(repo) => {
                    // Granted by id: the name may now be another
                    // repository's. A trail with no recorded id is shown
                    // to no signed-in user (fail closed).
                    let Some(id) = state.store().repository_id(Forge::Github, &name).await? else {
                        return Ok(false);
                    };
                    state.access.user_may_read(session, repo, id).await
                }
                _ => Ok(false),
            },
        }
    }

    /// The CSRF token for the forms of a page, when the viewer has a
    /// session; see [`super::auth::CsrfForm`].
    pub fn csrf_token(&self) -> Option<&str> {
        match self {
            Viewer::User { session, .. } => Some(session.csrf_token()),
            _ => None,
        }
    }
}

/// `owner/name` as GitHub allows them, checked before it goes into a URL.
fn is_repo_name(repo: &str) -> bool {
    let part = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    matches!(repo.split_once('/'), Some((owner, name)) if part(owner) && part(name))
}

/// Why a request has no viewer.
#[derive(Debug)]
pub struct SignInRequired {
    kind: Refusal,
}

#[derive(Debug)]
enum Refusal {
    /// A browser asking for a page: sign in, then come back here.
    SignIn { next: String },
    /// No usable credential, and not a page for a browser.
    Unauthorized,
    /// The store did not answer.
    Unavailable,
}

impl IntoResponse for SignInRequired {
    fn into_response(self) -> Response {
        match self.kind {
            Refusal::SignIn { next } => {
                Redirect::to(&format!("/auth/github/login?next={}", encode(&next))).into_response()
            }
            Refusal::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "Sign in to read Warrant's audit pages, or present a valid API token.",
            )
                .into_response(),
            Refusal::Unavailable => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        }
    }
}

impl SignInRequired {
    fn of(kind: Refusal) -> SignInRequired {
        SignInRequired { kind }
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = SignInRequired;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Viewer, SignInRequired> {
        let unavailable = |err: anyhow::Error| {
            tracing::error!(error = format!("{err:#}"), "cannot check access");
            SignInRequired::of(Refusal::Unavailable)
        };
        if let Some(authorization) = parts.headers.get(header::AUTHORIZATION) {
            let token = authorization
                .to_str()
                .ok()
                .and_then(|value| value.strip_prefix("Bearer "))
                .map(str::trim)
                .filter(|token| token.starts_with(API_TOKEN_PREFIX));
            let Some(token) = token else {
                return Err(SignInRequired::of(Refusal::Unauthorized));
            };
            let name = state
                .store()
                .use_api_token(&sha256_hex(token), Utc::now())
                .await
                .map_err(unavailable)?;
            return match name {
                Some(name) => Ok(Viewer::Token { name }),
                None => {
                    tracing::warn!("an unknown, expired or revoked API token was refused");
                    Err(SignInRequired::of(Refusal::Unauthorized))
                }
            };
        }
        let session = state
            .access
            .session(state, &parts.headers)
            .await
            .map_err(unavailable)?;
        if let Some((login, session)) = session {
            return Ok(Viewer::User { login, session });
        }
        if state.public_pages {
            return Ok(Viewer::Public);
        }
        if parts.method == Method::GET && wants_html(&parts.headers) {
            let next = parts
                .uri
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned();
            return Err(SignInRequired::of(Refusal::SignIn { next }));
        }
        Err(SignInRequired::of(Refusal::Unauthorized))
    }
}

/// Whether the client is a browser asking for a page.
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_repository_names_reach_github() {
        assert!(is_repo_name("octo-org/my_repo.rs"));
        for bad in [
            "octo", "a/b/c", "../x", "a/..", "a/b?x", "/b", "a/", "a/b c",
        ] {
            assert!(!is_repo_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_csrf_token_belongs_to_its_session_and_key() {
        let key = SessionKey::new(b"k".repeat(32));
        let session = Session::new(&key, "session-1", 7, Secret::new("ghu_x"));
        assert!(session.check_csrf(&key, session.csrf_token()));
        let other = Session::new(&key, "session-2", 7, Secret::new("ghu_x"));
        assert!(!session.check_csrf(&key, other.csrf_token()));
        assert!(!session.check_csrf(&SessionKey::new(b"j".repeat(32)), session.csrf_token()));
        assert!(!session.check_csrf(&key, ""));
    }

    #[test]
    fn a_session_never_shows_its_secrets() {
        let key = SessionKey::new(b"k".repeat(32));
        let session = Session::new(&key, "the-session-id", 7, Secret::new("ghu_secret"));
        let debug = format!("{session:?}");
        assert!(
            !debug.contains("the-session-id") && !debug.contains("ghu_secret"),
            "{debug}"
        );
        assert!(!debug.contains(session.csrf_token()), "{debug}");
    }
}
