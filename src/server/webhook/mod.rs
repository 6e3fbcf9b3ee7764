//! The webhook doors, `POST /webhooks/github` and `POST /webhooks/gitlab`:
//! verify, store, acknowledge, the same way for both forges.
//!
//! What differs by forge is a [`Door`] ([`github`], [`gitlab`]): how a
//! sender proves itself (an HMAC of the body, a shared token) and which
//! headers name the event and the delivery. [`Signed`] extracts a verified
//! delivery for any door, so the handler ([`receive`]) only decides
//! whether to store. Answers:
//!
//! | Status | When | Stored |
//! |---|---|---|
//! | 202 `queued` | a verified delivery of an event Warrant acts on | yes, once |
//! | 200 `duplicate` | the same delivery id (or the same signed body) was stored before | already |
//! | 200 `ignored` | a verified `ping`, or an event or action Warrant does not act on | no |
//! | 401 | a missing, malformed or wrong signature or token | no |
//! | 400 | a missing event or delivery header, or a signed body that is not JSON | no |
//! | 413 | a body over [`MAX_WEBHOOK_BODY`](super::MAX_WEBHOOK_BODY) | no |
//! | 503 + `Retry-After` | too many bodies being read at once ([`super::body`]) | no |
//! | 408 | the body did not arrive in time ([`super::body`]) | no |
//! | 500 | the delivery could not be stored, or the commit it shared failed (the forge may send it again) | no |
//!
//! A sender that cannot be genuine (no or a malformed signature, a wrong
//! token, a server with no secret to check against) is refused before any
//! of the body is read: only a request that could be genuine costs memory,
//! and that memory is bounded ([`super::body`]).
//!
//! A signed GitHub body already stored under another `X-GitHub-Delivery`
//! is answered `duplicate` too: it can only be a captured delivery sent
//! again, since GitHub's payloads differ from one event to the next (see
//! [`crate::store::Store::enqueue`]).
//!
//! A `2xx` follows the commit that made the delivery durable: the queue's
//! writer commits the deliveries that arrive together in one transaction
//! ([`crate::store::Store::enqueue`]), so they share one sync to disk.
//!
//! The body is read once, only as far as deciding whether it is worth
//! storing takes ([`Door::worth_storing`]); that reading is also the check
//! that it is JSON. The worker reads the stored body in full.
//!
//! Ignored deliveries are not stored, so nothing is evaluated for them and
//! the queue holds only work. A known event whose payload cannot be read is
//! stored anyway: it is genuine (signed), and the worker records why it
//! failed, where an operator can see it and have it evaluated again.
//!
//! Every delivery, refused or not, is measured from the moment the request
//! arrives to its answer, body read and verification included, in the
//! same histogram for both forges.

pub(super) mod github;
pub(super) mod gitlab;

use std::marker::PhantomData;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use tracing::Instrument;

use super::body::{BufferedBody, read_body};
use super::{AppState, HttpError};
use crate::engine::Forge;
use crate::forge::Worth;
use crate::metrics::DeliveryOutcome;
use crate::store::{Enqueued, NewDelivery};

/// Longest accepted delivery id and event name (GitHub's GUID is 36
/// characters, the longest event name under 40): generous, but bounded
/// before they reach the database and the logs.
const MAX_HEADER_LEN: usize = 128;

/// What differs between the forges' webhook doors.
pub(super) trait Door: Send + 'static {
    const FORGE: Forge;
    /// Why a delivery without its event header is refused.
    const NO_EVENT: &'static str;
    /// Why a delivery without its delivery id is refused.
    const NO_DELIVERY: &'static str;

    /// What a sender shows before its body is read, if it could be
    /// genuine; otherwise the refusal (`401`).
    fn admit(headers: &HeaderMap, state: &AppState) -> Result<Admitted, HttpError>;

    /// Whether the body read after admission is the sender's (`401` if
    /// not), and if so its replay key: what a copy of this body sent again
    /// carries too and another body's does not, for a door whose bodies are
    /// signed (`None` for one whose are not).
    fn verify(
        admitted: &Admitted,
        body: &[u8],
        state: &AppState,
    ) -> Result<Option<String>, HttpError>;

    /// The event's name, from its header.
    fn event(headers: &HeaderMap) -> Option<String>;

    /// The delivery's id, the same when the forge sends it again.
    fn delivery_id(headers: &HeaderMap) -> Option<String>;

    /// Whether a delivery is worth storing, from one reading of its body.
    fn worth_storing(event: &str, body: &[u8]) -> Worth;
}

/// What a door admitted before reading the body: the signature to check
/// over it, if the door signs bodies.
pub(super) struct Admitted {
    pub signature: Option<Vec<u8>>,
}

