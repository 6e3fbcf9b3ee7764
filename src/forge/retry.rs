//! Retrying forge requests, GitHub's and GitLab's alike: which failures are
//! worth another attempt and how long to wait before it. Every request both
//! clients make goes through [`RetryPolicy`] and [`send`], so a flaky forge
//! or a rate limit delays an evaluation instead of failing it, while a real
//! refusal (404, 422) fails at once.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use std::time::Instant;

use reqwest::header::HeaderMap;
use reqwest::{Client, Method, Request, Response, StatusCode};

/// How the client waits; injectable so that tests never sleep for real.
pub type Sleeper = Arc<dyn Fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// The real clock.
pub fn tokio_sleeper() -> Sleeper {
    Arc::new(|d| Box::pin(tokio::time::sleep(d)))
}

/// When and how long to retry.
#[derive(Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The first backoff; doubled on each further attempt.
    pub base_delay: Duration,
    /// The cap of the exponential backoff.
    pub max_delay: Duration,
    /// The longest wait a server may ask for (`Retry-After`, rate-limit
    /// reset). Longer requests fail instead: a worker should not hold an
    /// evaluation for an hour; the delivery stays queued and is retried.
    pub max_wait: Duration,
    pub sleep: Sleeper,
}

impl Default for RetryPolicy {
    /// Five attempts over about 8 s of backoff: enough to ride out a forge's
    /// brief 502s, short enough to keep a worker responsive.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_wait: Duration::from_secs(60),
            sleep: tokio_sleeper(),
        }
    }
}

impl std::fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_attempts", &self.max_attempts)
            .field("base_delay", &self.base_delay)
            .field("max_delay", &self.max_delay)
            .field("max_wait", &self.max_wait)
            .finish_non_exhaustive()
    }
}

/// What to do after a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Success, or a failure that another attempt would not fix.
    Done,
    /// A transient failure: back off exponentially.
    Backoff,
    /// The server said how long to wait.
    Wait(Duration),
}

impl RetryPolicy {
    /// Classifies a response. `now_epoch` is the current Unix time, to turn
    /// a rate-limit reset into a wait.
    ///
    /// A rate limit is GitHub's 403 with `retry-after` or
    /// `x-ratelimit-remaining: 0`, or a 429 from either forge, or any other
    /// refusal carrying GitLab's `RateLimit-Remaining: 0`. A success is
    /// never retried, whatever budget it reports left.
    pub fn verdict(&self, status: StatusCode, headers: &HeaderMap, now_epoch: u64) -> Verdict {
        let github_limit = status == StatusCode::FORBIDDEN
            && (header_u64(headers, "retry-after").is_some()
                || header_u64(headers, "x-ratelimit-remaining") == Some(0));
        let gitlab_limit =
            status.is_client_error() && header_u64(headers, "ratelimit-remaining") == Some(0);
        if status == StatusCode::TOO_MANY_REQUESTS || github_limit || gitlab_limit {
            return match server_wait(headers, now_epoch) {
                Some(wait) => Verdict::Wait(wait),
                None => Verdict::Backoff,
            };
        }
        if status.is_server_error() {
            Verdict::Backoff
        } else {
            Verdict::Done
        }
    }

    /// The exponential backoff before attempt `attempt + 1` (0-based), with
    /// jitter so that workers hit by the same outage do not retry in step.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt))
            .min(self.max_delay);
        let half = exp / 2;
        half + exp.mul_f64(rand::random::<f64>() * 0.5)
    }
}

/// `Retry-After` seconds first (GitHub's secondary rate limits, GitLab's
/// 429s), else the reset epoch of the exhausted limit: GitHub's
/// `x-ratelimit-reset` or GitLab's `RateLimit-Reset`. A second is added to
/// a reset because both forges round it down.
fn server_wait(headers: &HeaderMap, now_epoch: u64) -> Option<Duration> {
    if let Some(secs) = header_u64(headers, "retry-after") {
        return Some(Duration::from_secs(secs));
    }
    ["x-ratelimit", "ratelimit"].iter().find_map(|prefix| {
        if header_u64(headers, &format!("{prefix}-remaining")) != Some(0) {
            return None;
        }
        let reset = header_u64(headers, &format!("{prefix}-reset"))?;
        Some(Duration::from_secs(reset.saturating_sub(now_epoch) + 1))
    })
}

