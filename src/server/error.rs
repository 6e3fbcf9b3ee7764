//! The errors a handler answers with. Each maps to a status and a fixed,
//! public message; the cause of an internal error is logged (inside the
//! request's span) and never sent, since it may name tables, hosts or
//! paths.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// A missing or wrong signature. Deliberately says no more: which check
    /// failed is of use only to someone forging requests.
    #[error("the request is not signed with a configured webhook secret")]
    Unauthorized,
    /// A malformed request from an authenticated sender; the message is
    /// written for it and holds no internal detail.
    #[error("{0}")]
    BadRequest(&'static str),
    /// A signed body that is not JSON: no retry can make it evaluable.
    /// The parser's position (line and column) helps the sender, and
    /// names nothing of Warrant's.
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("the request body is larger than the limit of 25 MB")]
    PayloadTooLarge,
    /// Too many webhook bodies are being read at once (see
    /// [`super::body`]): answered at once with `Retry-After`, not queued.
    #[error("too many deliveries are being received at once; retry later")]
    Busy,
    /// The body did not arrive whole in time (see [`super::body`]).
    #[error("the request body did not arrive in time")]
    Timeout,
    /// A dependency (the database) does not answer; try again later.
    #[error("the service is unavailable")]
    Unavailable,
    /// Anything else. The cause goes to the log only.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl HttpError {
    pub fn status(&self) -> StatusCode {
        match self {
            HttpError::Unauthorized => StatusCode::UNAUTHORIZED,
            HttpError::BadRequest(_) | HttpError::NotJson(_) => StatusCode::BAD_REQUEST,
            HttpError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            HttpError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            HttpError::Timeout => StatusCode::REQUEST_TIMEOUT,
            HttpError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            HttpError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        if let HttpError::Internal(err) = &self {
            tracing::error!(error = format!("{err:#}"), "request failed");
        }
        let body = serde_json::json!({ "error": self.to_string() });
        let mut response = (self.status(), Json(body)).into_response();
        if let HttpError::Busy = self {
            let wait = HeaderValue::from(super::body::RETRY_AFTER_SECONDS);
            response.headers_mut().insert(header::RETRY_AFTER, wait);
        }
        response
    }
}
