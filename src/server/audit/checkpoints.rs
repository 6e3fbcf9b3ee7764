//! `GET /audit/checkpoints`: every signed checkpoint of the audit trail,
//! oldest first, one JSON line each, for auditors to keep copies of (see
//! `docs/audit.md`, "Checkpoints"); and `GET /audit/events/export.jsonl`:
//! the events the latest checkpoint covers, each with its inclusion proof,
//! ending with that checkpoint (see [`crate::audit::export`]).
//!
//! A checkpoint names every chain, so it is served only to a viewer who
//! may read every repository of the trail (public pages, an API token, or
//! a signed-in user who reads them all); to anyone else it is answered as
//! a page that does not exist, like a change of a repository they may not
//! read.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::PageError;
use crate::audit::AuditEvent;
use crate::audit::checkpoint::SignedCheckpoint;
use crate::audit::export::chain_lines;
use crate::server::AppState;
use crate::server::access::Viewer;
use crate::store::Chain;

/// Events read per query while exporting.
const PAGE: u32 = 1_000;

/// `GET /audit/checkpoints`.
pub(super) async fn checkpoints(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    for chain in state.store().audit_chains().await? {
        if !viewer.may_read(&state, &chain.forge, &chain.repo).await? {
            return Err(PageError::NotFound);
        }
    }
    let stored = state.store().checkpoints_after(0).await?;
    if stored.is_empty() {
        return Ok((StatusCode::NOT_FOUND, no_checkpoint(&state)).into_response());
    }
    let body: String = stored.iter().map(|c| format!("{}\n", c.line)).collect();
    Ok(jsonl(body, "checkpoints"))
}

/// `GET /audit/events/export.jsonl`: every chain of the latest checkpoint
/// that the viewer may read, whole up to the size it states.
pub(super) async fn events_jsonl(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let Some(latest) = state.store().latest_checkpoint().await? else {
        return Ok((StatusCode::NOT_FOUND, no_checkpoint(&state)).into_response());
    };
    let signed = SignedCheckpoint::parse(&latest.line)
        .map_err(|e| PageError::Internal(anyhow::anyhow!("checkpoint {}: {e}", latest.seq)))?;
    let mut body = String::new();
    for chain in &signed.checkpoint.chains {
        if !viewer.may_read(&state, &chain.forge, &chain.repo).await? {
            continue;
        }
        let events = chain_events(&state, &chain.forge, &chain.repo, chain.size).await?;
        for line in chain_lines(&events, signed.checkpoint.seq) {
            body.push_str(&line);
            body.push('\n');
        }
    }
    body.push_str(&latest.line);
    body.push('\n');
    Ok(jsonl(body, "events"))
}

/// The first `size` events of a chain, in stored order.
async fn chain_events(
    state: &AppState,
    forge: &str,
    repo: &str,
    size: u64,
) -> anyhow::Result<Vec<AuditEvent>> {
    let chain = Chain {
        forge: forge.to_owned(),
        repo: repo.to_owned(),
    };
    let mut events: Vec<AuditEvent> = Vec::new();
    while (events.len() as u64) < size {
        let after = events.last().map_or(0, |e| e.seq);
        let page = state.store().audit_chain_page(&chain, after, PAGE).await?;
        if page.is_empty() {
            break;
        }
        events.extend(page);
    }
    events.truncate(usize::try_from(size).unwrap_or(usize::MAX));
    Ok(events)
}

fn no_checkpoint(state: &AppState) -> &'static str {
    match state.checkpoint_key() {
        None => {
            "No checkpoints: this instance has no signing key (WARRANT_AUDIT_SIGNING_KEY), \
             so it writes none.\n"
        }
        Some(_) => "No checkpoint has been written yet.\n",
    }
}

/// A JSON Lines download named `warrant-{name}.jsonl`.
fn jsonl(body: String, name: &str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jsonl; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"warrant-{name}.jsonl\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}