/// A webhook delivery whose sender was verified.
#[derive(Debug)]
pub struct Signed<D> {
    /// The event's name (`X-GitHub-Event`, `X-Gitlab-Event`).
    pub event: String,
    /// The delivery's id, the same when the forge sends it again.
    pub delivery_id: String,
    /// The body exactly as received.
    pub body: Bytes,
    /// What recognises this body if it is sent again (see [`Door::verify`]).
    pub replay_key: Option<String>,
    /// When the request arrived, for the latency metric.
    received: Instant,
    /// The body's share of the memory budget, given back when the delivery
    /// is dropped, after it has been answered.
    _budget: BufferedBody,
    _door: PhantomData<D>,
}

impl<D: Door> FromRequest<AppState> for Signed<D> {
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, HttpError> {
        let received = Instant::now();
        let headers = req.headers().clone();
        let event = D::event(&headers);
        let delivery_id = D::delivery_id(&headers);
        // The sender first: an unauthenticated one learns nothing else.
        let delivery: Result<Self, HttpError> = async {
            let admitted = D::admit(&headers, state)?;
            let body = read_body(req.into_body(), &headers, &state.body_limits).await?;
            let replay_key = D::verify(&admitted, &body.bytes, state)?;
            Ok(Signed {
                event: event.clone().ok_or(HttpError::BadRequest(D::NO_EVENT))?,
                delivery_id: delivery_id
                    .clone()
                    .ok_or(HttpError::BadRequest(D::NO_DELIVERY))?,
                body: body.bytes.clone(),
                replay_key,
                received,
                _budget: body,
                _door: PhantomData,
            })
        }
        .await;
        if let Err(err) = &delivery {
            let event = event.as_deref().unwrap_or_default();
            tracing::warn!(
                forge = D::FORGE.as_str(),
                event,
                delivery = delivery_id.as_deref().unwrap_or_default(),
                status = err.status().as_u16(),
                "webhook refused: {err}"
            );
            state.metrics.record_delivery(
                D::FORGE,
                event,
                DeliveryOutcome::Rejected,
                received.elapsed(),
            );
        }
        delivery
    }
}

/// The handler of every door: stores a delivery worth processing and
/// acknowledges it.
pub(super) async fn receive<D: Door>(
    State(state): State<AppState>,
    delivery: Signed<D>,
) -> Response {
    let received = Received {
        forge: D::FORGE,
        delivery_id: &delivery.delivery_id,
        event: &delivery.event,
        body: &delivery.body,
        replay_key: delivery.replay_key.as_deref(),
        worth_storing: D::worth_storing(&delivery.event, &delivery.body),
    };
    acknowledge(&state, received, delivery.received).await
}

/// A header's value if it is short, printable ASCII (with inner spaces
/// when `spaces`) and not blank.
fn header_value(headers: &HeaderMap, name: &str, spaces: bool) -> Option<String> {
    let value = headers.get(name)?.to_str().ok()?.trim();
    let ok = !value.is_empty()
        && value.len() <= MAX_HEADER_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_graphic() || (spaces && b == b' '));
    ok.then(|| value.to_owned())
}

/// A verified delivery of either forge, and whether it is worth storing.
struct Received<'a> {
    pub forge: Forge,
    pub delivery_id: &'a str,
    pub event: &'a str,
    pub body: &'a [u8],
    pub replay_key: Option<&'a str>,
    pub worth_storing: Worth,
}

/// Stores a delivery worth processing, records the metrics and answers:
/// the part of every webhook endpoint that follows verification.
async fn acknowledge(state: &AppState, delivery: Received<'_>, started: Instant) -> Response {
    let span = tracing::info_span!(
        "webhook",
        forge = delivery.forge.as_str(),
        delivery = %delivery.delivery_id,
        event = %delivery.event,
    );
    let result = accept(state, &delivery).instrument(span.clone()).await;
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

fn status(status: &str, message: &str) -> serde_json::Value {
    serde_json::json!({ "status": status, "message": message })
}

/// Decides whether to store the delivery, and stores it.
async fn accept(state: &AppState, delivery: &Received<'_>) -> Result<DeliveryOutcome, HttpError> {
    match &delivery.worth_storing {
        Worth::Store => {}
        Worth::NotJson(err) => return Err(HttpError::NotJson(err.to_string())),
        Worth::Ignore => {
            tracing::debug!("webhook ignored");
            return Ok(DeliveryOutcome::Ignored);
        }
        Worth::Unreadable(err) => {
            tracing::warn!(error = %err, "storing an unreadable payload for the worker to fail")
        }
    }
    let new = NewDelivery {
        forge: delivery.forge.as_str(),
        delivery_id: delivery.delivery_id,
        event: delivery.event,
        payload: delivery.body,
        replay_key: delivery.replay_key,
        received_at: Utc::now(),
    };
    let committed = state.store.enqueue_in_batch(&new).await?;
    state.metrics.record_commit_batch(committed.batch);
    match committed.enqueued {
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
