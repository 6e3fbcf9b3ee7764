//! The HTTP server: routes, extractors and pages. It speaks HTTP only: a
//! webhook is verified, stored in the queue and acknowledged here, and
//! evaluated elsewhere by workers reading the queue.
//!
//! | Route | |
//! |---|---|
//! | `POST /webhooks/github` | GitHub webhooks ([`SignedGithubDelivery`], see [`webhook`]) |
//! | `POST /webhooks/gitlab` | GitLab webhooks (the same door, GitLab's token) |
//! | `POST /webhooks/gitlab/status-check` | GitLab's external status check notifications, acknowledged |
//! | `GET /healthz` | 200 while the process runs |
//! | `GET /readyz` | 200 when the database answers, else 503 |
//! | `GET /metrics` | Prometheus text ([`crate::metrics`]) |
//! | `GET /`, `POST /` | registers the GitHub App for the holder of the setup token, or shows the status ([`register`]) |
//! | `GET /github/manifest/callback` | GitHub's redirect after registering |
//! | `GET /audit`, `/audit/...` | the auditors' pages and exports ([`audit`]) |
//! | `/auth/...` | signing in with GitHub and out ([`auth`]) |

pub mod access;
mod audit;
pub mod auth;
mod body;
mod error;
mod headers;
mod ops;
pub mod register;
mod signature;
mod webhook;

use std::sync::{Arc, RwLock};

use anyhow::Context;
use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::config::WebhookSecrets;
use crate::metrics::Metrics;
use crate::store::Store;

pub use body::{BodyLimits, DEFAULT_BODY_BUDGET, DEFAULT_BODY_READ_TIMEOUT, MAX_WEBHOOK_BODY};
pub use error::HttpError;
pub use signature::sign;
pub use webhook::github::SignedGithubDelivery;

/// What every handler may use. Secrets live here, read once from the
/// config, never from the environment on the hot path; the registration
/// replaces them once, when it creates the app.
#[derive(Clone, Debug)]
pub struct AppState {
    store: Store,
    github_secrets: Arc<RwLock<WebhookSecrets>>,
    /// The accepted `X-Gitlab-Token` values; empty when GitLab is not
    /// configured, and then every GitLab webhook is refused.
    gitlab_secrets: Arc<WebhookSecrets>,
    metrics: Metrics,
    registration: Arc<register::Registration>,
    /// Rung when a delivery is queued, so that a waiting worker starts at
    /// once instead of at its next poll.
    work: Arc<Notify>,
    /// Audit pages readable without signing in (see [`access`]).
    public_pages: bool,
    /// Sign-in, sessions and what signed-in users may read ([`auth`]).
    access: Arc<auth::Access>,
    /// GitLab's web address without a trailing slash (`WARRANT_GITLAB_URL`),
    /// where the audit pages link a merge request whose address was not
    /// recorded.
    gitlab_url: Arc<str>,
    /// The memory both webhook doors may hold in bodies at once, and how
    /// long a body may take to arrive ([`body`]).
    body_limits: BodyLimits,
    /// The key audit checkpoints are signed with; `None`: none are written.
    checkpoint_key: Option<crate::audit::checkpoint::PublicKey>,
}

impl AppState {
    /// With no secrets (no GitHub App configured yet) every webhook is
    /// refused as unsigned.
    pub fn new(store: Store, github_secrets: WebhookSecrets, metrics: Metrics) -> AppState {
        AppState {
            store,
            github_secrets: Arc::new(RwLock::new(github_secrets)),
            gitlab_secrets: Arc::default(),
            metrics,
            registration: Arc::new(register::Registration::new(
                None,
                crate::config::DEFAULT_GITHUB_API_URL.into(),
                crate::forge::github::app_file::DEFAULT_FILE_NAME.into(),
            )),
            work: Arc::new(Notify::new()),
            public_pages: false,
            checkpoint_key: None,
            access: Arc::new(auth::Access::new(auth::SessionKey::new(
                auth::SessionKey::random_hex(),
            ))),
            gitlab_url: Arc::from(crate::config::DEFAULT_GITLAB_URL),
            body_limits: BodyLimits::default(),
        }
    }

