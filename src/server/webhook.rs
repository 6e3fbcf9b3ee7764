//! `POST /webhooks/github`: verify, store, acknowledge.
//!
//! [`SignedGithubDelivery`] does the checking, so the handler only decides
//! whether to store. Answers:
//!
//! | Status | When | Stored |
//! |---|---|---|
//! | 202 `queued` | a verified delivery of an event Warrant acts on | yes, once |
//! | 200 `duplicate` | the same `X-GitHub-Delivery` was stored before | already |
//! | 200 `ignored` | a verified `ping`, or an event or action Warrant does not act on | no |
//! | 401 | missing, malformed or wrong `X-Hub-Signature-256` | no |
//! | 400 | missing `X-GitHub-Event` or `X-GitHub-Delivery` | no |
//! | 413 | a body over [`MAX_WEBHOOK_BODY`] | no |
//! | 503 + `Retry-After` | too many bodies being read at once ([`super::body`]) | no |
//! | 408 | the body did not arrive in time ([`super::body`]) | no |
//! | 500 | the delivery could not be stored (GitHub may redeliver it) | no |
//!
//! A missing or malformed signature header (anything but `sha256=` and 64
//! hex digits), or a server with no secret to check against, is refused
//! before any of the body is read: only a request that could be genuine
//! costs memory, and that memory is bounded ([`super::body`]).
//!
//! A signed body already stored under another `X-GitHub-Delivery` is
//! answered `duplicate` too: it can only be a captured delivery sent again,
//! since GitHub's payloads differ from one event to the next (see
//! [`crate::store::Store::enqueue`]).
//!
//! Ignored deliveries are not stored, so nothing is evaluated for them and
//! the queue holds only work. A known event whose payload cannot be read is
//! stored anyway: it is genuine (signed), and the worker records why it
//! failed, where an operator can see it and have it evaluated again.

use std::time::Instant;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use tracing::Instrument;

use super::body::{BufferedBody, read_body};
use super::{AppState, HttpError, signature};
use crate::engine::Forge;
use crate::forge::github::webhook as events;
use crate::metrics::DeliveryOutcome;
use crate::store::{Enqueued, NewDelivery};

/// Longest accepted `X-GitHub-Delivery` (a GUID, 36 characters) and
/// `X-GitHub-Event` (the longest name is under 40): generous, but bounded
/// before they reach the database and the logs.
const MAX_HEADER_LEN: usize = 128;

/// A webhook delivery whose signature was verified over its raw body.
#[derive(Debug)]
pub struct SignedGithubDelivery {
    /// `X-GitHub-Event`.
    pub event: String,
    /// `X-GitHub-Delivery`, the same on a redelivery.
    pub delivery_id: String,
    /// The body exactly as signed.
    pub body: Bytes,
    /// When the request arrived, for the latency metric.
    received: Instant,
    /// The body's share of the memory budget, given back when the delivery
    /// is dropped, after it has been answered.
    _budget: BufferedBody,
}

impl FromRequest<AppState> for SignedGithubDelivery {
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, HttpError> {
        let received = Instant::now();
        let headers = req.headers().clone();
        let event = header_text(&headers, "x-github-event");
        let delivery_id = header_text(&headers, "x-github-delivery");
        // The signature first: an unauthenticated sender learns nothing else.
        let delivery = verify(req.into_body(), &headers, state)
            .await
            .and_then(|body| {
                Ok(SignedGithubDelivery {
                    event: event.clone().ok_or(HttpError::BadRequest(
                        "missing or malformed X-GitHub-Event header",
                    ))?,
                    delivery_id: delivery_id.clone().ok_or(HttpError::BadRequest(
                        "missing or malformed X-GitHub-Delivery header",
                    ))?,
                    body: body.bytes.clone(),
                    received,
                    _budget: body,
                })
            });
        if let Err(err) = &delivery {
            let event = event.as_deref().unwrap_or_default();
            tracing::warn!(
                event,
                delivery = delivery_id.as_deref().unwrap_or_default(),
                status = err.status().as_u16(),
                "webhook refused: {err}"
            );
            let outcome = DeliveryOutcome::Rejected;
            state
                .metrics
                .record_delivery(Forge::Github, event, outcome, received.elapsed());
        }
        delivery
    }
}

/// The body, if it is signed with a configured secret. What cannot be
/// genuine is refused before the body is read.
async fn verify(
    body: Body,
    headers: &HeaderMap,
    state: &AppState,
) -> Result<BufferedBody, HttpError> {
    let signature = headers
        .get("x-hub-signature-256")
        .map(|value| value.as_bytes())
        .filter(|value| signature::well_formed(value))
        .ok_or(HttpError::Unauthorized)?;
    if !state.app_configured() {
        return Err(HttpError::Unauthorized);
    }
    let body = read_body(body, headers, &state.body_limits).await?;
    let secrets = state
        .github_secrets
        .read()
        .unwrap_or_else(|e| e.into_inner());
    if signature::verify(&secrets, signature, &body.bytes) {
        Ok(body)
    } else {
        Err(HttpError::Unauthorized)
    }
}

