//! How much of a webhook body the doors hold in memory, and for how long.
//!
//! A door must read the whole body before it can verify it (GitHub's HMAC
//! covers every byte), so anyone who can reach the server could make it
//! hold [`MAX_WEBHOOK_BODY`] per request, as many times as it has
//! connections. Three bounds close that:
//!
//! - each door refuses what is plainly unauthenticated (a malformed
//!   signature header, a wrong GitLab token) before reading any body;
//! - every body is paid for, before it is read, out of one server-wide
//!   budget of bytes ([`BodyLimits`]): the announced `Content-Length`, or
//!   the most a body may be when none is announced (chunked). When the
//!   budget is spent the request is answered 503 with `Retry-After` at
//!   once, instead of waiting in an unbounded queue; the bytes go back to
//!   the budget when the delivery has been answered;
//! - a body must arrive whole within a time limit, or the request is
//!   answered 408, so a sender trickling bytes cannot hold its share of the
//!   budget for ever.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::HttpError;

/// GitHub caps webhook payloads at 25 MB and drops larger ones, and GitLab
/// caps its own at the same size, so nothing genuine is bigger.
pub const MAX_WEBHOOK_BODY: usize = 25 * 1024 * 1024;

/// Bytes of webhook bodies held at once, server-wide, by default: two of
/// the largest bodies a forge sends and room to spare. Real deliveries are
/// mostly a few tens of kilobytes, so this budget is spent only by a burst
/// of very large ones, or by an attack.
pub const DEFAULT_BODY_BUDGET: usize = 64 * 1024 * 1024;

/// How long a whole body may take to arrive by default. A forge sends a
/// delivery in one go and gives up on an answer after 10 seconds (GitHub)
/// or so; twice that is generous for a slow link and short for a sender
/// holding the budget on purpose.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(20);

/// What a client is told to wait before sending again when the budget is
/// spent: long enough for the bodies in flight to be read or timed out.
pub(crate) const RETRY_AFTER_SECONDS: u64 = 30;

/// The budget of body bytes shared by both webhook doors, and the time a
/// body may take to arrive. Clones share the budget.
#[derive(Clone, Debug)]
pub struct BodyLimits {
    budget: Arc<Semaphore>,
    /// The budget's size in bytes, the most a single body can be paid for.
    total: usize,
    read_timeout: Duration,
}

impl Default for BodyLimits {
    fn default() -> BodyLimits {
        BodyLimits::new(DEFAULT_BODY_BUDGET, DEFAULT_BODY_READ_TIMEOUT)
    }
}

impl BodyLimits {
    /// A budget of `budget` bytes held at once, and `read_timeout` for each
    /// body. A budget under [`MAX_WEBHOOK_BODY`] also caps each body at the
    /// budget.
    pub fn new(budget: usize, read_timeout: Duration) -> BodyLimits {
        // A semaphore counts at most `Semaphore::MAX_PERMITS`.
        let total = budget.min(Semaphore::MAX_PERMITS);
        BodyLimits {
            budget: Arc::new(Semaphore::new(total)),
            total,
            read_timeout,
        }
    }

    /// The largest body a single request may send.
    fn largest(&self) -> usize {
        MAX_WEBHOOK_BODY.min(self.total)
    }
}

/// A body read whole, with its share of the budget: the share goes back
/// when this is dropped, that is once the delivery has been answered.
#[derive(Debug)]
pub(crate) struct BufferedBody {
    pub(crate) bytes: Bytes,
    _share: OwnedSemaphorePermit,
}

/// The body, if there is budget for it now, it is within the size limit and
/// it arrives in time.
pub(super) async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limits: &BodyLimits,
) -> Result<BufferedBody, HttpError> {
    let size = size_to_reserve(headers, limits)?;
    let share = u32::try_from(size)
        .ok()
        .and_then(|n| limits.budget.clone().try_acquire_many_owned(n).ok())
        .ok_or(HttpError::Busy)?;
    let read = axum::body::to_bytes(body, size);
    let bytes = match tokio::time::timeout(limits.read_timeout, read).await {
        Err(_elapsed) => return Err(HttpError::Timeout),
        Ok(read) => read.map_err(|err| {
            let too_large = std::error::Error::source(&err)
                .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
            if too_large {
                HttpError::PayloadTooLarge
            } else {
                HttpError::BadRequest("the request body could not be read")
            }
        })?,
    };
    Ok(BufferedBody {
        bytes,
        _share: share,
    })
}

/// The bytes to take from the budget: the announced length, refused at
/// once when over the limit, or the largest allowed when none is announced
/// (a chunked body is read against that and refused if it grows past it).
fn size_to_reserve(headers: &HeaderMap, limits: &BodyLimits) -> Result<usize, HttpError> {
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match announced {
        None => Ok(limits.largest()),
        Some(len) if len > limits.largest() as u64 => Err(HttpError::PayloadTooLarge),
        // Within `largest`, itself a `usize`.
        Some(len) => Ok(len as usize),
    }
}