pub(crate) fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// Counters for the server's metrics and the tests: requests sent (each
/// attempt counts), retries, and the rate-limit budget the forge last
/// reported (GitHub's `x-ratelimit-remaining`, GitLab's
/// `RateLimit-Remaining`). Each client has its own.
#[derive(Default)]
pub struct ApiStats {
    requests: AtomicU64,
    retries: AtomicU64,
    /// `u64::MAX` until a response carried a remaining budget.
    rate_limit_remaining: AtomicU64,
    hook: std::sync::Mutex<Option<RequestHook>>,
    rate_limit_hook: std::sync::Mutex<Option<RateLimitHook>>,
}

/// Called with GitHub's `x-ratelimit-resource` (`core`, `graphql`, ...;
/// `core` when absent, as it always is on GitLab) and the remaining budget,
/// whenever a response carries one.
pub type RateLimitHook = Arc<dyn Fn(&str, u64) + Send + Sync>;

/// Called after each attempt with the method, path, status (0 when the
/// connection failed) and how long the attempt took.
pub type RequestHook = Arc<dyn Fn(&str, &str, u16, Duration) + Send + Sync>;

impl ApiStats {
    pub fn new() -> Self {
        ApiStats {
            rate_limit_remaining: AtomicU64::new(u64::MAX),
            ..Default::default()
        }
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// What the forge last said was left of the rate limit, if it said.
    pub fn rate_limit_remaining(&self) -> Option<u64> {
        match self.rate_limit_remaining.load(Ordering::Relaxed) {
            u64::MAX => None,
            n => Some(n),
        }
    }

    /// Installs the hook the server's metrics use.
    pub fn set_hook(&self, hook: RequestHook) {
        *self.hook.lock().unwrap_or_else(|e| e.into_inner()) = Some(hook);
    }

    /// Installs the hook the server's rate-limit gauge uses.
    pub fn set_rate_limit_hook(&self, hook: RateLimitHook) {
        *self
            .rate_limit_hook
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(hook);
    }

    pub(crate) fn record(
        &self,
        method: &str,
        path: &str,
        status: u16,
        headers: Option<&HeaderMap>,
        elapsed: Duration,
    ) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if let Some((h, n)) = headers.and_then(|h| Some((h, remaining(h)?))) {
            self.rate_limit_remaining.store(n, Ordering::Relaxed);
            let resource = h
                .get("x-ratelimit-resource")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("core");
            let hook = self
                .rate_limit_hook
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            if let Some(hook) = hook {
                hook(resource, n);
            }
        }
        let hook = self.hook.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(hook) = hook {
            hook(method, path, status, elapsed);
        }
    }

    pub(crate) fn record_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }
}

/// The rate-limit budget left: GitHub's header, else GitLab's.
fn remaining(headers: &HeaderMap) -> Option<u64> {
    header_u64(headers, "x-ratelimit-remaining")
        .or_else(|| header_u64(headers, "ratelimit-remaining"))
}

/// Sends `req` under `retry`, recording every attempt in `stats`, until a
/// response is final: a success, a refusal another attempt would not fix,
/// the last attempt, or a server asking for a longer wait than `max_wait`.
/// That response is returned whatever its status; the client turns a
/// failure into its own error. A connection that fails on the last attempt
/// is the error. `path` names the request in stats and logs.
pub(crate) async fn send(
    http: &Client,
    retry: &RetryPolicy,
    stats: &ApiStats,
    method: &Method,
    path: &str,
    req: Request,
) -> Result<Response, reqwest::Error> {
    let mut attempt = 0;
    loop {
        // JSON bodies are buffered, so a request can always be cloned.
        let this = req.try_clone().expect("request bodies are buffered");
        let sent = Instant::now();
        let wait = match http.execute(this).await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let headers = Some(resp.headers());
                stats.record(method.as_str(), path, status, headers, sent.elapsed());
                match wait_before_retry(retry, &resp, attempt) {
                    Some(wait) => wait,
                    None => return Ok(resp),
                }
            }
            Err(e) => {
                stats.record(method.as_str(), path, 0, None, sent.elapsed());
                if attempt + 1 >= retry.max_attempts {
                    return Err(e);
                }
                retry.backoff(attempt)
            }
        };
        stats.record_retry();
        (retry.sleep)(wait).await;
        attempt += 1;
    }
}