    /// How many bytes of webhook bodies may be held at once, and how long
    /// one may take to arrive (by default [`DEFAULT_BODY_BUDGET`] and
    /// [`DEFAULT_BODY_READ_TIMEOUT`]).
    pub fn with_body_limits(mut self, limits: BodyLimits) -> AppState {
        self.body_limits = limits;
        self
    }

    /// GitLab's web address, `https://gitlab.com` unless this says
    /// otherwise (a self-managed instance: `https://HOST`). A trailing slash
    /// is dropped.
    pub fn with_gitlab_url(mut self, url: &str) -> AppState {
        self.gitlab_url = Arc::from(url.trim().trim_end_matches('/'));
        self
    }

    /// GitLab's web address, without a trailing slash.
    pub(crate) fn gitlab_url(&self) -> &str {
        &self.gitlab_url
    }

    /// The GitLab webhook secrets (by default none: GitLab webhooks are
    /// refused).
    pub fn with_gitlab_secrets(mut self, secrets: WebhookSecrets) -> AppState {
        self.gitlab_secrets = Arc::new(secrets);
        self
    }

    /// Makes the audit pages readable by anyone: for `warrant demo`, or an
    /// operator who says so explicitly.
    pub fn with_public_pages(mut self, public: bool) -> AppState {
        self.public_pages = public;
        self
    }

    /// The key audit checkpoints are signed with, when they are.
    pub fn with_checkpoint_key(
        mut self,
        key: Option<crate::audit::checkpoint::PublicKey>,
    ) -> AppState {
        self.checkpoint_key = key;
        self
    }

    pub fn checkpoint_key(&self) -> Option<crate::audit::checkpoint::PublicKey> {
        self.checkpoint_key
    }

    /// How people sign in and sessions are signed (by default: no sign-in,
    /// and a key of this process alone).
    pub fn with_access(mut self, access: auth::Access) -> AppState {
        self.access = Arc::new(access);
        self
    }

    /// Where and how `/` registers the app (by default: no public URL, so
    /// the page asks for one).
    pub fn with_registration(mut self, registration: register::Registration) -> AppState {
        self.registration = Arc::new(registration);
        self
    }

    /// Whether webhooks can be verified, that is whether an app is set up.
    fn app_configured(&self) -> bool {
        !self
            .github_secrets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// The store, shared with the workers.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The metrics, shared with the workers.
    pub fn metrics(&self) -> Metrics {
        self.metrics.clone()
    }

    /// The signal rung for each queued delivery, for the workers to wait on.
    pub fn work_signal(&self) -> Arc<Notify> {
        self.work.clone()
    }
}

/// A rendered page, never stored by any cache: a registration page holds a
/// single-use state, and what an audit or sign-in page shows depends on
/// who reads it.
fn page(
    status: axum::http::StatusCode,
    template: &impl askama::Template,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match template.render() {
        Ok(html) => (
            status,
            [(axum::http::header::CACHE_CONTROL, "private, no-store")],
            axum::response::Html(html),
        )
            .into_response(),
        Err(err) => {
            tracing::error!(error = %err, "cannot render a page");
            axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Every route, ready to serve, each response with the security headers
/// of [`headers`].
pub fn router(state: AppState) -> Router {
    let security = headers::SecurityHeaders::new(&state.registration.github_web_url());
    Router::new()
        .route(
            "/webhooks/github",
            post(webhook::receive::<webhook::github::Github>),
        )
        .route(
            "/webhooks/gitlab",
            post(webhook::receive::<webhook::gitlab::Gitlab>),
        )
        .route(
            "/webhooks/gitlab/status-check",
            post(webhook::gitlab::status_check),
        )
        .merge(register::routes())
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .merge(audit::routes())
        .merge(auth::routes())
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(
            security,
            headers::apply,
        ))
}

/// Serves [`router`] on `listener` until `shutdown` resolves, then lets
/// requests in flight finish (so a delivery being stored is answered).
///
/// Workers are not started here: the caller runs them beside this future
/// and stops them on the same signal.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .context("the HTTP server stopped")
}

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM (what `docker stop`
/// and Kubernetes send).
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}
