//! Who may read the audit pages and exports, and which repositories.
//!
//! Every audit route takes a [`Viewer`]. Nothing is readable anonymously
//! unless the operator turned public pages on (`AppState::with_public_pages`,
//! which `warrant demo` does); otherwise a person signs in with GitHub and
//! sees only the repositories their own GitHub token can read, and a machine
//! presents a bearer token made by `warrant token create`.
//!
//! This first version knows only public pages: sign-in and tokens are added
//! behind the same [`Viewer::may_read`].

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use super::AppState;

/// The reader of a page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Viewer {
    /// Anyone, because public pages are on.
    Public,
}

impl Viewer {
    /// Whether this viewer may read the audit trail of `repo` on `forge`.
    pub async fn may_read(
        &self,
        _state: &AppState,
        _forge: &str,
        _repo: &str,
    ) -> anyhow::Result<bool> {
        match self {
            Viewer::Public => Ok(true),
        }
    }
}

/// Why a request has no viewer: nobody signed in and pages are not public.
#[derive(Debug)]
pub struct SignInRequired;

impl IntoResponse for SignInRequired {
    fn into_response(self) -> Response {
        (
            axum::http::StatusCode::UNAUTHORIZED,
            "Sign in to read Warrant's audit pages.",
        )
            .into_response()
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = SignInRequired;

    async fn from_request_parts(
        _parts: &mut Parts,
        state: &AppState,
    ) -> Result<Viewer, SignInRequired> {
        if state.public_pages {
            Ok(Viewer::Public)
        } else {
            Err(SignInRequired)
        }
    }
}