/// How long to wait before another attempt, or `None` to settle with this
/// response.
fn wait_before_retry(retry: &RetryPolicy, resp: &Response, attempt: u32) -> Option<Duration> {
    if attempt + 1 >= retry.max_attempts {
        return None;
    }
    match retry.verdict(resp.status(), resp.headers(), now_epoch()) {
        Verdict::Done => None,
        Verdict::Backoff => Some(retry.backoff(attempt)),
        Verdict::Wait(wait) => (wait <= retry.max_wait).then_some(wait),
    }
}

fn now_epoch() -> u64 {
    chrono::Utc::now().timestamp().max(0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn only_server_errors_and_rate_limits_are_retried() {
        let p = RetryPolicy::default();
        let none = HeaderMap::new();
        assert_eq!(
            p.verdict(StatusCode::BAD_GATEWAY, &none, 0),
            Verdict::Backoff
        );
        assert_eq!(p.verdict(StatusCode::NOT_FOUND, &none, 0), Verdict::Done);
        assert_eq!(
            p.verdict(StatusCode::UNPROCESSABLE_ENTITY, &none, 0),
            Verdict::Done
        );
        assert_eq!(p.verdict(StatusCode::FORBIDDEN, &none, 0), Verdict::Done);
        assert_eq!(
            p.verdict(StatusCode::TOO_MANY_REQUESTS, &none, 0),
            Verdict::Backoff
        );
    }

    #[test]
    fn rate_limit_headers_set_the_wait() {
        let p = RetryPolicy::default();
        let after = headers(&[("retry-after", "7")]);
        assert_eq!(
            p.verdict(StatusCode::TOO_MANY_REQUESTS, &after, 0),
            Verdict::Wait(Duration::from_secs(7))
        );
        let reset = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1030"),
        ]);
        assert_eq!(
            p.verdict(StatusCode::FORBIDDEN, &reset, 1000),
            Verdict::Wait(Duration::from_secs(31))
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        assert!(p.backoff(0) <= Duration::from_millis(500));
        assert!(p.backoff(0) >= Duration::from_millis(250));
        assert!(p.backoff(10) <= Duration::from_secs(8));
        assert!(p.backoff(10) >= Duration::from_secs(4));
    }

    #[test]
    fn gitlab_rate_limits_wait_for_retry_after_or_the_reset() {
        let p = RetryPolicy::default();
        let after = headers(&[("retry-after", "3"), ("ratelimit-remaining", "0")]);
        assert_eq!(
            p.verdict(StatusCode::TOO_MANY_REQUESTS, &after, 0),
            Verdict::Wait(Duration::from_secs(3))
        );
        let reset = headers(&[("ratelimit-remaining", "0"), ("ratelimit-reset", "1010")]);
        assert_eq!(
            p.verdict(StatusCode::TOO_MANY_REQUESTS, &reset, 1000),
            Verdict::Wait(Duration::from_secs(11))
        );
        assert_eq!(
            p.verdict(StatusCode::FORBIDDEN, &reset, 1000),
            Verdict::Wait(Duration::from_secs(11))
        );
    }

    #[test]
    fn a_success_that_spends_the_last_request_is_not_retried() {
        let p = RetryPolicy::default();
        let spent = headers(&[("ratelimit-remaining", "0"), ("ratelimit-reset", "1010")]);
        assert_eq!(p.verdict(StatusCode::OK, &spent, 1000), Verdict::Done);
        let github = headers(&[("x-ratelimit-remaining", "0")]);
        assert_eq!(p.verdict(StatusCode::OK, &github, 1000), Verdict::Done);
    }

    #[test]
    fn other_gitlab_refusals_are_final() {
        let p = RetryPolicy::default();
        let budget = headers(&[("ratelimit-remaining", "1999")]);
        assert_eq!(
            p.verdict(StatusCode::BAD_REQUEST, &budget, 0),
            Verdict::Done
        );
        assert_eq!(
            p.verdict(StatusCode::UNAUTHORIZED, &budget, 0),
            Verdict::Done
        );
        assert_eq!(p.verdict(StatusCode::FORBIDDEN, &budget, 0), Verdict::Done);
        assert_eq!(
            p.verdict(StatusCode::SERVICE_UNAVAILABLE, &budget, 0),
            Verdict::Backoff
        );
    }
}
