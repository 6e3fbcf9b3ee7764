//! The HTTP core under both forges' API clients: one reqwest client with
//! Warrant's user agent and a timeout, one retry policy, one set of request
//! counters, and one way to turn an answer into a response or a failure.
//! Each client adds what its forge needs (GitHub's app tokens and GraphQL,
//! GitLab's `PRIVATE-TOKEN` and pages) and names failures in its own error
//! type through [`Failed`].

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;

use super::retry::{self, ApiStats, RetryPolicy};

/// The user agent of every request to a forge (GitHub requires one).
const USER_AGENT: &str = concat!("agent-warrant/", env!("CARGO_PKG_VERSION"));

/// A hung connection must not hold a worker: 30 s is well past GitHub's
/// own 10 s limit on a GraphQL query and GitLab's slowest calls (large
/// diffs).
const TIMEOUT: Duration = Duration::from_secs(30);

/// Why a request did not succeed, before a client names it in its own
/// error type.
#[derive(Debug)]
pub(crate) enum Failed {
    /// No answer (connection, timeout), after the last attempt.
    Transport(String),
    /// The final answer was not a success: its status and the forge's
    /// message.
    Status { status: u16, message: String },
    /// A success whose body is not what was expected.
    Decode(String),
}

/// The HTTP client, retries and counters one forge's API client shares.
pub(crate) struct HttpCore {
    pub http: reqwest::Client,
    pub retry: RetryPolicy,
    pub stats: Arc<ApiStats>,
}

impl HttpCore {
    pub fn new() -> Result<HttpCore, reqwest::Error> {
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(TIMEOUT)
            .build()?;
        Ok(HttpCore {
            http,
            retry: RetryPolicy::default(),
            stats: Arc::new(ApiStats::new()),
        })
    }

    /// Sends with retries (see [`retry::send`]); a final answer that is
    /// not a success is [`Failed::Status`] with the forge's message.
    /// `path` names the request in the counters and errors.
    pub async fn send(
        &self,
        method: &Method,
        path: &str,
        req: RequestBuilder,
    ) -> Result<Response, Failed> {
        let req = req.build().map_err(|e| Failed::Transport(e.to_string()))?;
        // reqwest's message names the URL, never the headers (tokens).
        let resp = retry::send(&self.http, &self.retry, &self.stats, method, path, req)
            .await
            .map_err(|e| Failed::Transport(e.to_string()))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let text = resp.text().await.unwrap_or_default();
        let message = error_message(&text);
        Err(Failed::Status {
            status: status.as_u16(),
            message: if status == StatusCode::NOT_FOUND && message.is_empty() {
                "not found".into()
            } else {
                message
            },
        })
    }
}

/// A success's body as JSON.
pub(crate) async fn json<T: DeserializeOwned>(resp: Response) -> Result<T, Failed> {
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| Failed::Decode(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| Failed::Decode(e.to_string()))
}

/// The forges' error bodies: `{"message": "Not Found"}` (GitHub, GitLab),
/// a `message` that is an object of field errors (GitLab: `{"message":
/// {"name": ["is too long"]}}`), or OAuth's `{"error": "invalid_token",
/// "error_description": ...}`. Anything else: the start of the text.
pub(crate) fn error_message(text: &str) -> String {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return text.chars().take(200).collect();
    };
    match (&value["message"], &value["error"]) {
        (serde_json::Value::String(m), _) => m.clone(),
        (serde_json::Value::Null, serde_json::Value::String(e)) => {
            match value["error_description"].as_str() {
                Some(d) => format!("{e}: {d}"),
                None => e.clone(),
            }
        }
        (serde_json::Value::Null, _) => text.chars().take(200).collect(),
        (m, _) => m.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::error_message;

    #[test]
    fn error_messages_are_read_from_each_of_the_forges_shapes() {
        assert_eq!(
            error_message(r#"{"message":"404 Project Not Found"}"#),
            "404 Project Not Found"
        );
        assert_eq!(
            error_message(
                r#"{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}"#
            ),
            "Bad credentials"
        );
        assert_eq!(
            error_message(r#"{"message":{"name":["is too long"]}}"#),
            r#"{"name":["is too long"]}"#
        );
        assert_eq!(
            error_message(r#"{"error":"invalid_token","error_description":"Token was revoked"}"#),
            "invalid_token: Token was revoked"
        );
        assert_eq!(error_message("Bad Gateway"), "Bad Gateway");
    }
}
