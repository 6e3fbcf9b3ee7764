//! What both fake forges (GitHub's and GitLab's) are built on: an HTTP
//! server on a free local port, a record of every request it receives,
//! failed ones included, and faults to inject into the next matching
//! requests to exercise retries. Each fake brings its routes, its state
//! and its forge's answers ([`FakeForge`]). The fake GitHub serves
//! `warrant demo` as well as the tests, so this is in every build.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;

/// A request a fake received.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    /// The path with its query string, as sent (`%2F` left encoded).
    pub path: String,
    pub body: String,
    pub at: DateTime<Utc>,
    /// For a GraphQL request, the operation name.
    pub operation: Option<String>,
}

/// What a fake forge's state adds to the shared server: where it keeps
/// its [`RequestLog`], and how its forge answers a refused request, a
/// fault and a normal one.
pub trait FakeForge: Send + 'static {
    /// The failures the fake can be told to answer with.
    type Fault: Clone + Send;

    /// Where the API's paths start (GitLab's `/api/v4`): a fault's path
    /// prefix matches with or without it.
    const API_ROOT: &'static str = "";

    fn log(&mut self) -> &mut RequestLog<Self::Fault>;

    /// The answer to a request the forge refuses before anything else
    /// (GitLab's to a wrong token), once it is recorded.
    fn refuse(&self, _request: &Parts) -> Option<Response> {
        None
    }

    /// The GraphQL operation a request's body names, to record.
    fn operation(_body: &[u8]) -> Option<String> {
        None
    }

    fn fault_response(fault: Self::Fault) -> Response;

    /// The rate-limit headers the forge adds to every answer that is not
    /// a fault, after `used` requests.
    fn rate_limit_headers(headers: &mut HeaderMap, used: usize, path: &str);
}

/// Every request a fake received, and the faults it was told to inject.
pub struct RequestLog<F> {
    requests: Vec<RecordedRequest>,
    faults: Vec<FaultRule<F>>,
}

impl<F> Default for RequestLog<F> {
    fn default() -> Self {
        RequestLog {
            requests: Vec::new(),
            faults: Vec::new(),
        }
    }
}

/// `fault` for the next `remaining` requests with this method and path
/// prefix.
struct FaultRule<F> {
    method: String,
    path_prefix: String,
    remaining: u32,
    fault: F,
}

impl<F: Clone> RequestLog<F> {
    /// The first rule left for this request, used once.
    fn take_fault(&mut self, method: &str, path: &str, api_root: &str) -> Option<F> {
        let api_path = path.strip_prefix(api_root).unwrap_or(path);
        let rule = self.faults.iter_mut().find(|r| {
            r.remaining > 0
                && r.method == method
                && (api_path.starts_with(&r.path_prefix) || path.starts_with(&r.path_prefix))
        })?;
        rule.remaining -= 1;
        Some(rule.fault.clone())
    }
}

/// A running fake forge with its state; it stops when dropped.
pub struct Fake<S> {
    state: Arc<Mutex<S>>,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl<S: FakeForge> Fake<S> {
    /// Serves `routes` over `state` on `127.0.0.1` at a port the system
    /// picks, recording every request and injecting faults.
    pub(crate) async fn serve(state: S, routes: Router<Arc<Mutex<S>>>) -> std::io::Result<Self> {
        let state = Arc::new(Mutex::new(state));
        let app = routes
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                record_and_fault::<S>,
            ))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Fake { state, addr, task })
    }

    /// `http://127.0.0.1:PORT`, the root to give the client: GitHub's
    /// REST root (GraphQL is at `/graphql`), GitLab's web root (the API
    /// is at `/api/v4`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The state, to set up or inspect.
    pub fn state(&self) -> MutexGuard<'_, S> {
        lock(&self.state)
    }

    /// The next `times` requests with this method and path prefix fail
    /// (for GitLab, `/projects/...` or `/api/v4/projects/...`).
    pub fn fail_next(&self, method: &str, path_prefix: &str, times: u32, fault: S::Fault) {
        self.state().log().faults.push(FaultRule {
            method: method.to_owned(),
            path_prefix: path_prefix.to_owned(),
            remaining: times,
            fault,
        });
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().log().requests.clone()
    }

    /// Forgets the recorded requests, to count those of one step.
    pub fn clear_requests(&self) {
        self.state().log().requests.clear();
    }
}

impl<S> Drop for Fake<S> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<S>(state: &Mutex<S>) -> MutexGuard<'_, S> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// The operation name of a GraphQL request body (`query Name(...)`), if
/// it is one: both fakes recognise Warrant's queries by it.
pub(crate) fn graphql_operation(body: &[u8]) -> Option<String> {
    let req: serde_json::Value = serde_json::from_slice(body).ok()?;
    let query = req.get("query")?.as_str()?;
    let rest = query.trim_start().strip_prefix("query")?.trim_start();
    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
    Some(rest[..end].to_owned())
}

/// Records every request, then answers a refused one, or one an injected
/// fault matches, as the forge would; any other goes on to the routes and
/// comes back with the forge's rate-limit headers.
async fn record_and_fault<S: FakeForge>(
    State(state): State<Arc<Mutex<S>>>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 64 << 20)
        .await
        .unwrap_or_else(|_| Bytes::new());
    let method = parts.method.to_string();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let (refusal, fault) = {
        let mut s = lock(&state);
        s.log().requests.push(RecordedRequest {
            method: method.clone(),
            path: path.clone(),
            body: String::from_utf8_lossy(&bytes).into_owned(),
            at: Utc::now(),
            operation: S::operation(&bytes),
        });
        let refusal = s.refuse(&parts);
        (refusal, s.log().take_fault(&method, &path, S::API_ROOT))
    };
    if let Some(refusal) = refusal {
        return refusal;
    }
    if let Some(fault) = fault {
        return S::fault_response(fault);
    }
    let mut resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let used = lock(&state).log().requests.len();
    S::rate_limit_headers(resp.headers_mut(), used, &path);
    resp
}

/// Sets each header whose value is valid.
pub(crate) fn set_headers(
    headers: &mut HeaderMap,
    values: impl IntoIterator<Item = (&'static str, String)>,
) {
    for (name, value) in values {
        if let Ok(value) = value.parse() {
            headers.insert(name, value);
        }
    }
}

/// 32 hex digits written as a GUID: `8-4-4-4-12`.
pub(crate) fn guid(hex: &str) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
