//! GitHub's door: `X-Hub-Signature-256`, an HMAC-SHA256 of the body under
//! one of the webhook secrets; the event in `X-GitHub-Event`, the delivery
//! in `X-GitHub-Delivery` (the same on a redelivery).

use axum::http::HeaderMap;

use super::{Admitted, Door, header_value};
use crate::engine::Forge;
use crate::forge::Worth;
use crate::forge::github::webhook as events;
use crate::server::{AppState, HttpError, signature};

/// GitHub's webhook door.
#[derive(Debug)]
pub struct Github;

impl Door for Github {
    const FORGE: Forge = Forge::Github;
    const NO_EVENT: &'static str = "missing or malformed X-GitHub-Event header";
    const NO_DELIVERY: &'static str = "missing or malformed X-GitHub-Delivery header";

    /// A well-formed signature (`sha256=` and 64 hex digits), and a server
    /// with a secret to check it against.
    fn admit(headers: &HeaderMap, state: &AppState) -> Result<Admitted, HttpError> {
        let signature = headers
            .get("x-hub-signature-256")
            .map(|value| value.as_bytes())
            .filter(|value| signature::well_formed(value))
            .ok_or(HttpError::Unauthorized)?;
        if !state.app_configured() {
            return Err(HttpError::Unauthorized);
        }
        Ok(Admitted {
            signature: Some(signature.to_vec()),
        })
    }

    /// The replay key is the verified signature: a replay carries it too,
    /// and under one secret no other body has it.
    fn verify(
        admitted: &Admitted,
        body: &[u8],
        state: &AppState,
    ) -> Result<Option<String>, HttpError> {
        let secrets = state
            .github_secrets
            .read()
            .unwrap_or_else(|e| e.into_inner());
        let signature = admitted.signature.as_deref().unwrap_or_default();
        signature::verify(&secrets, signature, body)
            .then(|| Some(signature::replay_key(signature)))
            .ok_or(HttpError::Unauthorized)
    }

    fn event(headers: &HeaderMap) -> Option<String> {
        header_value(headers, "x-github-event", false)
    }

    fn delivery_id(headers: &HeaderMap) -> Option<String> {
        header_value(headers, "x-github-delivery", false)
    }

    fn worth_storing(event: &str, body: &[u8]) -> Worth {
        Worth::judge(event, body, events::worth_storing(event, body))
    }
}

/// A GitHub delivery whose signature was verified over its raw body.
pub type SignedGithubDelivery = super::Signed<Github>;
