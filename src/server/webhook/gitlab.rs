//! GitLab's door: `X-Gitlab-Token`, a shared secret compared in constant
//! time; the event in `X-Gitlab-Event`, the delivery in `Idempotency-Key`
//! (kept across GitLab's retries of one delivery), else
//! `X-Gitlab-Event-UUID`.
//!
//! `POST /webhooks/gitlab/status-check` is the URL to give an external
//! status check named `warrant` (Ultimate). GitLab notifies it of every
//! merge request change; Warrant learns of the same changes from the
//! webhook and answers the check through the API after each decision, so
//! the notification is acknowledged (200 `ignored`) and nothing is read or
//! stored from it.

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::{Admitted, Door, header_value};
use crate::engine::Forge;
use crate::forge::Worth;
use crate::forge::gitlab::webhook as events;
use crate::server::{AppState, HttpError, signature};

/// GitLab's webhook door.
#[derive(Debug)]
pub struct Gitlab;

impl Door for Gitlab {
    const FORGE: Forge = Forge::Gitlab;
    const NO_EVENT: &'static str = "missing or malformed X-Gitlab-Event header";
    const NO_DELIVERY: &'static str =
        "missing or malformed Idempotency-Key and X-Gitlab-Event-UUID headers";

    /// The token is the whole proof: checked before the body is read.
    fn admit(headers: &HeaderMap, state: &AppState) -> Result<Admitted, HttpError> {
        let token = headers
            .get("x-gitlab-token")
            .ok_or(HttpError::Unauthorized)?;
        if !signature::token_matches(&state.gitlab_secrets, token.as_bytes()) {
            return Err(HttpError::Unauthorized);
        }
        Ok(Admitted { signature: None })
    }

    /// Nothing left to check; and no replay key, since a token is no
    /// signature and GitLab may send one body for distinct events (an
    /// approval given, withdrawn and given again).
    fn verify(_: &Admitted, _: &[u8], _: &AppState) -> Result<Option<String>, HttpError> {
        Ok(None)
    }

    /// Unlike GitHub's, GitLab's event names have spaces (`Push Hook`).
    fn event(headers: &HeaderMap) -> Option<String> {
        header_value(headers, "x-gitlab-event", true)
    }

    fn delivery_id(headers: &HeaderMap) -> Option<String> {
        header_value(headers, "idempotency-key", false)
            .or_else(|| header_value(headers, "x-gitlab-event-uuid", false))
    }

    fn worth_storing(event: &str, body: &[u8]) -> Worth {
        Worth::judge(event, body, events::worth_storing(event, body))
    }
}

/// `POST /webhooks/gitlab/status-check`: acknowledged, not acted on (see
/// the module's documentation).
pub(in crate::server) async fn status_check() -> Response {
    let reply = serde_json::json!({
        "status": "ignored",
        "reason": "Warrant answers this check after evaluating the merge request's webhook events",
    });
    axum::Json(reply).into_response()
}
