//! `POST /webhooks/gitlab`: verify, store, acknowledge.
//!
//! | Status | When | Stored |
//! |---|---|---|
//! | 202 `queued` | a verified delivery of an event Warrant acts on | yes, once |
//! | 200 `duplicate` | the same idempotency key was stored before | already |
//! | 200 `ignored` | a verified event or action Warrant does not act on | no |
//! | 401 | missing or wrong `X-Gitlab-Token` | no |
//! | 400 | missing `X-Gitlab-Event`, or both `Idempotency-Key` and `X-Gitlab-Event-UUID` | no |
//! | 413 | a body over [`MAX_WEBHOOK_BODY`](super::MAX_WEBHOOK_BODY) | no |
//! | 503 + `Retry-After` | too many bodies being read at once ([`super::body`]) | no |
//! | 408 | the body did not arrive in time ([`super::body`]) | no |
//! | 500 | the delivery could not be stored (GitLab may retry it) | no |
//!
//! The token is checked before any of the body is read, so a sender
//! without it costs no memory.
//!
//! `POST /webhooks/gitlab/status-check` is the URL to give an external
//! status check named `warrant` (Ultimate). GitLab notifies it of every
//! merge request change; Warrant learns of the same changes from the
//! webhook above and answers the check through the API after each
//! decision, so the notification is acknowledged (200 `ignored`) and
//! nothing is read or stored from it.
//!
//! The dedup key is `Idempotency-Key`, which GitLab keeps across retries of
//! one delivery; `X-Gitlab-Event-UUID` stands in when it is absent. A known
//! event whose payload cannot be read is stored anyway, as on GitHub's
//! endpoint, for the worker to record why it failed.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};

use super::body::{BufferedBody, read_body};
use super::webhook::{Received, acknowledge, header_text};
use super::{AppState, HttpError, signature};
use crate::engine::Forge;
use crate::forge::gitlab::webhook as events;
use crate::metrics::DeliveryOutcome;

/// A delivery whose `X-Gitlab-Token` is a configured secret.
struct VerifiedGitlabDelivery {
    /// `X-Gitlab-Event`, e.g. `Merge Request Hook`.
    event: String,
    /// `Idempotency-Key`, else `X-Gitlab-Event-UUID`.
    delivery_id: String,
    /// The body, with its share of the memory budget.
    body: BufferedBody,
}

/// Checks the token first, so an unauthenticated sender learns nothing else.
async fn verify(req: Request, state: &AppState) -> Result<VerifiedGitlabDelivery, HttpError> {
    let headers = req.headers().clone();
    let token = headers
        .get("x-gitlab-token")
        .ok_or(HttpError::Unauthorized)?;
    if !signature::token_matches(&state.gitlab_secrets, token.as_bytes()) {
        return Err(HttpError::Unauthorized);
    }
    let body = read_body(req.into_body(), &headers, &state.body_limits).await?;
    let event = event_name(&headers).ok_or(HttpError::BadRequest(
        "missing or malformed X-Gitlab-Event header",
    ))?;
    let delivery_id = header_text(&headers, "idempotency-key")
        .or_else(|| header_text(&headers, "x-gitlab-event-uuid"))
        .ok_or(HttpError::BadRequest(
            "missing or malformed Idempotency-Key and X-Gitlab-Event-UUID headers",
        ))?;
    Ok(VerifiedGitlabDelivery {
        event,
        delivery_id,
        body,
    })
}

/// `X-Gitlab-Event`: unlike GitHub's, GitLab's names have spaces (`Push
/// Hook`), so printable ASCII with inner spaces, bounded like other headers.
fn event_name(headers: &axum::http::HeaderMap) -> Option<String> {
    let value = headers.get("x-gitlab-event")?.to_str().ok()?.trim();
    let ok = !value.is_empty()
        && value.len() <= 128
        && value.bytes().all(|b| b == b' ' || b.is_ascii_graphic());
    ok.then(|| value.to_owned())
}

/// The handler: stores a delivery worth processing and acknowledges it.
pub(super) async fn gitlab(State(state): State<AppState>, req: Request) -> Response {
    let started = Instant::now();
    let delivery = match verify(req, &state).await {
        Ok(delivery) => delivery,
        Err(err) => {
            tracing::warn!(
                forge = "gitlab",
                status = err.status().as_u16(),
                "webhook refused: {err}"
            );
            state.metrics.record_delivery(
                Forge::Gitlab,
                "",
                DeliveryOutcome::Rejected,
                started.elapsed(),
            );
            return err.into_response();
        }
    };
    let worth_storing = events::parse(&delivery.event, &delivery.body.bytes)
        .map(|event| event.is_some_and(|e| e.needs_processing()))
        .map_err(|err| err.to_string());
    let received = Received {
        forge: Forge::Gitlab,
        delivery_id: &delivery.delivery_id,
        event: &delivery.event,
        body: &delivery.body.bytes,
        worth_storing,
    };
    acknowledge(&state, received, started).await
}

/// `POST /webhooks/gitlab/status-check`: acknowledged, not acted on (see
/// the module's documentation).
pub(super) async fn status_check() -> Response {
    let reply = serde_json::json!({
        "status": "ignored",
        "reason": "Warrant answers this check after evaluating the merge request's webhook events",
    });
    axum::Json(reply).into_response()
}