/// A header's value if it is short, printable ASCII and not blank.
pub(super) fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    let value = headers.get(name)?.to_str().ok()?.trim();
    let ok = !value.is_empty()
        && value.len() <= MAX_HEADER_LEN
        && value.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| value.to_owned())
}

/// The handler: stores a delivery worth evaluating and acknowledges it.
pub(super) async fn github(
    State(state): State<AppState>,
    delivery: SignedGithubDelivery,
) -> Response {
    let worth_storing = events::parse(&delivery.event, &delivery.body)
        .map(|event| event.is_some_and(|e| e.needs_processing()))
        .map_err(|err| err.to_string());
    let received = Received {
        forge: Forge::Github,
        delivery_id: &delivery.delivery_id,
        event: &delivery.event,
        body: &delivery.body,
        worth_storing,
    };
    acknowledge(&state, received, delivery.received).await
}

/// A verified delivery of either forge, and whether it is worth storing:
/// `Err` for a known event whose payload cannot be read, which is stored
/// anyway for the worker to record why it failed.
pub(super) struct Received<'a> {
    pub forge: Forge,
    pub delivery_id: &'a str,
    pub event: &'a str,
    pub body: &'a [u8],
    pub worth_storing: Result<bool, String>,
}

/// Stores a delivery worth processing, records the metrics and answers:
/// the part of every webhook endpoint that follows verification.
pub(super) async fn acknowledge(
    state: &AppState,
    delivery: Received<'_>,
    started: Instant,
) -> Response {
    let span = tracing::info_span!(
        "webhook",
        forge = delivery.forge.as_str(),
        delivery = %delivery.delivery_id,
        event = %delivery.event,
    );
    let result = match json_syntax(delivery.body) {
        Ok(()) => accept(state, &delivery).instrument(span.clone()).await,
        Err(err) => Err(err),
    };
    let _entered = span.enter();
    let outcome = match &result {
        Ok(outcome) => *outcome,
        Err(HttpError::NotJson(err)) => {
            tracing::warn!(error = %err, "webhook refused: the signed body is not JSON");
            DeliveryOutcome::Rejected
        }
        Err(_) => DeliveryOutcome::Failed,
    };
    state
        .metrics
        .record_delivery(delivery.forge, delivery.event, outcome, started.elapsed());
    match result {
        Ok(DeliveryOutcome::Accepted) => (
            StatusCode::ACCEPTED,
            Json(status("queued", "stored for evaluation")),
        )
            .into_response(),
        Ok(DeliveryOutcome::Duplicate) => Json(status(
            "duplicate",
            "this delivery was already received; it is not evaluated again",
        ))
        .into_response(),
        Ok(_) => Json(status("ignored", "nothing for Warrant to do")).into_response(),
        Err(err) => err.into_response(),
    }
}

/// Refuses a body that is not JSON, whatever its event: both forges send
/// JSON only, so such a delivery could never be evaluated, and queueing it
/// would only fail later where its sender cannot see why.
fn json_syntax(body: &[u8]) -> Result<(), HttpError> {
    serde_json::from_slice::<serde::de::IgnoredAny>(body)
        .map(drop)
        .map_err(|err| HttpError::NotJson(err.to_string()))
}

pub(super) fn status(status: &str, message: &str) -> serde_json::Value {
    serde_json::json!({ "status": status, "message": message })
}

/// Decides whether to store the delivery, and stores it.
async fn accept(state: &AppState, delivery: &Received<'_>) -> Result<DeliveryOutcome, HttpError> {
    match &delivery.worth_storing {
        Ok(true) => {}
        Ok(false) => {
            tracing::debug!("webhook ignored");
            return Ok(DeliveryOutcome::Ignored);
        }
        Err(err) => {
            tracing::warn!(error = %err, "storing an unreadable payload for the worker to fail")
        }
    }
    let new = NewDelivery {
        forge: delivery.forge.as_str(),
        delivery_id: delivery.delivery_id,
        event: delivery.event,
        payload: delivery.body,
        received_at: Utc::now(),
    };
    match state.store.enqueue(&new).await? {
        Enqueued::Accepted(id) => {
            tracing::info!(queue_id = %id, "webhook queued");
            state.work.notify_one();
            Ok(DeliveryOutcome::Accepted)
        }
        Enqueued::Duplicate => {
            tracing::info!(
                "webhook already stored (a redelivery, or a replayed body); not queued again"
            );
            Ok(DeliveryOutcome::Duplicate)
        }
    }
}
